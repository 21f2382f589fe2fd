"""Retries, timeouts, cancellation and bad answers across a real socket (uvicorn)."""

from __future__ import annotations

import asyncio
import time

import anyio
import httpx
import pytest
import trio

from thingspace_callbacks import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    AsyncThingSpaceClient,
    BadRequestError,
    InternalServerError,
)

from ._pool import checked_out
from ._server import FaultServer, Reply, Reset
from .conftest import FAST_BACKOFF

pytestmark = pytest.mark.integration

ACCOUNT = "0252012345-00001"
HOOK = "https://example.com/hooks/location"
REGISTERED = {"accountName": ACCOUNT, "serviceName": "Location"}


async def warm_up(client: AsyncThingSpaceClient, server: FaultServer) -> None:
    """One quick call first, so a timing-sensitive test does not also time the
    transport's first use (imports, connection set-up)."""
    server.plan(Reply(200, []))
    await client.location.list(ACCOUNT)
    server.reset()


async def wait_until_seen(server: FaultServer, count: int) -> None:
    # The server runs in another thread: polling is the simple cross-thread wait.
    with anyio.fail_after(5):
        while len(server.seen) < count:  # noqa: ASYNC110
            await anyio.sleep(0.01)


async def test_503_503_200_succeeds_on_the_third_attempt(
    each_transport_client: AsyncThingSpaceClient, fault_server: FaultServer
) -> None:
    fault_server.plan(Reply(503), Reply(503), Reply(200, []))
    assert await each_transport_client.location.list(ACCOUNT) == []
    assert len(fault_server.seen) == 3
    assert {seen.headers["authorization"] for seen in fault_server.seen} == {"Bearer it-access"}


async def test_429_retry_after_is_waited_out(
    live_client: AsyncThingSpaceClient, fault_server: FaultServer
) -> None:
    fault_server.plan(Reply(429, headers={"Retry-After": "1"}), Reply(200, []))
    assert await live_client.location.list(ACCOUNT) == []
    first, second = fault_server.seen
    assert 0.95 <= second.at - first.at < 10


async def test_400_is_sent_once(
    live_client: AsyncThingSpaceClient, fault_server: FaultServer
) -> None:
    fault_server.plan(
        Reply(400, {"errorCode": "INVALID_PARAMETER", "errorMessage": "bad account"}),
        Reply(200, []),
    )
    with pytest.raises(BadRequestError) as caught:
        await live_client.location.list(ACCOUNT)
    assert len(fault_server.seen) == 1
    assert caught.value.attempts == 1
    assert caught.value.error_code == "INVALID_PARAMETER"


async def test_reset_in_the_middle_of_a_response_is_retried(
    each_transport_client: AsyncThingSpaceClient, fault_server: FaultServer
) -> None:
    fault_server.plan(Reset(), Reply(200, REGISTERED))
    registration = await each_transport_client.location.register(
        ACCOUNT, service="Location", url=HOOK
    )
    assert registration.account_id == ACCOUNT
    assert [seen.method for seen in fault_server.seen] == ["POST", "POST"]
    assert fault_server.seen[0].body == fault_server.seen[1].body


async def test_resets_on_every_attempt_raise_a_connection_error(
    each_transport_client: AsyncThingSpaceClient, fault_server: FaultServer
) -> None:
    fault_server.plan(Reset(), Reset(), Reset())
    with pytest.raises(APIConnectionError) as caught:
        await each_transport_client.location.list(ACCOUNT)
    assert not isinstance(caught.value, APITimeoutError)
    assert caught.value.attempts == 3
    assert "after 3 attempts" in str(caught.value)
    assert len(fault_server.seen) == 3
    assert checked_out(each_transport_client) == 0


async def test_answer_slower_than_the_read_timeout(
    each_transport_client: AsyncThingSpaceClient, fault_server: FaultServer
) -> None:
    fault_server.plan(Reply(200, [], delay=1.5))
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as caught:
        await each_transport_client.location.list(
            ACCOUNT, timeout=httpx.Timeout(5.0, read=0.2), max_retries=0
        )
    assert time.monotonic() - started < 1.2
    assert caught.value.attempts == 1
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert checked_out(each_transport_client) == 0


async def test_timed_out_attempt_is_retried(
    each_transport_client: AsyncThingSpaceClient, fault_server: FaultServer
) -> None:
    fault_server.plan(Reply(200, [], delay=1.5), Reply(200, []))
    assert (
        await each_transport_client.location.list(ACCOUNT, timeout=httpx.Timeout(5.0, read=0.2))
        == []
    )
    assert len(fault_server.seen) == 2


async def test_deadline_covers_every_attempt(
    each_transport_client: AsyncThingSpaceClient, fault_server: FaultServer
) -> None:
    await warm_up(each_transport_client, fault_server)
    # The first 503 arrives at 1 s, 0.9 s before the deadline (room for a loaded
    # machine to send the retry); the second cannot arrive before 2 s, past it.
    fault_server.plan(*[Reply(503, delay=1.0)] * 3)
    started = time.monotonic()
    with pytest.raises(APITimeoutError, match="deadline") as caught:
        await each_transport_client.location.list(ACCOUNT, deadline=1.9)
    assert time.monotonic() - started < 2.9  # not the three attempts' 3 s
    assert caught.value.attempts == len(fault_server.seen) == 2
    assert checked_out(each_transport_client) == 0


BIG_PAGE = "<!DOCTYPE html><html><body>" + "<p>Service maintenance</p>" * 600 + "</body></html>"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "application/json"),
        ("OK", "text/plain"),
        ('{"accountName": "0252012345-00001", "servi', "application/json"),
        (BIG_PAGE, "text/html"),
        ([1, 2, 3], "application/json"),
        ({"accountName": ["not", "a", "string"]}, "application/json"),
    ],
    ids=["empty", "not-json", "truncated-json", "html-page", "wrong-shape", "wrong-field"],
)
async def test_bad_2xx_bodies_raise_response_validation_errors(
    body: object,
    content_type: str,
    live_client: AsyncThingSpaceClient,
    fault_server: FaultServer,
) -> None:
    fault_server.plan(
        Reply(200, body, headers={"X-Request-Id": "req-7"}, content_type=content_type)
    )
    with pytest.raises(APIResponseValidationError) as caught:
        await live_client.location.register(ACCOUNT, service="Location", url=HOOK)
    exc = caught.value
    assert exc.status_code == 200
    assert exc.headers["content-type"].startswith(content_type)
    assert exc.headers["x-request-id"] == "req-7"
    sent = fault_server.seen[0]
    assert isinstance(exc.body, str)
    assert len(exc.body) <= 4096
    if isinstance(body, str):
        assert exc.body == body[:4096]
    assert len(fault_server.seen) == 1  # an answer, even a broken one, is not retried
    assert sent.method == "POST"


async def test_list_of_the_wrong_shape(
    live_client: AsyncThingSpaceClient, fault_server: FaultServer
) -> None:
    fault_server.plan(Reply(200, {"callbacks": []}))
    with pytest.raises(APIResponseValidationError, match="not a valid"):
        await live_client.location.list(ACCOUNT)


async def test_error_status_with_a_non_json_body_keeps_the_text(
    live_client: AsyncThingSpaceClient, fault_server: FaultServer
) -> None:
    page = "<html><h1>502 Bad Gateway</h1></html>"
    fault_server.plan(Reply(502, page, content_type="text/html"))
    with pytest.raises(InternalServerError) as caught:
        await live_client.location.list(ACCOUNT, max_retries=0)
    exc = caught.value
    assert exc.status_code == 502
    assert exc.body == page
    assert page in str(exc)
    assert exc.headers["content-type"] == "text/html"


async def test_cancelling_during_backoff_returns_at_once(
    each_transport_client: AsyncThingSpaceClient, fault_server: FaultServer
) -> None:
    await warm_up(each_transport_client, fault_server)
    fault_server.plan(Reply(503, headers={"Retry-After": "30"}))
    started = time.monotonic()
    with anyio.move_on_after(0.5) as scope:
        await each_transport_client.location.list(ACCOUNT)
    assert scope.cancelled_caught
    assert time.monotonic() - started < 5
    assert len(fault_server.seen) == 1
    assert checked_out(each_transport_client) == 0
    # The pool is healthy afterwards.
    fault_server.plan(Reply(200, []))
    assert await each_transport_client.location.list(ACCOUNT) == []


async def test_task_cancellation_during_backoff(
    each_transport_client: AsyncThingSpaceClient, fault_server: FaultServer
) -> None:
    fault_server.plan(Reply(503, headers={"Retry-After": "30"}))
    task = asyncio.ensure_future(each_transport_client.location.list(ACCOUNT))
    await wait_until_seen(fault_server, 1)
    # The 503 read, its connection is back in the pool: the task is in the 30 s wait.
    with anyio.fail_after(5):
        while checked_out(each_transport_client):  # noqa: ASYNC110 (the pool has no event)
            await anyio.sleep(0.01)
    await anyio.wait_all_tasks_blocked()
    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 2
    assert checked_out(each_transport_client) == 0


async def test_cancelling_a_request_in_flight_frees_its_connection(
    each_transport_client: AsyncThingSpaceClient, fault_server: FaultServer
) -> None:
    fault_server.plan(Reply(200, [], delay=3))
    async with anyio.create_task_group() as tg:

        async def call() -> None:
            await each_transport_client.location.list(ACCOUNT)

        tg.start_soon(call)
        await wait_until_seen(fault_server, 1)
        assert checked_out(each_transport_client) == 1  # the probe sees a request in flight
        tg.cancel_scope.cancel()
    assert checked_out(each_transport_client) == 0


def test_retries_and_cancellation_under_trio(fault_server: FaultServer) -> None:
    async def main() -> None:
        async with AsyncThingSpaceClient(
            base_url=fault_server.url, retry_policy=FAST_BACKOFF
        ) as client:
            fault_server.plan(Reply(503), Reset(), Reply(200, []))
            assert await client.location.list(ACCOUNT) == []
            assert len(fault_server.seen) == 3

            fault_server.plan(Reply(503, headers={"Retry-After": "30"}))
            started = time.monotonic()
            with trio.move_on_after(0.3) as scope:
                await client.location.list(ACCOUNT)
            assert scope.cancelled_caught
            assert time.monotonic() - started < 5
            assert checked_out(client) == 0

            fault_server.plan(Reply(200, [], delay=2))
            with pytest.raises(APITimeoutError, match="deadline"):
                await client.location.list(ACCOUNT, deadline=0.2)

    trio.run(main)
