"""Refused credentials: a login or client secret that ThingSpace refused is not sent
again until the credentials change, ``refusal_ttl`` passes or the refusal is cleared,
by this process or by any other one sharing the token store, since five refused logins
lock the user. The record is kept under a slow digest of the credentials, never the
secret itself."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import anyio
import httpx

from .._constants import LOGGER_NAME
from .._digest import pbkdf2_sha256
from .._error_body import describe_answer, error_fields, request_id_of
from .._errors import AuthenticationError
from .tokens import Refusal, TokenKind, TokenStore

__all__ = [
    "DEFAULT_REFUSAL_TTL",
    "RefusalWords",
    "Refusals",
    "refuses_credentials",
]

# The same logger as the credentials': an operator filters authentication as one.
log = logging.getLogger(LOGGER_NAME + ".auth")

DEFAULT_REFUSAL_TTL = 30 * 60.0
"""Seconds a refused login or client secret stays refused, in every process sharing
the token store: of the order of the time ThingSpace keeps a user locked."""

REFUSAL_DIGEST_ITERATIONS = 100_000
"""PBKDF2-HMAC-SHA256 rounds of the digest that keys a refusal: the key may be read by
anyone who reads the token store, and must not make a password cheap to guess."""


class RefusalWords(NamedTuple):
    """How a refusal's message names what was refused."""

    what: str
    """What was refused, e.g. "M2M session login"."""
    whose: str
    """Whose credentials, e.g. "user 'x'"."""
    why: str
    """Why it is not retried."""
    path: str
    """The endpoint that refused it."""


class Refusals:
    """The refusal of one credential's login or secret: the one this process got or
    read, and its record in the token store, under a digest of the credentials, for
    ``ttl`` seconds, which every process sharing the store honours.

    :param store: The token store given to the credential, ``None`` when it has its
        own (which no other process reads). Refusals are kept in this process only
        without one, or when it keeps none (:meth:`TokenStore.load_refusal` not
        implemented).
    :param ttl: Seconds a refusal stays in force; a checked duration.
    :param clock: Seconds since the epoch, like ``time.time``.
    :param kind: The kind of token the credentials obtain, kept on the record.
    :param name: What a refusal's key starts with, for an API root: the kind, the API
        root and the client id or user name (never a secret).
    :param secret: The secret a refusal applies to; only a slow digest of it is stored.
    :param words: How a refusal's message names what was refused; asked when a message
        is made.
    """

    def __init__(
        self,
        *,
        store: TokenStore | None,
        ttl: float,
        clock: Callable[[], float],
        kind: TokenKind,
        name: Callable[[str], str],
        secret: Callable[[], bytes],
        words: Callable[[], RefusalWords],
    ) -> None:
        self._shared = store if store is not None and _keeps_refusals(store) else None
        """The store that keeps refusals for every process sharing it, if any."""
        self._ttl = ttl
        self._clock = clock
        self._kind = kind
        self._name = name
        self._secret = secret
        self._words = words
        self._refusal: _Remembered | None = None
        """The refusal in force that this process got or read, and its error."""
        self._retry_refused = False
        """Set by :meth:`reset` after a refusal: the next request clears the record."""
        self._keys: dict[str, str] = {}
        """The refusal key for each API root (a slow digest: computed once)."""

    def reset(self) -> None:
        """Forget a refusal this process got or read; the next check clears its record
        in the token store and lets the credentials be tried again."""
        if self._refusal is not None:
            self._refusal = None
            self._retry_refused = True

    async def clear(self, base_url: str) -> bool:
        """Forget the refusal at ``base_url``, here and in the token store, so that every
        process sharing it may try the credentials again. Returns whether one was
        recorded; a store that fails raises."""
        known = self._refusal is not None
        self._refusal = None
        self._retry_refused = False
        if self._shared is None:
            return known
        cleared = await self._shared.delete_refusal(await self._key(base_url))
        return cleared or known

    async def raise_if_refused(self, base_url: str) -> None:
        """Raise the refusal of the credentials at ``base_url``, when one is in force:
        one this process got, or one the token store holds (another process's, or an
        earlier run's)."""
        if self._retry_refused:
            # reset() after a refusal: ask ThingSpace again, once for every process.
            self._retry_refused = False
            if self._shared is not None:
                await self._delete(self._shared, base_url)
            return
        remembered = await self._recorded(base_url)
        if remembered is not None and self._clock() < remembered.refusal.expires_at:
            raise remembered.error.with_traceback(None)

    async def record(self, base_url: str, response: httpx.Response) -> AuthenticationError:
        """ThingSpace refused the credentials with ``response``: keep that here and in
        the token store, and return the error to raise."""
        now = self._clock()
        code, message = error_fields(response)
        refusal = Refusal(
            kind=self._kind,
            refused_at=now,
            expires_at=now + self._ttl,
            status_code=response.status_code,
            error_code=code,
            error_message=message,
            request_id=request_id_of(response.headers),
        )
        shared = False
        if self._shared is not None:
            try:
                await self._shared.save_refusal(await self._key(base_url), refusal)
            except Exception as exc:
                _store_failed(
                    exc,
                    "failed to save the refusal of the %s (%s); other processes may try the "
                    "same credentials",
                    self._kind,
                )
            else:
                shared = True
        error = self._error(base_url, refusal, response)
        self._refusal = _Remembered(refusal, error, shared=shared)
        log.warning("%s", error.message)
        return error

    async def _recorded(self, base_url: str) -> _Remembered | None:
        remembered = self._refusal
        if self._shared is None:
            return remembered
        try:
            stored = await self._shared.load_refusal(await self._key(base_url))
        except Exception as exc:
            _store_failed(exc, "failed to load refusals of the %s (%s)", self._kind)
            return remembered
        if stored is None or stored.kind != self._kind:
            if remembered is not None and remembered.shared:
                # Cleared by an operator, or lapsed: the credentials may be tried again.
                self._refusal = None
                return None
            return remembered
        if remembered is None or remembered.refusal != stored:
            remembered = _Remembered(stored, self._error(base_url, stored), shared=True)
            self._refusal = remembered
        return remembered

    async def _delete(self, store: TokenStore, base_url: str) -> None:
        try:
            await store.delete_refusal(await self._key(base_url))
        except Exception as exc:
            _store_failed(exc, "failed to clear the refusal of the %s (%s)", self._kind)

    async def _key(self, base_url: str) -> str:
        """``{name}:{digest}``: the digest of the secret is salted with the name (the
        API root and the client id or user name), so the same secret elsewhere gives
        another key, and it is slow, so that the key does not make the secret cheap to
        guess. Computed once per API root, in a worker thread."""
        key = self._keys.get(base_url)
        if key is None:
            name = self._name(base_url)
            salt = hashlib.sha256(f"thingspace-callbacks refusal {name}".encode()).digest()
            digest = await anyio.to_thread.run_sync(
                partial(pbkdf2_sha256, self._secret(), salt, REFUSAL_DIGEST_ITERATIONS)
            )
            key = self._keys[base_url] = f"{name}:{digest[:32]}"
        return key

    def _error(
        self, base_url: str, refusal: Refusal, response: httpx.Response | None = None
    ) -> AuthenticationError:
        """The error a refusal raises: the answer's (rebuilt from the record when it
        was another process's), with a message saying what was refused, when, until
        when it is not retried and how to clear it."""
        words = self._words()
        if response is None:
            body = {
                name: value
                for name, value in (
                    ("errorCode", refusal.error_code),
                    ("errorMessage", refusal.error_message),
                )
                if value is not None
            }
            headers = {"x-request-id": refusal.request_id} if refusal.request_id else {}
            response = httpx.Response(
                refusal.status_code,
                json=body,
                headers=headers,
                request=httpx.Request("POST", base_url + words.path),
            )
        details = describe_answer(
            refusal.status_code,
            response.reason_phrase,
            refusal.error_code,
            refusal.error_message,
            refusal.request_id,
        )
        if self._shared is None:
            advice = "fix the credentials, then call client.auth.reset()"
        else:
            advice = (
                "no process sharing the token store tries them meanwhile; fix the "
                "credentials, or clear the refusal (await client.clear_refusals(), "
                "or thingspace-callbacks auth reset)"
            )
        message = (
            f"{words.what} refused for {words.whose} at {_utc(refusal.refused_at)}: "
            f"{details}; not retried until {_utc(refusal.expires_at)}, as {words.why}: "
            f"{advice}"
        )
        return AuthenticationError(response, message=message)


@dataclass(frozen=True)
class _Remembered:
    refusal: Refusal
    error: AuthenticationError
    shared: bool
    """Whether the token store holds it: when it no longer does, it was cleared."""


REFUSING_STATUSES = frozenset({400, 401, 403})
"""The statuses with which ThingSpace's token and login endpoints refuse credentials.
Other 4xx answers (404 from a wrong API root, 405, 408, 429, ...) say nothing of the
credentials, and recording them would stop a whole fleet for a mistyped URL."""


def refuses_credentials(response: httpx.Response) -> bool:
    """Whether a credential endpoint's answer refuses the credentials sent (one of
    :data:`REFUSING_STATUSES`)."""
    return response.status_code in REFUSING_STATUSES


def _store_failed(exc: Exception, message: str, kind: str) -> None:
    """Log a token store's failure with refusals: a warning, but for a store that
    cannot be reached (``ConnectionError``), which said so once for the whole outage."""
    level = logging.DEBUG if isinstance(exc, ConnectionError) else logging.WARNING
    log.log(level, "token store " + message, kind, type(exc).__name__)


def _keeps_refusals(store: TokenStore) -> bool:
    """Whether ``store`` implements :meth:`TokenStore.load_refusal` (else it raises
    ``NotImplementedError``, and keeps none)."""
    return type(store).load_refusal is not TokenStore.load_refusal


def _utc(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))
