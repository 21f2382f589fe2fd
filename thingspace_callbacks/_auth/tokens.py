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
      processes use it; ``await client.auth.logout()`` does so explicitly.

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
    """Keeps tokens in a dict. Each client gets its own unless you pass one instance to
    several clients, which then share tokens."""

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}

    async def load(self, key: str) -> Token | None:
        return self._tokens.get(key)

    async def save(self, key: str, token: Token) -> None:
        self._tokens[key] = token

    async def delete(self, key: str) -> None:
        self._tokens.pop(key, None)

    def __repr__(self) -> str:
        return f"MemoryTokenStore(keys={sorted(self._tokens)!r})"


publish(globals())  # exported classes report the package as their module
