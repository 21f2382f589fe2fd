"""Replicas of ``thingspace-callbacks listen --dedupe`` (real subprocesses) on one Redis
handle each message once: under concurrent copies, after a failing handler, after a
replica died holding the claim, and across a Redis outage."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import anyio
import httpx
import pytest

from ..receiver import _messages as msg
from ._replicas import Handling, Replica, Replicas
from .conftest import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]

Outage = Callable[[], contextlib.AbstractContextManager[None]]


async def _post(replica: Replica, attempt: int = 1) -> httpx.Response:
    async with httpx.AsyncClient(base_url=replica.url, timeout=10) as http:
        return await http.post("/CarrierService", json=msg.m2m(callbackCount=attempt))


def _answer(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["status"]


async def _copies_at_once(replicas: list[Replica], copies: int) -> list[httpx.Response]:
    """``copies`` POSTs of one message to each replica, all in flight together."""
    answers: list[httpx.Response] = []
    body = msg.encode(msg.m2m())

    async def post(http: httpx.AsyncClient) -> None:
        answers.append(await http.post("/CarrierService", content=body))

    clients = [
        httpx.AsyncClient(
            base_url=replica.url, limits=httpx.Limits(max_connections=copies), timeout=10
        )
        for replica in replicas
    ]
    async with contextlib.AsyncExitStack() as stack, anyio.create_task_group() as tg:
        for http in clients:
            await stack.enter_async_context(http)
            for _ in range(copies):
                tg.start_soon(post, http)
    return answers


async def _resend_until(
    replica: Replica, passes: Callable[[httpx.Response], bool], within: float
) -> tuple[httpx.Response, list[int]]:
    """Re-send (as ThingSpace would, faster) until an answer ``passes``; that answer,
    and the status of every answer before it."""
    refused: list[int] = []
    with anyio.fail_after(within):
        while not passes(answer := await _post(replica, attempt=len(refused) + 2)):
            refused.append(answer.status_code)
            await anyio.sleep(0.1)
    return answer, refused


@pytest.fixture
def handling(tmp_path: Path) -> Handling:
    return Handling(tmp_path)


async def test_two_replicas_given_40_concurrent_copies_run_the_handler_once(
    redis_server: RedisServer, handling: Handling
) -> None:
    with Replicas(handling, redis_server.url) as replicas:
        # The handler takes a while, so every copy arrives while the first is handled.
        pair = replicas.start(0.5, 0.5)
        with anyio.fail_after(15):
            answers = await _copies_at_once(pair, 20)
        later = [await _post(replica, attempt=2) for replica in pair]

    assert [event for event, _ in handling.events()] == ["start", "done"]
    statuses = Counter(map(_answer, answers))
    assert sum(statuses.values()) == 40
    assert statuses[200, "accepted"] == 1
    assert statuses[409, "busy"] >= 1  # the other replica's copies met the claim
    assert set(statuses) <= {(200, "accepted"), (200, "duplicate"), (409, "busy")}
    assert list(map(_answer, later)) == [(200, "duplicate")] * 2


async def test_a_failing_handler_releases_the_claim_for_the_resend(
    redis_server: RedisServer, handling: Handling
) -> None:
    with Replicas(handling, redis_server.url) as replicas:
        first, second = replicas.start(0, 0)
        handling.fail.touch()
        failed = await _post(first)
        handling.fail.unlink()
        resent = await _post(second, attempt=2)
        again = [await _post(replica, attempt=3) for replica in (first, second)]

    assert _answer(failed) == (500, "failed")
    assert _answer(resent) == (200, "accepted")
    assert list(map(_answer, again)) == [(200, "duplicate")] * 2
    assert handling.events() == [
        ("start", first.process.pid),
        ("start", second.process.pid),
        ("done", second.process.pid),
    ]


async def test_a_replica_killed_holding_the_claim_holds_it_for_claim_ttl_only(
    redis_server: RedisServer, handling: Handling
) -> None:
    claim_ttl = 2.0
    with Replicas(handling, redis_server.url, claim_ttl=claim_ttl) as replicas:
        dying, survivor = replicas.start(30, 0)
        async with anyio.create_task_group() as tg:

            async def post_to_the_dying_one() -> None:
                with pytest.raises(httpx.TransportError):
                    await _post(dying)

            tg.start_soon(post_to_the_dying_one)
            with anyio.fail_after(10):
                # The handler runs in another process: its file is all there is to watch.
                while not handling.starts():  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            claimed = time.monotonic()
            dying.kill()

        busy = await _post(survivor, attempt=2)
        handled, refused = await _resend_until(
            survivor, lambda answer: answer.status_code != 409, within=claim_ttl + 5
        )
        lapsed_after = time.monotonic() - claimed

    assert _answer(busy) == (409, "busy")
    assert _answer(handled) == (200, "accepted")
    assert set(refused) == {409}
    assert claim_ttl - 0.5 < lapsed_after < claim_ttl + 2
    assert handling.events() == [
        ("start", dying.process.pid),
        ("start", survivor.process.pid),
        ("done", survivor.process.pid),
    ]


async def test_redis_down_is_503_with_retry_after_and_the_resend_runs_once_it_is_back(
    redis_server: RedisServer, redis_outage: Outage, handling: Handling
) -> None:
    with Replicas(handling, redis_server.url) as replicas:
        first, second = replicas.start(0, 0)
        with redis_outage():
            down = [await _post(replica) for replica in (first, second)]
        handled, refused = await _resend_until(
            first, lambda answer: answer.status_code != 503, within=10
        )
        duplicate, _ = await _resend_until(
            second, lambda answer: answer.status_code != 503, within=5
        )

    assert list(map(_answer, down)) == [(503, "unavailable")] * 2
    assert [answer.headers["retry-after"] for answer in down] == ["30"] * 2
    assert set(refused) <= {503}  # Redis is tried again at most once a second
    assert _answer(handled) == (200, "accepted")
    assert _answer(duplicate) == (200, "duplicate")
    assert handling.events() == [("start", first.process.pid), ("done", first.process.pid)]
    # One warning for the outage in each replica, not one per message.
    assert [_outage_warnings(replica) for replica in (first, second)] == [1, 1]


def _outage_warnings(replica: Replica) -> int:
    lines = replica.log.splitlines()
    return sum("is unavailable" in line and "answered 503" in line for line in lines)
