"""Many processes sharing a RedisTokenStore act as one client: one token request and one
login from cold, none for a process started later, one renewal after a revocation, a
dead lock holder replaced, and each process on its own (then sharing again) across a
Redis outage. Real processes, a real ``redis-server``, the sandbox on a socket."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager

import pytest
import redis

from thingspace_callbacks.sandbox import Faults

from ._fleet import CREDENTIALS, Fleet, wait_until, warnings_in
from .conftest import RedisServer, SandboxOnSocket

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(30)]

OUTAGE = "is unavailable"


def _all_ok(results: list[dict[str, object]], calls: int) -> None:
    assert [r["ok"] for r in results] == [calls] * len(results), results


def test_a_fleet_obtains_and_renews_as_one_client(
    sandbox: SandboxOnSocket, redis_server: RedisServer
) -> None:
    with Fleet(sandbox.base_url, redis_server.url) as fleet:
        fleet.start(6)
        _all_ok(fleet.calls(20), 20)
        assert (sandbox.calls("token"), sandbox.calls("login")) == (1, 1)
        # A process started later finds both in Redis.
        late = fleet.start(1)
        _all_ok(fleet.calls(5, late), 5)
        assert (sandbox.calls("token"), sandbox.calls("login")) == (1, 1)
        # A revoked token costs four processes one token request; an ended session,
        # one login.
        four = fleet.workers[3:]
        sandbox.sandbox.expire_tokens()
        _all_ok(fleet.calls(10, four), 10)
        assert (sandbox.calls("token"), sandbox.calls("login")) == (2, 1)
        sandbox.sandbox.expire_sessions()
        _all_ok(fleet.calls(10, four), 10)
        assert (sandbox.calls("token"), sandbox.calls("login")) == (2, 2)
        # Each call of the two renewal rounds was refused once, then replayed.
        assert sandbox.calls("location.list") == 6 * 20 + 5 + 2 * (4 * 10) * 2
    # Closing the clients logged nothing out: the session is shared.
    assert sandbox.calls("logout") == 0


def test_a_killed_lock_holder_is_replaced_once_its_lock_lapses(
    sandbox: SandboxOnSocket, redis_server: RedisServer
) -> None:
    lock_ttl = 2.0
    with Fleet(sandbox.base_url, redis_server.url, store={"lock_ttl": lock_ttl}) as fleet:
        holder, successor = fleet.start(2)
        # The token endpoint hangs: the holder takes the lock and waits for its answer.
        sandbox.sandbox.faults = Faults(latency=60, include_auth=True)
        holder.send("calls 1")
        lock = f"thingspace:lock:access_token:{sandbox.base_url}:{CREDENTIALS['client_id']}"
        with redis.Redis(host="127.0.0.1", port=redis_server.port) as keys:
            wait_until(lambda: keys.exists(lock), 10, "the lock")
            holder.kill()
            left = int(keys.pttl(lock)) / 1000
        sandbox.sandbox.faults = Faults()
        started = time.monotonic()
        _all_ok(fleet.calls(3, [successor]), 3)
        waited = time.monotonic() - started
    # The successor waited for the dead holder's lock to lapse, not longer.
    assert left - 0.2 <= waited < lock_ttl + 2.0, (left, waited)
    assert sandbox.calls("login") == 1


def test_the_fleet_goes_on_alone_while_redis_is_down_then_shares_again(
    sandbox: SandboxOnSocket,
    redis_server: RedisServer,
    redis_outage: Callable[[], AbstractContextManager[None]],
) -> None:
    with Fleet(sandbox.base_url, redis_server.url) as fleet:
        fleet.start(3)
        _all_ok(fleet.calls(5), 5)
        assert (sandbox.calls("token"), sandbox.calls("login")) == (1, 1)
        with redis_outage():
            sandbox.sandbox.expire_tokens()
            sandbox.sandbox.expire_sessions()
            _all_ok(fleet.calls(10), 10)
            _all_ok(fleet.calls(10), 10)
            # Each process renewed on its own.
            assert (sandbox.calls("token"), sandbox.calls("login")) == (4, 4)
        time.sleep(1.1)  # the workers try Redis again once a second
        sandbox.sandbox.expire_tokens()
        sandbox.sandbox.expire_sessions()
        _all_ok(fleet.calls(10), 10)
        # Shared again: one more token request and one more login for all three.
        assert (sandbox.calls("token"), sandbox.calls("login")) == (5, 5)
        late = fleet.start(1)
        _all_ok(fleet.calls(3, late), 3)
        assert (sandbox.calls("token"), sandbox.calls("login")) == (5, 5)
    for worker in fleet.workers[:3]:
        # One warning for the whole outage, however many calls it spanned.
        assert warnings_in(worker.log, OUTAGE) == 1, worker.log
        assert "answers again" in worker.log
