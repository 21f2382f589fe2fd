"""``RedisRateLimiter``: one rate limit for every process that uses the same Redis key."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from .._checks import seconds, text
from .._errors import InvalidArgumentError
from .._ratelimit import Limiter, RateLimiter
from ._connection import ClosingResource, Connection, Script, Unavailable

if TYPE_CHECKING:
    pass

__all__ = ["RedisRateLimiter"]

_GCRA = Script("""
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return wait end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
return 0
""")
"""GCRA, on Redis's clock, in microseconds. KEYS[1]: the theoretical arrival time of
the next call. ARGV[1]: the interval between calls; ARGV[2]: how far ahead of it a call
may go (``(burst - 1) * interval``). Takes a slot and returns 0, or returns how long to
wait before one is free without taking anything."""


class RedisRateLimiter(ClosingResource):
    """Let at most ``rate_limit`` calls per second through, and ``burst`` at once, across every
    process that uses the same Redis, ``prefix`` and ``key``. Pass it wherever a
    :class:`RateLimiter` goes: ``AsyncThingSpaceClient(rate_limit=...)``,
    ``client.fan_out(..., rate_limit=...)``::

        limiter = RedisRateLimiter("redis://localhost:6379/0", 20, burst=5)
        client = AsyncThingSpaceClient(..., rate_limit=limiter)

    The bucket is a GCRA in one Lua script, on Redis's clock (``TIME``), so the
    processes' clocks do not matter: over any span of ``t`` seconds at most
    ``burst + rate_limit * t`` acquisitions succeed in all. A call takes a slot only when one
    is free; otherwise it sleeps as long as Redis says and asks again, so a cancelled
    waiter never holds a slot. Within a process one waiter at a time asks Redis, in
    arrival order. Every process using a key must give it the same ``rate_limit`` and
    ``burst``.

    **When Redis does not answer** within ``timeout`` seconds or fails, one warning is
    logged and each process paces itself with ``fallback``: by default a local
    :class:`RateLimiter` of the same ``rate_limit`` and ``burst``, so ``N`` processes may
    send up to ``N`` times the rate until Redis is back (pass ``RateLimiter(rate_limit / N)``
    to stay within the budget). Calls are never let through unlimited, and never fail
    because Redis is down. Redis is tried again at most once a second.

    It needs asyncio (``redis.asyncio``). Given a URL, the limiter makes its own clients
    (one per event loop) and :meth:`aclose` closes them; a ``redis.asyncio.Redis``
    given to it is used as is and left open.

    :param redis: A ``redis.asyncio.Redis``, or a ``redis://``, ``rediss://`` or
        ``unix://`` URL.
    :param rate_limit: Calls per second, > 0.
    :param burst: Calls let through at once, >= 1.
    :param key: Names the budget: limiters with the same key share it.
    :param prefix: Put before the Redis key (``{prefix}ratelimit:{key}``).
    :param fallback: The limiter used while Redis is unavailable.
    :param timeout: Seconds a Redis command may take before Redis counts as down.
    """

    def __init__(
        self,
        redis: Redis | str,
        rate_limit: float,
        *,
        burst: int = 1,
        key: str = "default",
        prefix: str = "thingspace:",
        fallback: Limiter | None = None,
        timeout: float = 1.0,
    ) -> None:
        local = RateLimiter(rate_limit, burst=burst)  # checks rate_limit and burst
        self.rate_limit = local.rate_limit
        """Calls per second."""
        self.burst = local.burst
        """Calls let through at once."""
        self.key = text(key, "key")
        """The budget's name."""
        if not isinstance(prefix, str):
            raise InvalidArgumentError(f"'prefix' must be a str, not {type(prefix).__name__}")
        self._redis_key = f"{prefix}ratelimit:{key}"
        if fallback is not None and not isinstance(fallback, Limiter):
            raise InvalidArgumentError("'fallback' must have an async acquire() method")
        self._fallback: Limiter = local if fallback is None else fallback
        self._interval = max(1, round(1_000_000 / self.rate_limit))
        self._tolerance = (self.burst - 1) * self._interval
        self._turn = anyio.Lock()
        self._connection = Connection(
            redis,
            timeout=seconds(timeout, "timeout", positive=True),
            consequence=f"each process keeps rate limit {self.key!r} with {self._fallback!r}",
        )

    async def acquire(self) -> None:
        """Take one slot of the shared budget, waiting (cancellably) until one is free;
        or one of ``fallback`` while Redis is unavailable."""
        async with self._turn:
            while True:
                try:
                    wait = await self._connection.run(self._take)
                except Unavailable:
                    break
                if wait <= 0:
                    return
                await anyio.sleep(wait / 1_000_000)
        await self._fallback.acquire()

    async def _take(self, redis: Redis) -> int:
        """0 when a slot was taken, else microseconds until one is free."""
        wait = await _GCRA(redis, [self._redis_key], [self._interval, self._tolerance])
        if not isinstance(wait, int):
            # Counted as Redis failing: the fallback paces the call, never nothing.
            raise ResponseError(f"the rate limit script answered {type(wait).__name__}")
        return wait

    def __repr__(self) -> str:
        return (
            f"RedisRateLimiter({self._connection.address!r}, rate_limit={self.rate_limit:g}, "
            f"burst={self.burst}, key={self.key!r})"
        )
