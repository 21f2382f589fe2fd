"""Tokens the SDK obtained, and where they are kept between requests.

A :class:`TokenStore` lets several clients, or several processes of a worker pool, share
one bearer token and one M2M session instead of each fetching its own. The default,
:class:`MemoryTokenStore`, keeps them in memory. A :class:`SharedTokenStore` also lets
processes renew as one: a lock per key and compare-and-swap saves (the ``redis`` extra's
``RedisTokenStore`` is one).
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import SecretStr

from .._exports import publish

__all__ = [
    "MemoryTokenStore",
    "Refusal",
    "SharedTokenStore",
    "Token",
    "TokenCallback",
    "TokenKind",
    "TokenStore",
]

TokenKind = Literal["access_token", "session_token"]
"""``"access_token"``: an OAuth bearer token. ``"session_token"``: an M2M session token
(sent as ``VZ-M2M-Token``)."""


@dataclass(frozen=True)
class Token:
    """A credential and when it stops being valid.

    The value is a ``SecretStr``: ``repr`` and ``str`` show ``**********``; call
    ``token.value.get_secret_value()`` to read it.
    """

    kind: TokenKind
    value: SecretStr
    expires_at: float | None = None
    """Seconds since the epoch (``time.time()``) at which the token lapses; for a session
    token, when it lapses if left unused. ``None`` when unknown."""
    scope: str | None = None
    """The scopes the token was granted (bearer tokens), space-separated."""

    def __post_init__(self) -> None:
        if not isinstance(self.value, SecretStr):
            # A plain string would show in repr; wrap it (the dataclass is frozen).
            object.__setattr__(self, "value", SecretStr(str(self.value)))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, for stores that persist tokens. It holds the secret in
        plain text: keep it where you would keep the client secret."""
        return {
            "kind": self.kind,
            "value": self.value.get_secret_value(),
            "expires_at": self.expires_at,
            "scope": self.scope,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Token:
        """Rebuild a token saved with :meth:`to_dict`."""
        kind = data["kind"]
        if kind not in ("access_token", "session_token"):
            raise ValueError(f"unknown token kind {kind!r}")
        expires_at = data.get("expires_at")
        return cls(
            kind=kind,
            value=SecretStr(str(data["value"])),
            expires_at=None if expires_at is None else float(expires_at),
            scope=data.get("scope"),
        )


@dataclass(frozen=True)
class Refusal:
    """ThingSpace refused a login (``kind="session_token"``) or a client secret
    (``kind="access_token"``): the record a :class:`TokenStore` keeps so that no client
    sharing it tries the same credentials again before :attr:`expires_at`.

    It holds no secret: it is stored under a key derived from a digest of the
    credentials, and holds only what ThingSpace answered.
    """

    kind: TokenKind
    """Which credential was refused: ``"session_token"`` for the M2M login (user and
    password), ``"access_token"`` for the OAuth token request (client id and secret)."""
    refused_at: float
    """When, in seconds since the epoch."""
    expires_at: float
    """Until when the credentials are not tried again, in seconds since the epoch."""
    status_code: int
    """ThingSpace's answer: its HTTP status, ..."""
    error_code: str | None = None
    """... its error code, ..."""
    error_message: str | None = None
    """... its error message, ..."""
    request_id: str | None = None
    """... and its id for the request, when it sent one."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, for stores that persist refusals (it holds no secret)."""
        return {
            "kind": self.kind,
            "refused_at": self.refused_at,
            "expires_at": self.expires_at,
            "status_code": self.status_code,
            "error_code": self.error_code,
            "error_message": self.error_message,
            "request_id": self.request_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Refusal:
        """Rebuild a refusal saved with :meth:`to_dict`; ``ValueError``, ``KeyError``
        or ``TypeError`` when ``data`` is not one."""
        kind = data["kind"]
        if kind not in ("access_token", "session_token"):
            raise ValueError(f"unknown token kind {kind!r}")
        status = data["status_code"]
        if isinstance(status, bool) or not isinstance(status, int):
            raise TypeError("'status_code' must be an int")
        return cls(
            kind=kind,
            refused_at=float(data["refused_at"]),
            expires_at=float(data["expires_at"]),
            status_code=status,
            error_code=_optional_text(data.get("error_code")),
            error_message=_optional_text(data.get("error_message")),
            request_id=_optional_text(data.get("request_id")),
        )


def _optional_text(value: object) -> str | None:
    return None if value is None else str(value)


TokenCallback = Callable[[Token], "Awaitable[None] | None"]
"""Called with each token the SDK obtains (a plain function or a coroutine function)."""


class TokenStore(abc.ABC):
    """Where tokens are kept, under keys that name the kind, the API root and the client
    id or user name (never a secret).

    Implement :meth:`load` and :meth:`save` (and :meth:`delete`, if stale entries should
    go) over Redis, a database or a file to share tokens across processes; to have the
    processes also renew as one, implement a :class:`SharedTokenStore` (the ``redis``
    extra has one). The SDK checks expiry itself: a store may hand back an expired
    token. A store that fails (raises) is logged and bypassed; the request goes on with
    a fresh token.

    Implement :meth:`load_refusal`, :meth:`save_refusal` and :meth:`delete_refusal` too
    to share refused logins and client secrets: ThingSpace locks a user after five
    refused logins, and with them one refusal stops every process sharing the store
    (and every restart) from trying the same credentials again.
    """

    @abc.abstractmethod
    async def load(self, key: str) -> Token | None:
        """The token saved under ``key``, or ``None``."""

    @abc.abstractmethod
    async def save(self, key: str, token: Token) -> None:
        """Keep ``token`` under ``key``, replacing what was there."""

    async def delete(self, key: str) -> None:  # noqa: B027 - optional, no-op by default
        """Forget the token under ``key`` (called after a session is logged out). The
        default does nothing; a token left behind is refused by ThingSpace and renewed."""

    # A refused login or client secret, shared like a token. Optional: a store without
    # these methods leaves each process to remember the refusals it got itself.

    async def load_refusal(self, key: str) -> Refusal | None:
        """The :class:`Refusal` saved under ``key``, or ``None`` when there is none.
        ``key`` names the kind, the API root and the client id or user name, and ends
        with a digest of the credentials (never a secret). The SDK checks expiry
        itself: a store may hand back an expired refusal.

        Raise when the store cannot tell (it is unreachable): the process then goes
        by the refusals it got itself. The default raises ``NotImplementedError``: the
        store keeps no refusals."""
        raise NotImplementedError

    async def save_refusal(self, key: str, refusal: Refusal) -> None:  # noqa: B027 - optional
        """Keep ``refusal`` under ``key`` until :attr:`Refusal.expires_at`, replacing
        what was there. The default does nothing."""

    async def delete_refusal(self, key: str) -> bool:
        """Forget the refusal under ``key``; whether there was one. The default does
        nothing and returns ``False``."""
        return False


class SharedTokenStore(TokenStore):
    """A :class:`TokenStore` that many processes use at once, and that lets them obtain
    and renew tokens as one client.

    The credentials detect it and change how they renew:

    - Before asking ThingSpace for a token they take the key's lock with
      :meth:`acquire`. While another process holds it they wait, reading the store
      with a short growing backoff, and use the token it saves; a lock left by a
      process that died lapses after :attr:`lock_ttl` seconds and is taken over.
    - They save with :meth:`compare_and_swap`: a new token replaces only the one they
      found (the one ThingSpace refused, or none). When another process saved first,
      they use its token instead.
    - Closing a client never logs out a session kept in a shared store, since other
      processes use it; ``await client.logout()`` does so explicitly.
    - A refused login or client secret is saved with :meth:`save_refusal` before the
      lock is released; the processes waiting for the lock read it with
      :meth:`load_refusal` and raise it instead of trying (when the store implements
      them).

    A method that raises is logged and bypassed, as for any store: the process then
    renews on its own. Tokens are compared by kind and value.
    """

    lock_ttl: float = 10.0
    """Seconds a lock is held at most; a renewal that takes longer may be repeated by
    another process."""

    @abc.abstractmethod
    async def acquire(self, key: str) -> str | None:
        """Take the lock of ``key`` for at most :attr:`lock_ttl` seconds, without
        waiting. Returns a lease to pass to :meth:`release`, or ``None`` when another
        holder has it. A store that cannot lock now (it is unreachable) returns ``""``:
        the caller goes on alone and has nothing to release."""

    @abc.abstractmethod
    async def release(self, key: str, lease: str) -> None:
        """Release the lock of ``key`` if ``lease`` still holds it (it may have lapsed
        and been taken by another)."""

    @abc.abstractmethod
    async def compare_and_swap(self, key: str, expected: Token | None, new: Token | None) -> bool:
        """Atomically replace the token under ``key`` with ``new`` (``None`` deletes it),
        only if the store holds ``expected`` (``None``: nothing). Returns whether it
        did; a store that cannot tell (it is unreachable) returns ``True``."""


class MemoryTokenStore(TokenStore):
    """Keeps tokens, and refused logins and client secrets, in dicts. Each client gets
    its own unless you pass one instance to several clients, which then share them."""

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}
        self._refusals: dict[str, Refusal] = {}

    async def load(self, key: str) -> Token | None:
        return self._tokens.get(key)

    async def save(self, key: str, token: Token) -> None:
        self._tokens[key] = token

    async def delete(self, key: str) -> None:
        self._tokens.pop(key, None)

    async def load_refusal(self, key: str) -> Refusal | None:
        return self._refusals.get(key)

    async def save_refusal(self, key: str, refusal: Refusal) -> None:
        self._refusals[key] = refusal

    async def delete_refusal(self, key: str) -> bool:
        return self._refusals.pop(key, None) is not None

    def __repr__(self) -> str:
        return f"MemoryTokenStore(keys={sorted(self._tokens)!r})"


publish(globals())  # exported classes report the package as their module
