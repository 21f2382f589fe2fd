"""RedisRateLimiter in one process: the budget, cancelled waiters, an unavailable
Redis, and every place that takes a ``rate_limit``."""

from __future__ import annotations

import logging
import time

import anyio
import pytest

from thingspace_callbacks import InvalidArgumentError, RateLimiter
from thingspace_callbacks.redis import RedisRateLimiter
from thingspace_callbacks.sandbox import Sandbox

from .conftest import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(20)]


async def _take(limiter: RedisRateLimiter | RateLimiter, count: int) -> float:
    """Seconds ``count`` acquisitions take."""
    started = time.monotonic()
    for _ in range(count):
        await limiter.acquire()
    return time.monotonic() - started


async def test_limiters_with_one_key_share_one_budget(redis_server: RedisServer) -> None:
    async with (
        RedisRateLimiter(redis_server.url, 50, burst=5, key="k") as first,
        RedisRateLimiter(redis_server.url, 50, burst=5, key="k") as second,
        RedisRateLimiter(redis_server.url, 50, burst=5, key="other") as apart,
    ):
        # The burst at once, then one every 1/50 s, whoever asks.
        assert await _take(first, 5) < 0.05
        elapsed = await _take(second, 10)
        assert 10 / 50 - 0.02 <= elapsed < 10 / 50 + 0.15
        assert await _take(apart, 5) < 0.05


async def test_cancelled_waiters_take_no_slot(redis_server: RedisServer) -> None:
    async with RedisRateLimiter(redis_server.url, 10, key="cancel") as limiter:
        await limiter.acquire()
        with anyio.move_on_after(0.25):
            async with anyio.create_task_group() as tg:
                for _ in range(20):
                    tg.start_soon(limiter.acquire)
        # Two of the twenty went through in 0.25 s; the eighteen cancelled left
        # nothing booked, so the next one waits one interval at most.
        assert await _take(limiter, 1) <= 0.1 + 0.05


async def test_while_redis_is_down_each_process_paces_itself(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    redis_server.stop()
    with caplog.at_level(logging.INFO, logger="thingspace_callbacks.redis"):
        async with RedisRateLimiter(redis_server.url, 20, key="down") as limiter:
            # Never unlimited: the local fallback keeps the same rate.
            assert await _take(limiter, 11) >= 10 / 20 - 0.02
            redis_server.start()
            await anyio.sleep(1.05)
            await limiter.acquire()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "is unavailable (ConnectionError)" in warnings[0]
    assert (
        "each process keeps rate limit 'down' with RateLimiter(rate_limit=20, burst=1)"
        in warnings[0]
    )
    assert any("answers again" in r.getMessage() for r in caplog.records)


async def test_a_fallback_of_ones_own_paces_calls_while_redis_is_down(
    redis_server: RedisServer,
) -> None:
    redis_server.stop()
    fallback = RateLimiter(10)
    async with RedisRateLimiter(redis_server.url, 30, fallback=fallback) as limiter:
        assert await _take(limiter, 4) >= 3 / 10 - 0.02


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="'rate_limit'"):
        RedisRateLimiter("redis://localhost", 0)
    with pytest.raises(InvalidArgumentError, match="'burst'"):
        RedisRateLimiter("redis://localhost", 1, burst=0)
    with pytest.raises(InvalidArgumentError, match="'key'"):
        RedisRateLimiter("redis://localhost", 1, key="")
    with pytest.raises(InvalidArgumentError, match="fallback"):
        RedisRateLimiter("redis://localhost", 1, fallback=5)  # type: ignore[arg-type]
    limiter = RedisRateLimiter("redis://:pa55word@localhost:6380/2", 2.5, burst=3, key="k")
    assert repr(limiter) == "RedisRateLimiter('localhost:6380/2', rate_limit=2.5, burst=3, key='k')"


async def test_clients_and_fan_outs_take_it_as_their_rate_limit(redis_server: RedisServer) -> None:
    sandbox = Sandbox()
    accounts = [f"02520123{n:02}-00001" for n in range(6)]
    async with RedisRateLimiter(redis_server.url, 20, key="fan-out") as limiter:
        async with sandbox.client(rate_limit=limiter) as client:
            await client.location.list(accounts[0])  # tokens first, unpaced
            started = time.monotonic()
            report = await client.fan_out(accounts, client.location.list).collect()
            assert report.ok
            assert time.monotonic() - started >= 5 / 20 - 0.02
        async with sandbox.client() as client:
            started = time.monotonic()
            report = await client.fan_out(
                accounts, client.location.list, rate_limit=limiter
            ).collect()
            assert report.ok
            assert time.monotonic() - started >= 5 / 20 - 0.02
            patient = client.with_options(rate_limit=limiter)
            assert await patient.location.list(accounts[0]) == []
