"""What the bearer-token and session credentials share: caching a token, renewing it
early in a single flight (across processes, with a shared token store), the token
store, the ``on_token`` hook, and the HTTP call to a credential endpoint with the answer
stripped of what it was sent."""

from __future__ import annotations

import abc
import hashlib
import inspect
import json
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, NamedTuple, Protocol

import anyio
import httpx

from .._constants import LOGGER_NAME, PROACTIVE_RENEWAL_BACKOFF
from .._errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    RequestValidationError,
    error_fields,
    request_id_of,
    without_credentials,
)
from .._send import send
from .base import AuthContext
from .single_flight import SingleFlight
from .tokens import (
    MemoryTokenStore,
    Refusal,
    SharedTokenStore,
    Token,
    TokenCallback,
    TokenKind,
    TokenStore,
)

__all__ = [
    "DEFAULT_REFUSAL_TTL",
    "Clock",
    "Credential",
    "RefusalWords",
    "RenewingCredential",
    "auth_failure",
    "json_object",
    "log",
    "post_credentials",
    "refuses_credentials",
]

log = logging.getLogger(LOGGER_NAME + ".auth")

Clock = Callable[[], float]
"""Returns seconds since the epoch, like ``time.time`` (the default)."""

DEFAULT_REFUSAL_TTL = 30 * 60.0
"""Seconds a refused login or client secret stays refused, in every process sharing
the token store: of the order of the time ThingSpace keeps a user locked."""

REFUSAL_DIGEST_ITERATIONS = 100_000
"""PBKDF2-HMAC-SHA256 rounds of the digest that keys a refusal: the key may be read by
anyone who reads the token store, and must not make a password cheap to guess."""

SHARED_POLL_FIRST = 0.01
SHARED_POLL_MAX = 0.25
"""Seconds between reads of a shared store while another process renews: the first
wait, doubling up to the last."""


class Credential(Protocol):
    """One of the two credentials a ``ThingSpaceAuth`` sends: renewed by the SDK
    (:class:`RenewingCredential`) or fixed (``FixedToken``)."""

    async def token(self, context: AuthContext) -> Token:
        """The token to send now."""
        ...

    async def renew(self, context: AuthContext, refused: str | None) -> bool:
        """ThingSpace refused ``refused`` (a token value); whether a different token is
        now current."""
        ...

    def reset(self) -> None:
        """Forget what was obtained; the next request starts afresh."""
        ...

    async def aclose(self, context: AuthContext) -> None:
        """Release what the credential holds, when the client closes."""
        ...

    @property
    def arguments(self) -> Mapping[str, object]:
        """The ``ThingSpaceAuth`` keywords this credential was built from, secrets as
        ``SecretStr`` (which never shows its value); for reprs."""
        ...


class RenewingCredential(abc.ABC):
    """A token obtained from ThingSpace, cached, and renewed before it lapses.

    Concurrent callers share one request for a new token; a failure reaches each of them
    as the same exception, and the next call tries again, unless ThingSpace refused the
    credentials (a subclass says so with :meth:`_record_refusal`): that refusal is kept
    in the token store, under a digest of the credentials, for ``refusal_ttl`` seconds,
    and raised again without asking ThingSpace, by this process and by every other one
    sharing the store. ``refresh_margin`` and ``refusal_ttl`` must be checked durations
    (``ThingSpaceAuth`` checks them).
    """

    kind: ClassVar[TokenKind]

    def __init__(
        self,
        *,
        refresh_margin: float,
        default_lifetime: float,
        token_store: TokenStore | None,
        on_token: TokenCallback | None,
        clock: Clock | None,
        refusal_ttl: float = DEFAULT_REFUSAL_TTL,
    ) -> None:
        if on_token is not None and not callable(on_token):
            raise RequestValidationError("'on_token' must be callable")
        self._margin = refresh_margin
        self._default_lifetime = default_lifetime
        self._store: TokenStore = MemoryTokenStore() if token_store is None else token_store
        self._private_store = token_store is None or not _keeps_refusals(token_store)
        """Refusals are kept only here: the store is this object's own, or keeps none."""
        self._refusal_ttl = refusal_ttl
        self._refusal: _Remembered | None = None
        """The refusal in force that this process got or read, and its error."""
        self._retry_refused = False
        """Set by :meth:`reset` after a refusal: the next request clears the record."""
        self._refusal_keys: dict[str, str] = {}
        """The refusal key for each API root (a slow digest: computed once)."""
        self._on_token = on_token
        self._clock: Clock = time.time if clock is None else clock
        self._current: Token | None = None
        self._valid_until = -math.inf
        """When the current token lapses, as far as we know."""
        self._refresh_at = -math.inf
        """When to stop handing out the current token and renew it."""
        self._flight: SingleFlight[Token] = SingleFlight()

    async def token(self, context: AuthContext) -> Token:
        """The current token, obtained or renewed first when needed."""
        current = self._current
        if current is not None and self._clock() < self._refresh_at:
            return current
        return await self._flight.run(partial(self._refresh, context, None))

    async def renew(self, context: AuthContext, refused: str | None) -> bool:
        """ThingSpace refused ``refused`` (a token value): get another one, unless another
        task already did. Returns whether a different token is now current."""
        current = self._current
        if current is not None and not _same_secret(current, refused):
            return True
        if current is not None:
            self._valid_until = self._refresh_at = -math.inf
        token = await self._flight.run(partial(self._refresh, context, refused))
        return not _same_secret(token, refused)

    def reset(self) -> None:
        """Forget the cached token, and a refusal this process got or read: the next
        request obtains a new token, and after a refusal clears its record in the token
        store and asks ThingSpace again."""
        self._drop_token()
        if self._refusal is not None:
            self._refusal = None
            self._retry_refused = True

    def _drop_token(self) -> None:
        self._current = None
        self._valid_until = self._refresh_at = -math.inf

    async def clear_refusal(self, base_url: str) -> bool:
        """Forget the refusal of these credentials at ``base_url``, here and in the
        token store, so that every process sharing it may try them again. Returns
        whether one was recorded; a store that fails raises."""
        known = self._refusal is not None
        self._refusal = None
        self._retry_refused = False
        if self._private_store:
            return known
        cleared = await self._store.delete_refusal(await self._refusal_key(base_url))
        return cleared or known

    async def aclose(self, context: AuthContext) -> None:
        """Nothing to release by default: a token lapses on its own."""
        return None

    # -- to implement ---------------------------------------------------------------

    @property
    @abc.abstractmethod
    def arguments(self) -> Mapping[str, object]:
        """See :attr:`Credential.arguments`."""

    @abc.abstractmethod
    def store_key(self, context: AuthContext) -> str:
        """The key this credential's token is kept under; never holds a secret."""

    @abc.abstractmethod
    async def _fetch(self, context: AuthContext) -> Token:
        """Ask ThingSpace for a new token; when it refuses the credentials, raise what
        :meth:`_record_refusal` returns."""

    @abc.abstractmethod
    def _refusal_name(self, base_url: str) -> str:
        """What a refusal's key starts with: the kind, the API root and the client id
        or user name (never a secret)."""

    @abc.abstractmethod
    def _refusal_secret(self) -> bytes:
        """The secret a refusal applies to, beside :meth:`_refusal_name`; only a slow
        digest of it is ever stored."""

    @property
    @abc.abstractmethod
    def _refusal_words(self) -> RefusalWords:
        """How a refusal's message names what was refused."""

    # -- shared machinery -----------------------------------------------------------

    def _schedule(self, valid_until: float, now: float) -> None:
        self._valid_until = valid_until
        # Renew `margin` early; if the token has less than that left (ThingSpace hands out
        # the same bearer token again within its hour), renew halfway to its lapse
        # instead, so the token endpoint is not asked on every call.
        self._refresh_at = max(valid_until - self._margin, now + (valid_until - now) / 2)

    def _adopt(self, token: Token, now: float) -> None:
        self._current = token
        lapse = token.expires_at if token.expires_at is not None else now + self._default_lifetime
        self._schedule(lapse, now)

    async def _refresh(self, context: AuthContext, refused: str | None) -> Token:
        now = self._clock()
        current = self._current
        if current is not None and now < self._refresh_at and not _same_secret(current, refused):
            return current
        stored = await self._load(context)
        if stored is not None and self._reusable(stored, now, refused):
            log.debug("using a %s from the token store", self.kind)
            self._adopt(stored, now)
            return stored
        try:
            await self._raise_if_refused(context)
            if isinstance(self._store, SharedTokenStore):
                return await self._refresh_shared(context, self._store, refused)
            token = await self._fetch(context)
        except APIError as exc:
            kept = self._kept_after(exc, now, refused)
            if kept is None:
                raise
            return kept
        self._adopt(token, self._clock())
        await self._save(context, token)
        await self._notify(token)
        return token

    def _kept_after(self, exc: APIError, now: float, refused: str | None) -> Token | None:
        """The current token, to keep a little longer after renewing it failed with
        ``exc``, when the renewal was early and the token still works; else ``None``."""
        current = self._current
        if refused is not None or current is None or now >= self._valid_until:
            return None
        log.warning(
            "renewing the %s early failed (%s); the current one stays in use",
            self.kind,
            type(exc).__name__,
        )
        self._refresh_at = now + min(PROACTIVE_RENEWAL_BACKOFF, (self._valid_until - now) / 2)
        return current

    # -- renewing as one with other processes (a SharedTokenStore) -------------------

    async def _refresh_shared(
        self, context: AuthContext, store: SharedTokenStore, refused: str | None
    ) -> Token:
        key = self.store_key(context)
        lease = await self._lock(context, store, key, refused)
        if isinstance(lease, Token):
            return lease
        try:
            return await self._renew_locked(context, store, key, refused)
        finally:
            if lease:
                # Even when cancelled: a lock left behind holds the other processes
                # back until it lapses (so waiting longer than that is pointless).
                with anyio.move_on_after(store.lock_ttl, shield=True):
                    await self._unlock(store, key, lease)

    async def _lock(
        self, context: AuthContext, store: SharedTokenStore, key: str, refused: str | None
    ) -> Token | str:
        """Take the lock of ``key`` and return its lease (``""`` to go on without one);
        or, when the process holding it saves a token meanwhile, that token."""
        give_up = anyio.current_time() + 2 * store.lock_ttl
        delay = SHARED_POLL_FIRST
        while True:
            lease = await self._try_lock(store, key)
            if lease is not None:
                return lease
            if anyio.current_time() >= give_up:
                log.warning("the token store's lock on the %s stayed taken; going on", self.kind)
                return ""
            # Jittered, so that waiting processes do not read the store in step.
            await anyio.sleep(delay * random.uniform(0.5, 1.0))  # noqa: S311 - not a secret
            delay = min(delay * 2, SHARED_POLL_MAX)
            stored = await self._load(context)
            now = self._clock()
            if stored is not None and self._reusable(stored, now, refused):
                log.debug("using the %s another process saved in the token store", self.kind)
                self._adopt(stored, now)
                return stored
            # The holder may have been refused: then it saved that before unlocking.
            await self._raise_if_refused(context)

    async def _renew_locked(
        self, context: AuthContext, store: SharedTokenStore, key: str, refused: str | None
    ) -> Token:
        # The holder of the lock before us may have saved just what we need.
        stored = await self._load(context)
        now = self._clock()
        if stored is not None and self._reusable(stored, now, refused):
            log.debug("using the %s another process saved in the token store", self.kind)
            self._adopt(stored, now)
            return stored
        await self._raise_if_refused(context)
        token = await self._fetch(context)
        self._adopt(token, self._clock())
        if not await self._swap(store, key, stored, token):
            # Another process renewed meanwhile (our lock lapsed): use its token, so
            # that every process sends the same one.
            newer = await self._load(context)
            now = self._clock()
            if newer is not None and self._reusable(newer, now, refused):
                log.debug("another process renewed the %s first; using its token", self.kind)
                self._adopt(newer, now)
                return newer
        await self._notify(token)
        return token

    async def _try_lock(self, store: SharedTokenStore, key: str) -> str | None:
        try:
            return await store.acquire(key)
        except Exception as exc:
            log.warning("token store failed to lock the %s (%s)", self.kind, type(exc).__name__)
            return ""

    async def _unlock(self, store: SharedTokenStore, key: str, lease: str) -> None:
        try:
            await store.release(key, lease)
        except Exception as exc:
            log.warning("token store failed to unlock the %s (%s)", self.kind, type(exc).__name__)

    async def _swap(
        self, store: SharedTokenStore, key: str, expected: Token | None, new: Token | None
    ) -> bool:
        try:
            return await store.compare_and_swap(key, expected, new)
        except Exception as exc:
            log.warning("token store failed to save the %s (%s)", self.kind, type(exc).__name__)
            return True

    # -- refused credentials, shared through the store --------------------------------

    async def _raise_if_refused(self, context: AuthContext) -> None:
        """Raise the refusal of these credentials, when one is in force: one this
        process got, or one the token store holds (another process's, or an earlier
        run's)."""
        if self._retry_refused:
            # reset() after a refusal: ask ThingSpace again, once for every process.
            self._retry_refused = False
            if not self._private_store:
                await self._delete_refusal(context.base_url)
            return
        remembered = await self._recorded_refusal(context.base_url)
        if remembered is not None and self._clock() < remembered.refusal.expires_at:
            raise remembered.error.with_traceback(None)

    async def _recorded_refusal(self, base_url: str) -> _Remembered | None:
        remembered = self._refusal
        if self._private_store:
            return remembered
        try:
            stored = await self._store.load_refusal(await self._refusal_key(base_url))
        except Exception as exc:
            _store_failed(exc, "failed to load refusals of the %s (%s)", self.kind)
            return remembered
        if stored is None or stored.kind != self.kind:
            if remembered is not None and remembered.shared:
                # Cleared by an operator, or lapsed: the credentials may be tried again.
                self._refusal = None
                return None
            return remembered
        if remembered is None or remembered.refusal != stored:
            remembered = _Remembered(stored, self._refusal_error(base_url, stored), shared=True)
            self._refusal = remembered
        return remembered

    async def _record_refusal(
        self, context: AuthContext, response: httpx.Response
    ) -> AuthenticationError:
        """ThingSpace refused the credentials with ``response``: keep that here and in
        the token store, and return the error to raise."""
        now = self._clock()
        code, message = error_fields(response)
        refusal = Refusal(
            kind=self.kind,
            refused_at=now,
            expires_at=now + self._refusal_ttl,
            status_code=response.status_code,
            error_code=code,
            error_message=message,
            request_id=request_id_of(response.headers),
        )
        shared = False
        if not self._private_store:
            try:
                await self._store.save_refusal(await self._refusal_key(context.base_url), refusal)
            except Exception as exc:
                _store_failed(
                    exc,
                    "failed to save the refusal of the %s (%s); other processes may try the "
                    "same credentials",
                    self.kind,
                )
            else:
                shared = True
        error = self._refusal_error(context.base_url, refusal, response)
        self._refusal = _Remembered(refusal, error, shared=shared)
        log.warning("%s", error.message)
        return error

    async def _delete_refusal(self, base_url: str) -> None:
        try:
            await self._store.delete_refusal(await self._refusal_key(base_url))
        except Exception as exc:
            _store_failed(exc, "failed to clear the refusal of the %s (%s)", self.kind)

    async def _refusal_key(self, base_url: str) -> str:
        """``{name}:{digest}``: the digest of the secret is salted with the name (the
        API root and the client id or user name), so the same secret elsewhere gives
        another key, and it is slow, so that the key does not make the secret cheap to
        guess. Computed once per API root, in a worker thread."""
        key = self._refusal_keys.get(base_url)
        if key is None:
            name = self._refusal_name(base_url)
            salt = hashlib.sha256(f"thingspace-callbacks refusal {name}".encode()).digest()
            digest = await anyio.to_thread.run_sync(
                partial(
                    hashlib.pbkdf2_hmac,
                    "sha256",
                    self._refusal_secret(),
                    salt,
                    REFUSAL_DIGEST_ITERATIONS,
                )
            )
            key = self._refusal_keys[base_url] = f"{name}:{digest.hex()[:32]}"
        return key

    def _refusal_error(
        self, base_url: str, refusal: Refusal, response: httpx.Response | None = None
    ) -> AuthenticationError:
        """The error a refusal raises: the answer's (rebuilt from the record when it
        was another process's), with a message saying what was refused, when, until
        when it is not retried and how to clear it."""
        words = self._refusal_words
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
        details = f"{refusal.status_code} {response.reason_phrase}".rstrip()
        fields = ": ".join(part for part in (refusal.error_code, refusal.error_message) if part)
        if fields:
            details = f"{details} - {fields}"
        if refusal.request_id:
            details = f"{details} (request id {refusal.request_id})"
        if self._private_store:
            advice = "fix the credentials, then call client.auth.reset()"
        else:
            advice = (
                "no process sharing the token store tries them meanwhile; fix the "
                "credentials, or clear the refusal (await client.auth.clear_refusals(), "
                "or thingspace-callbacks auth reset)"
            )
        message = (
            f"{words.what} refused for {words.whose} at {_utc(refusal.refused_at)}: "
            f"{details}; not retried until {_utc(refusal.expires_at)}, as {words.why}: "
            f"{advice}"
        )
        return AuthenticationError(response, message=message)

    def _reusable(self, stored: Token, now: float, refused: str | None) -> bool:
        """Whether a token from the store may be used: of this kind, valid beyond the
        margin, and neither the refused token nor the current one (due for renewal)."""
        current = self._current
        return (
            stored.kind == self.kind
            and stored.expires_at is not None
            and stored.expires_at - self._margin > now
            and not _same_secret(stored, refused)
            and not _same_secret(stored, current.value.get_secret_value() if current else None)
        )

    async def _load(self, context: AuthContext) -> Token | None:
        try:
            return await self._store.load(self.store_key(context))
        except Exception as exc:
            log.warning("token store failed to load the %s (%s)", self.kind, type(exc).__name__)
            return None

    async def _save(self, context: AuthContext, token: Token) -> None:
        try:
            await self._store.save(self.store_key(context), token)
        except Exception as exc:
            log.warning("token store failed to save the %s (%s)", self.kind, type(exc).__name__)

    async def _forget(self, context: AuthContext, token: Token) -> None:
        key = self.store_key(context)
        if isinstance(self._store, SharedTokenStore):
            await self._swap(self._store, key, token, None)
            return
        try:
            stored = await self._store.load(key)
            if stored is not None and stored == token:
                await self._store.delete(key)
        except Exception as exc:
            log.warning("token store failed to delete the %s (%s)", self.kind, type(exc).__name__)

    async def _notify(self, token: Token) -> None:
        if self._on_token is None:
            return
        try:
            result = self._on_token(token)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            # An observer must not break authentication for every caller.
            log.warning("on_token callback raised %s; ignored", type(exc).__name__)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self.arguments.items())
        return f"{type(self).__name__}({shown})"


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


@dataclass(frozen=True)
class _Remembered:
    refusal: Refusal
    error: AuthenticationError
    shared: bool
    """Whether the token store holds it: when it no longer does, it was cleared."""


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


def _same_secret(token: Token, value: str | None) -> bool:
    """Whether ``token`` holds ``value``."""
    return value is not None and token.value.get_secret_value() == value


async def post_credentials(
    context: AuthContext,
    path: str,
    *,
    headers: Mapping[str, str],
    data: Mapping[str, str] | None = None,
    json_body: Any = None,
) -> httpx.Response:
    """POST to a credential endpoint through the shared pool and read the answer.

    The request kept on the answer (and on a connection error) is a copy without
    credentials or body, so an exception built from it cannot leak them.
    """
    request = context.http_client.build_request(
        "POST",
        context.base_url + path,
        headers={"Accept": "application/json", "User-Agent": context.user_agent, **headers},
        data=data,
        json=json_body,
        timeout=context.timeout,
    )
    try:
        response = await send(context.http_client, request)
    except APIConnectionError as exc:
        exc.request = without_credentials(request)
        raise
    response.request = without_credentials(request)
    return response


def refuses_credentials(response: httpx.Response) -> bool:
    """Whether a credential endpoint's answer refuses the credentials sent: a 4xx other
    than 408 (timeout) and 429 (too many requests), which say nothing of them."""
    status = response.status_code
    return 400 <= status < 500 and status not in (408, 429)


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, or ``{}`` when it is not one. Parse errors are dropped:
    their text would quote the body, which may hold a credential."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def auth_failure(
    response: httpx.Response, what: str, *, keep_body: bool = True
) -> AuthenticationError:
    """An :class:`AuthenticationError` for a credential endpoint's answer: ``what``, then
    the status and the provider's error code and message. ``keep_body=False`` for
    answers that may hold a credential (a success answer we could not read): the error
    then keeps neither the body nor the provider's fields."""
    if not keep_body:
        bare = httpx.Response(
            response.status_code, headers=response.headers, request=response.request
        )
        return AuthenticationError(bare, body={}, message=f"{what}: {response.status_code}")
    message = f"{what}: {response.status_code} {response.reason_phrase}".rstrip()
    details = ": ".join(part for part in error_fields(response) if part)
    if details:
        message = f"{message} - {details}"
    request_id = request_id_of(response.headers)
    if request_id:
        message = f"{message} (request id {request_id})"
    return AuthenticationError(response, message=message)
