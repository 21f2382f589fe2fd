"""``RedisTokenStore``: one bearer token and one M2M session for every process that
uses the same Redis."""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from redis.asyncio import Redis

from .._auth.tokens import Refusal, SharedTokenStore, Token
from .._checks import seconds
from .._errors import InvalidArgumentError
from ._codec import FINGERPRINT_SIZE, Codec
from ._connection import ClosingResource, Connection, Script, Unavailable, log

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = ["RedisTokenStore"]

_T = TypeVar("_T")

_SWAP = Script(f"""
local current = redis.call('GET', KEYS[1])
local held = ''
if current then held = string.sub(current, 1, {FINGERPRINT_SIZE}) end
if held ~= ARGV[1] then return 0 end
if ARGV[2] == '' then
  redis.call('DEL', KEYS[1])
elseif ARGV[3] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[2])
end
return 1
""")
"""Compare-and-swap. KEYS[1]: the token's key. ARGV[1]: the fingerprint expected there
('' for nothing); ARGV[2]: the new value ('' deletes); ARGV[3]: its lifetime in
milliseconds ('0' for none)."""

_RELEASE = Script("""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
""")
"""Compare-and-delete of a lock. KEYS[1]: the lock; ARGV[1]: the lease that took it."""


class RedisTokenStore(ClosingResource, SharedTokenStore):
    """Keeps the SDK's tokens in Redis, so that every process and machine using the same
    Redis (and ``prefix``) acts as one client: one token request and one login however
    many start at once, and one renewal when ThingSpace refuses a token::

        store = RedisTokenStore("redis://localhost:6379/0")
        client = AsyncThingSpaceClient(..., token_store=store)

    - Renewal is single-flight across processes: a lock per key (``SET NX PX``,
      released by a compare-and-delete script) with a lifetime of ``lock_ttl``
      seconds, so a process that dies holding it is replaced when it lapses. Other
      processes wait for the token it saves, reading it with a short growing backoff.
    - Saves are compare-and-swap (one Lua script): a process replaces only the token it
      found; when another renewed first, it uses that one.
    - Closing a client never logs out the shared session; ``await client.logout()``
      does.
    - A refused login or client secret is kept under ``{prefix}refusal:...`` (the
      kind, the API root, the client id or user name, and a salted PBKDF2 digest of
      the credentials) until the ``refusal_ttl`` of ``ThingSpaceAuth`` has passed: no
      process using this Redis tries the same credentials meanwhile. The value is
      JSON holding only ThingSpace's answer and when it came, no secret; it is not
      sealed, so that every process honours it whatever its key.
    - With ``encryption_key`` (a Fernet key, ``Fernet.generate_key()``; needs the
      ``cryptography`` package, part of the ``redis`` extra) every value is sealed
      (AES-128-CBC + HMAC-SHA256), and values not sealed with that key are ignored:
      they count as no token, which the next renewal replaces (so after a change of
      key, tokens are simply obtained again, once for all). Without it tokens are
      stored as JSON in the clear: keep that Redis as private as the client secret.
      The key shows in no ``repr``, log line or error.
    - When Redis does not answer within ``timeout`` seconds or fails, one warning is
      logged and each process obtains and keeps its own tokens, as without a store;
      calls go on. Redis is tried again at most once a second; once it answers, the
      next renewal is shared again (tokens obtained meanwhile are used until then).

    It needs asyncio (``redis.asyncio``). Given a URL, the store makes its own clients
    (one per event loop) and :meth:`aclose` closes them; a ``redis.asyncio.Redis``
    given to it is used as is and left open.

    :param redis: A ``redis.asyncio.Redis``, or a ``redis://``, ``rediss://`` or
        ``unix://`` URL.
    :param prefix: Put before every key (``{prefix}token:...``, ``{prefix}lock:...``,
        ``{prefix}refusal:...``).
    :param encryption_key: Seal the values with this Fernet key.
    :param lock_ttl: Seconds a renewal lock lives; longer than a token request takes.
    :param timeout: Seconds a Redis command may take before Redis counts as down.
    """

    def __init__(
        self,
        redis: Redis | str,
        *,
        prefix: str = "thingspace:",
        encryption_key: str | bytes | SecretStr | None = None,
        lock_ttl: float = 10.0,
        timeout: float = 1.0,
    ) -> None:
        if not isinstance(prefix, str):
            raise InvalidArgumentError(f"'prefix' must be a str, not {type(prefix).__name__}")
        self.prefix = prefix
        """What every key starts with."""
        self.lock_ttl = seconds(lock_ttl, "lock_ttl", positive=True)
        self._codec = Codec(encryption_key)
        self._unreadable: dict[str, str] = {}
        """The fingerprint of the value last loaded under each key that could not be
        read (another key sealed it): what replacing "no token" there replaces."""
        self._connection = Connection(
            redis,
            timeout=seconds(timeout, "timeout", positive=True),
            consequence="tokens are not shared: each process obtains its own",
        )

    @property
    def encrypted(self) -> bool:
        """Whether values are sealed with an encryption key."""
        return self._codec.encrypted

    async def load(self, key: str) -> Token | None:
        """The token under ``key``; ``None`` when there is none, it cannot be read, or
        Redis is unavailable."""
        try:
            value = await self._connection.run(lambda redis: redis.get(self._token_key(key)))
        except Unavailable:
            return None
        token = None if value is None else self._codec.decode(value)
        if value is not None and token is None:
            self._unreadable[key] = value[:FINGERPRINT_SIZE].decode("ascii", "replace")
        else:
            self._unreadable.pop(key, None)
        return token

    async def save(self, key: str, token: Token) -> None:
        """Keep ``token`` under ``key`` until it expires; skipped while Redis is
        unavailable."""
        lifetime = _milliseconds(token)
        value = self._codec.encode(token)
        try:
            await self._connection.run(
                lambda redis: redis.set(self._token_key(key), value, px=lifetime or None)
            )
        except Unavailable:
            return

    async def delete(self, key: str) -> None:
        """Forget the token under ``key``; skipped while Redis is unavailable."""
        try:
            await self._connection.run(lambda redis: redis.delete(self._token_key(key)))
        except Unavailable:
            return

    async def acquire(self, key: str) -> str | None:
        """Take the renewal lock of ``key`` for ``lock_ttl`` seconds: a lease, ``None``
        when another process holds it, ``""`` (go on alone) while Redis is
        unavailable."""
        lease = secrets.token_hex(16)
        ttl = math.ceil(self.lock_ttl * 1000)
        try:
            taken = await self._connection.run(
                lambda redis: redis.set(self._lock_key(key), lease, nx=True, px=ttl)
            )
        except Unavailable:
            return ""
        return lease if taken else None

    async def release(self, key: str, lease: str) -> None:
        """Release the lock of ``key`` if ``lease`` still holds it."""
        try:
            await self._connection.run(
                lambda redis: _RELEASE(redis, [self._lock_key(key)], [lease])
            )
        except Unavailable:
            return

    async def compare_and_swap(self, key: str, expected: Token | None, new: Token | None) -> bool:
        """Replace the token under ``key`` with ``new`` (``None`` deletes it) if Redis
        holds ``expected`` (``None``: nothing); whether it did. ``True`` while Redis is
        unavailable: the caller keeps its token for itself. A value :meth:`load` could
        not read counts as nothing, so that a renewal replaces it."""
        if expected is None:
            held = self._unreadable.get(key, "")
        else:
            held = self._codec.fingerprint(expected)
        value = b"" if new is None else self._codec.encode(new)
        lifetime = 0 if new is None else _milliseconds(new)
        try:
            swapped = await self._connection.run(
                lambda redis: _SWAP(redis, [self._token_key(key)], [held, value, lifetime])
            )
        except Unavailable:
            return True
        return bool(swapped)

    async def load_refusal(self, key: str) -> Refusal | None:
        """The refusal under ``key``, or ``None``; ``ConnectionError`` while Redis is
        unavailable (the process then goes by the refusals it got itself)."""
        value = await self._refusal_command(lambda redis: redis.get(self._refusal_key(key)))
        if value is None:
            return None
        try:
            return Refusal.from_dict(json.loads(value))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning(
                "ignored a refusal in Redis that could not be read (%s)", type(exc).__name__
            )
            return None

    async def save_refusal(self, key: str, refusal: Refusal) -> None:
        """Keep ``refusal`` under ``key`` until it expires; ``ConnectionError`` while
        Redis is unavailable."""
        value = json.dumps(refusal.to_dict(), separators=(",", ":"))
        # The record's own span, not the wall clock: its times come from the clock the
        # credentials were given, which need not be time.time.
        lifetime = max(1, math.ceil((refusal.expires_at - refusal.refused_at) * 1000))
        await self._refusal_command(
            lambda redis: redis.set(self._refusal_key(key), value, px=lifetime)
        )

    async def delete_refusal(self, key: str) -> bool:
        """Forget the refusal under ``key``; whether there was one. ``ConnectionError``
        while Redis is unavailable."""
        deleted = await self._refusal_command(lambda redis: redis.delete(self._refusal_key(key)))
        return bool(deleted)

    async def _refusal_command(self, command: Callable[[Redis], Awaitable[_T]]) -> _T:
        # Unlike a token, a refusal is not simply skipped: the caller must know that
        # Redis could not tell, and go by what its process remembers.
        try:
            return await self._connection.run(command)
        except Unavailable:
            raise ConnectionError(f"Redis at {self._connection.address} is unavailable") from None

    def _refusal_key(self, key: str) -> str:
        return f"{self.prefix}refusal:{key}"

    def _token_key(self, key: str) -> str:
        return f"{self.prefix}token:{key}"

    def _lock_key(self, key: str) -> str:
        return f"{self.prefix}lock:{key}"

    def __repr__(self) -> str:
        return (
            f"RedisTokenStore({self._connection.address!r}, prefix={self.prefix!r}, "
            f"encrypted={self.encrypted})"
        )


def _milliseconds(token: Token) -> int:
    """How long Redis keeps ``token``: until it expires (at least 1 ms), or for good
    (``0``) when its expiry is unknown."""
    if token.expires_at is None:
        return 0
    return max(1, math.ceil((token.expires_at - time.time()) * 1000))
