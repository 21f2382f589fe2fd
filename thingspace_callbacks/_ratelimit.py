"""``RateLimiter``: a token bucket on the event loop's clock (anyio, so asyncio and trio);
and ``Limiter``, what ``rate_limit=`` accepts besides a number."""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import anyio

from ._errors import InvalidArgumentError
from ._exports import publish

__all__ = ["Limiter", "RateLimiter", "as_limiter"]


@runtime_checkable
class Limiter(Protocol):
    """Anything with an ``async acquire()`` that returns when the next call may start:
    a :class:`RateLimiter`, a ``RedisRateLimiter`` shared by many processes, or your
    own. Pass one as ``rate_limit=``."""

    async def acquire(self) -> None:
        """Wait (cancellably) until one more call may start."""
        ...


def as_limiter(rate_limit: float | Limiter | None) -> Limiter | None:
    """What a ``rate_limit=`` argument means: ``None`` (no limit), the limiter given, or
    a :class:`RateLimiter` of that many calls per second."""
    if rate_limit is None or isinstance(rate_limit, Limiter):
        return rate_limit
    return RateLimiter(rate_limit)


class RateLimiter:
    """Let at most ``rate_limit`` calls per second through on average, and ``burst`` at
    once.

    A token bucket holding ``burst`` tokens, refilled at ``rate_limit`` tokens per second;
    :meth:`acquire` takes one token, sleeping until one is available. Over any span of
    ``t`` seconds at most ``burst + rate_limit * t`` acquisitions succeed. Waiters are served
    in the order they arrived.

    One limiter may be shared by any number of tasks, fan-outs and clients (pass it as
    ``rate_limit=``); it can be built outside an event loop, and it uses the running
    loop's clock, so trio's ``MockClock`` drives it in tests.

    :param rate_limit: Tokens per second, > 0 (the ``rate_limit=`` of the client and of
        ``fan_out``).
    :param burst: Bucket size, >= 1 (default 1: calls are spaced ``1 / rate_limit`` apart).
    """

    # The bucket is kept as a "theoretical arrival time" (GCRA): O(1), no lock and no
    # background task; a waiter reserves its slot before sleeping, so waiters never
    # race each other.
    __slots__ = ("_interval", "_tat", "_tolerance", "_waiting", "burst", "rate_limit")

    def __init__(self, rate_limit: float, *, burst: int = 1) -> None:
        if isinstance(rate_limit, bool) or not isinstance(rate_limit, (int, float)):
            raise InvalidArgumentError(
                f"'rate_limit' must be a number, not {type(rate_limit).__name__}"
            )
        if not (rate_limit > 0 and math.isfinite(rate_limit)):
            raise InvalidArgumentError(
                f"'rate_limit' must be a positive number, got {rate_limit!r}"
            )
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            raise InvalidArgumentError(f"'burst' must be an integer >= 1, got {burst!r}")
        self.rate_limit = float(rate_limit)
        """Tokens added per second."""
        self.burst = burst
        """How many tokens the bucket holds."""
        self._interval = 1.0 / self.rate_limit
        self._tolerance = (burst - 1) * self._interval
        self._tat = -math.inf
        self._waiting = 0

    async def acquire(self) -> None:
        """Take one token, waiting (cancellably) until one is available.

        When a token is available it returns without yielding to the event loop.
        """
        now = anyio.current_time()
        tat = self._tat
        if self._waiting == 0:
            # Nobody holds a reservation, so the bucket cannot legitimately be owed more
            # than one interval. Clamping returns the slots of cancelled waiters and
            # forgets a clock from an earlier event loop (trio's clock has a random
            # offset per run).
            tat = min(tat, now + self._tolerance + self._interval)
        if tat < now:
            tat = now
        wake = tat - self._tolerance
        self._tat = tat + self._interval
        if wake <= now:
            return
        self._waiting += 1
        try:
            await anyio.sleep_until(wake)
        finally:
            self._waiting -= 1

    def __repr__(self) -> str:
        return f"RateLimiter(rate_limit={self.rate_limit:g}, burst={self.burst})"


publish(globals())  # exported classes report the package as their module
