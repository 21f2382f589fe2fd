"""The token bucket: exact spacing on trio's virtual clock, loose bounds on real time,
and the fan-out's ``rate_limit`` option."""

from __future__ import annotations

import itertools
import math
from collections.abc import Awaitable, Callable

import anyio
import httpx
import pytest
import respx
from trio.testing import MockClock

from thingspace_callbacks import (
    AsyncThingSpaceClient,
    FanOut,
    InvalidArgumentError,
    RateLimiter,
    ThingSpaceAuth,
)


def run_on_virtual_clock(test: Callable[[], Awaitable[None]]) -> None:
    """Run ``test`` under trio with a clock that jumps ahead whenever all tasks sleep,
    so timings are exact and the test takes no real time."""
    anyio.run(test, backend="trio", backend_options={"clock": MockClock(autojump_threshold=0)})


def test_burst_then_one_token_per_interval() -> None:
    async def scenario() -> None:
        limiter = RateLimiter(10, burst=3)
        start = anyio.current_time()
        times = []
        for _ in range(8):
            await limiter.acquire()
            times.append(round(anyio.current_time() - start, 6))
        assert times == [0, 0, 0, 0.1, 0.2, 0.3, 0.4, 0.5]

    run_on_virtual_clock(scenario)


def test_tokens_refill_while_idle_up_to_the_burst() -> None:
    async def scenario() -> None:
        limiter = RateLimiter(4, burst=2)
        for _ in range(2):
            await limiter.acquire()
        await anyio.sleep(10)  # long idle: the bucket refills to 2, not to 40
        start = anyio.current_time()
        times = []
        for _ in range(4):
            await limiter.acquire()
            times.append(anyio.current_time() - start)
        assert times == pytest.approx([0, 0, 0.25, 0.5])

    run_on_virtual_clock(scenario)


def test_concurrent_waiters_never_exceed_the_rate() -> None:
    async def scenario() -> None:
        limiter = RateLimiter(50, burst=5)
        times: list[float] = []

        async def take() -> None:
            await limiter.acquire()
            times.append(anyio.current_time())

        async with anyio.create_task_group() as group:
            for _ in range(105):
                group.start_soon(take)
        times.sort()
        # Any window of t seconds holds at most burst + rate * t acquisitions.
        for i, first in enumerate(times):
            for j in range(i, len(times)):
                window = times[j] - first
                assert j - i + 1 <= 5 + 50 * window + 1e-6
        assert times[-1] - times[0] == pytest.approx(100 / 50)

    run_on_virtual_clock(scenario)


def test_a_cancelled_waiter_gives_its_slot_back() -> None:
    async def scenario() -> None:
        limiter = RateLimiter(1)
        await limiter.acquire()
        with anyio.move_on_after(0.1):
            await limiter.acquire()  # would wait until t=1
        start = anyio.current_time()
        await limiter.acquire()
        assert anyio.current_time() - start <= 1.0  # not pushed back to t=2

    run_on_virtual_clock(scenario)


def test_fan_out_rate_limit_spaces_the_calls() -> None:
    async def scenario() -> None:
        started: list[float] = []

        async def call(account: int) -> int:
            started.append(anyio.current_time())
            await anyio.sleep(1)  # long calls: only the rate limits the start times
            return account

        begin = anyio.current_time()
        report = await FanOut(range(10), call, concurrency=10, rate_limit=5).collect()
        assert report.ok
        offsets = [round(t - begin, 6) for t in started]
        assert offsets == [round(0.2 * n, 6) for n in range(10)]

    run_on_virtual_clock(scenario)


def test_one_limiter_shared_by_two_fan_outs() -> None:
    async def scenario() -> None:
        limiter = RateLimiter(10)
        started: list[float] = []

        async def call(account: int) -> int:
            started.append(anyio.current_time())
            return account

        async with anyio.create_task_group() as group:
            for _ in range(2):
                group.start_soon(FanOut(range(5), call, concurrency=5, rate_limit=limiter).collect)
        started.sort()
        gaps = [b - a for a, b in itertools.pairwise(started)]
        assert len(started) == 10
        assert min(gaps) == pytest.approx(0.1)

    run_on_virtual_clock(scenario)


def test_a_limiter_survives_a_new_event_loop() -> None:
    limiter = RateLimiter(20)

    async def twice() -> None:
        await limiter.acquire()
        start = anyio.current_time()
        await limiter.acquire()
        # One interval (50 ms), not the distance between two unrelated clocks.
        assert anyio.current_time() - start < 0.5

    # trio's clock starts at a random offset per run; asyncio's is the host's.
    for _ in range(2):
        run_on_virtual_clock(twice)
    anyio.run(twice, backend="asyncio")


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_real_time_rate_is_held(anyio_backend: str) -> None:
    limiter = RateLimiter(200)
    start = anyio.current_time()
    for _ in range(21):
        await limiter.acquire()
    elapsed = anyio.current_time() - start
    assert elapsed >= 0.1 - 0.005  # 20 intervals of 5 ms
    assert elapsed < 5  # loose: only catches a limiter that stalls


def test_bad_settings_are_refused() -> None:
    for rate in (0, -1, math.inf, math.nan):
        with pytest.raises(InvalidArgumentError, match="rate"):
            RateLimiter(rate)
    with pytest.raises(InvalidArgumentError, match="rate"):
        RateLimiter("10")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="burst"):
        RateLimiter(1, burst=0)
    assert repr(RateLimiter(2.5, burst=4)) == "RateLimiter(rate_limit=2.5, burst=4)"


def test_client_rate_limit_paces_every_request_of_the_client() -> None:
    async def scenario() -> None:
        sent: list[float] = []

        def answer(request: httpx.Request) -> httpx.Response:
            sent.append(anyio.current_time())
            return httpx.Response(200, json=[])

        with respx.mock(base_url="https://thingspace.verizon.com/api") as router:
            router.get(url__regex=r"/loc/v1/callbacks/.*").mock(side_effect=answer)
            async with AsyncThingSpaceClient(
                rate_limit=10, auth=ThingSpaceAuth(access_token="token")
            ) as client:
                patient = client.with_options(max_retries=5)  # a copy shares the limiter
                begin = anyio.current_time()
                async with anyio.create_task_group() as group:
                    for n in range(3):
                        group.start_soon(client.location.list, f"a{n}")
                        group.start_soon(patient.location.list, f"b{n}")
                report = await client.fan_out(["c0", "c1"], client.location.list).collect()
        assert report.ok
        offsets = sorted(round(t - begin, 6) for t in sent)
        assert offsets == [round(0.1 * n, 6) for n in range(8)]

    run_on_virtual_clock(scenario)


def test_client_rate_limit_is_checked_at_construction() -> None:
    with pytest.raises(InvalidArgumentError, match="rate"):
        AsyncThingSpaceClient(rate_limit=-3, auth=ThingSpaceAuth(access_token="token"))
