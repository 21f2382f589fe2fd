"""What the bearer-token and session credentials share, :class:`RenewingCredential`:

- caching the token and renewing it early, in a single flight (:meth:`_refresh`);
- taking a usable token from the token store rather than asking ThingSpace
  (:meth:`_reuse_stored`);
- renewing as one with other processes, under the lock of a ``SharedTokenStore``
  (:meth:`_refresh_shared`);
- the token store's calls, whose failures are logged and not raised, and the
  ``on_token`` hook.

Refused logins are :mod:`.refusals`' job, the HTTP call to a credential endpoint
:mod:`.endpoint`'s.
"""

from __future__ import annotations

import abc
import inspect
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import ClassVar, Protocol

import anyio
import httpx

from .._constants import LOGGER_NAME, PROACTIVE_RENEWAL_BACKOFF
from .._errors import APIError, AuthenticationError, InvalidArgumentError
from .base import AuthContext
from .refusals import DEFAULT_REFUSAL_TTL, Refusals, RefusalWords
from .single_flight import SingleFlight
from .tokens import (
    MemoryTokenStore,
    SharedTokenStore,
    Token,
    TokenCallback,
    TokenKind,
    TokenStore,
)

__all__ = ["Clock", "Credential", "RenewingCredential", "log"]

log = logging.getLogger(LOGGER_NAME + ".auth")

Clock = Callable[[], float]
"""Returns seconds since the epoch, like ``time.time`` (the default)."""

_SAVED_BY_ANOTHER = "using the %s another process saved in the token store"
"""The debug line for a token another process renewed while this one waited."""

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
            raise InvalidArgumentError("'on_token' must be callable")
        self._margin = refresh_margin
        self._default_lifetime = default_lifetime
        self._store: TokenStore = MemoryTokenStore() if token_store is None else token_store
        self._on_token = on_token
        self._clock: Clock = time.time if clock is None else clock
        self._refusals = Refusals(
            store=token_store,
            ttl=refusal_ttl,
            clock=self._clock,
            kind=self.kind,
            name=self._name,
            secret=self._refusal_secret,
            # A property of the subclass, read when a message is made.
            words=lambda: self._refusal_words,
        )
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
        self._refusals.reset()

    def _drop_token(self) -> None:
        self._current = None
        self._valid_until = self._refresh_at = -math.inf

    async def clear_refusal(self, base_url: str) -> bool:
        """Forget the refusal of these credentials at ``base_url``, here and in the
        token store, so that every process sharing it may try them again. Returns
        whether one was recorded; a store that fails raises."""
        return await self._refusals.clear(base_url)

    async def aclose(self, context: AuthContext) -> None:
        """Nothing to release by default: a token lapses on its own."""
        return None

    # -- to implement ---------------------------------------------------------------

    @property
    @abc.abstractmethod
    def arguments(self) -> Mapping[str, object]:
        """See :attr:`Credential.arguments`."""

    @abc.abstractmethod
    async def _fetch(self, context: AuthContext) -> Token:
        """Ask ThingSpace for a new token; when it refuses the credentials, raise what
        :meth:`_record_refusal` returns."""

    @abc.abstractmethod
    def _name(self, base_url: str) -> str:
        """What names these credentials at the API root ``base_url``: the kind, the root
        and the client id or user name (never a secret). Their token is kept under it
        in the token store, and a refusal's key starts with it."""

    @abc.abstractmethod
    def _refusal_secret(self) -> bytes:
        """The secret a refusal applies to, beside :meth:`_name`; only a slow digest of
        it is ever stored."""

    @property
    @abc.abstractmethod
    def _refusal_words(self) -> RefusalWords:
        """How a refusal's message names what was refused."""

    def store_key(self, context: AuthContext) -> str:
        """The key this credential's token is kept under; never holds a secret."""
        return self._name(context.base_url)

    # -- caching and renewing -------------------------------------------------------

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
        stored = await self._reuse_stored(context, refused, "using a %s from the token store")
        if stored is not None:
            return stored
        try:
            await self._refusals.raise_if_refused(context.base_url)
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
            stored = await self._reuse_stored(context, refused, _SAVED_BY_ANOTHER)
            if stored is not None:
                return stored
            # The holder may have been refused: then it saved that before unlocking.
            await self._refusals.raise_if_refused(context.base_url)

    async def _renew_locked(
        self, context: AuthContext, store: SharedTokenStore, key: str, refused: str | None
    ) -> Token:
        # The holder of the lock before us may have saved just what we need.
        stored = await self._load(context)
        reused = self._adopt_reusable(stored, refused, _SAVED_BY_ANOTHER)
        if reused is not None:
            return reused
        await self._refusals.raise_if_refused(context.base_url)
        token = await self._fetch(context)
        self._adopt(token, self._clock())
        if not await self._swap(store, key, stored, token):
            # Another process renewed meanwhile (our lock lapsed): use its token, so
            # that every process sends the same one.
            newer = await self._reuse_stored(
                context, refused, "another process renewed the %s first; using its token"
            )
            if newer is not None:
                return newer
        await self._notify(token)
        return token

    async def _record_refusal(
        self, context: AuthContext, response: httpx.Response
    ) -> AuthenticationError:
        """ThingSpace refused the credentials with ``response``: keep that here and in
        the token store, and return the error to raise."""
        return await self._refusals.record(context.base_url, response)

    # -- tokens from the token store ------------------------------------------------

    async def _reuse_stored(
        self, context: AuthContext, refused: str | None, found: str
    ) -> Token | None:
        """Load the store's token and make it the current one when it may be used (see
        :meth:`_adopt_reusable`); returns it then, else ``None``."""
        return self._adopt_reusable(await self._load(context), refused, found)

    def _adopt_reusable(
        self, stored: Token | None, refused: str | None, found: str
    ) -> Token | None:
        """Make ``stored``, a token read from the store, the current one when it may be
        used: of this kind, valid beyond the margin, and neither the refused token nor
        the current one (due for renewal). ``found`` is the debug line saying so, with
        a ``%s`` for the kind. Returns the token adopted, or ``None``."""
        now = self._clock()
        current = self._current
        if (
            stored is None
            or stored.kind != self.kind
            or stored.expires_at is None
            or stored.expires_at - self._margin <= now
            or _same_secret(stored, refused)
            or _same_secret(stored, current.value.get_secret_value() if current else None)
        ):
            return None
        log.debug(found, self.kind)
        self._adopt(stored, now)
        return stored

    # -- the token store's calls: a failure is logged, and the credential goes on ----

    async def _load(self, context: AuthContext) -> Token | None:
        try:
            return await self._store.load(self.store_key(context))
        except Exception as exc:
            self._store_failed("load", exc)
            return None

    async def _save(self, context: AuthContext, token: Token) -> None:
        try:
            await self._store.save(self.store_key(context), token)
        except Exception as exc:
            self._store_failed("save", exc)

    async def _try_lock(self, store: SharedTokenStore, key: str) -> str | None:
        try:
            return await store.acquire(key)
        except Exception as exc:
            self._store_failed("lock", exc)
            return ""

    async def _unlock(self, store: SharedTokenStore, key: str, lease: str) -> None:
        try:
            await store.release(key, lease)
        except Exception as exc:
            self._store_failed("unlock", exc)

    async def _swap(
        self, store: SharedTokenStore, key: str, expected: Token | None, new: Token | None
    ) -> bool:
        try:
            return await store.compare_and_swap(key, expected, new)
        except Exception as exc:
            self._store_failed("save", exc)
            return True

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
            self._store_failed("delete", exc)

    def _store_failed(self, action: str, exc: Exception) -> None:
        log.warning("token store failed to %s the %s (%s)", action, self.kind, type(exc).__name__)

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


def _same_secret(token: Token, value: str | None) -> bool:
    """Whether ``token`` holds ``value``."""
    return value is not None and token.value.get_secret_value() == value
