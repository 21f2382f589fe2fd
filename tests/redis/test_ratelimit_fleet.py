"""Processes sharing a RedisRateLimiter stay within one budget, measured where the calls
arrive; while Redis is down each paces itself locally, and they share again after."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest

from ._fleet import Fleet, warnings_in
from .conftest import RedisServer, SandboxOnSocket

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(30)]

RATE = 20.0
BURST = 4
JITTER = 0.1
"""Seconds by which the network and the schedulers may shift an arrival: the limiter
lets calls go on Redis's clock, the sandbox sees them a little later."""


def _excess(arrivals: list[float], rate: float, burst: int) -> float:
    """How far the busiest window of ``arrivals`` goes over ``burst + rate * t`` (with
    :data:`JITTER` of slack on ``t``); at most 0 when the limit held everywhere."""
    times = sorted(arrivals)
    worst = -float(burst)
    for i, start in enumerate(times):
        for j in range(i, len(times)):
            allowed = burst + rate * (times[j] - start + JITTER)
            worst = max(worst, (j - i + 1) - allowed)
    return worst


def _fleet(sandbox: SandboxOnSocket, redis_server: RedisServer, key: str) -> Fleet:
    return Fleet(sandbox.base_url, redis_server.url, rate=RATE, burst=BURST, key=key)


def test_three_processes_share_one_budget(
    sandbox: SandboxOnSocket, redis_server: RedisServer
) -> None:
    with _fleet(sandbox, redis_server, "shared") as fleet:
        fleet.start(3)
        started = time.monotonic()
        results = fleet.calls(20)
        arrivals = sandbox.arrivals.since(started)
    assert [r["ok"] for r in results] == [20, 20, 20]
    # One budget, not three: 60 calls take (60 - burst) / rate seconds.
    _shared(arrivals, 60)


def test_each_process_paces_itself_while_redis_is_down(
    sandbox: SandboxOnSocket,
    redis_server: RedisServer,
    redis_outage: Callable[[], AbstractContextManager[None]],
) -> None:
    with _fleet(sandbox, redis_server, "restarted") as fleet:
        fleet.start(3)
        before = time.monotonic()
        assert [r["ok"] for r in fleet.calls(10)] == [10, 10, 10]
        with redis_outage():
            during = time.monotonic()
            assert [r["ok"] for r in fleet.calls(10)] == [10, 10, 10]
            after_outage = time.monotonic()
            time.sleep(1.1)  # the workers try Redis again once a second
        after = time.monotonic()
        assert [r["ok"] for r in fleet.calls(10)] == [10, 10, 10]
    arrivals = sandbox.arrivals
    _shared(arrivals.between(before, during), 30)
    # Alone, each process keeps the whole rate: three times the budget, never unlimited.
    alone = arrivals.between(during, after_outage)
    assert _excess(alone, 3 * RATE, 3 * BURST) <= 0
    assert max(alone) - min(alone) >= (10 - BURST) / RATE - JITTER
    _shared(arrivals.between(after, time.monotonic()), 30)
    for worker in fleet.workers:
        assert warnings_in(worker.log, "rate limit 'restarted'") == 1, worker.log


def _shared(arrivals: list[float], count: int) -> None:
    """``count`` calls within one budget, taking as long as it makes them."""
    assert len(arrivals) == count
    assert _excess(arrivals, RATE, BURST) <= 0
    assert max(arrivals) - min(arrivals) >= (count - BURST) / RATE - JITTER
