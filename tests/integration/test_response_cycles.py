"""Answers the SDK has read are freed as soon as nothing refers to them: httpx links a
response and its stream both ways, and a fan-out of thousands of requests would
otherwise leave all of them to the cycle collector, whose passes over them cost a
visible share of its CPU time (``benchmarks/bench_fanout.py``)."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from thingspace_callbacks import AsyncThingSpaceClient, ThingSpaceAuth

from ._server import FaultServer, Reply

ACCOUNT = "0252012345-00001"
HOOK = "https://listener.example.com/hooks/location"
REGISTERED = {"accountName": ACCOUNT, "serviceName": "Location"}


@contextlib.contextmanager
def cycles_kept() -> Iterator[list[object]]:
    """What the cycle collector finds unreachable within the block (kept, not freed)."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


@pytest.fixture(params=["fast", "default", "httpx"])
async def client(
    request: pytest.FixtureRequest, fault_server: FaultServer
) -> AsyncIterator[AsyncThingSpaceClient]:
    """A client on aiohttp (``speedups=True``), on its own default transport, and on an
    ``httpx.AsyncClient`` passed in."""
    async with contextlib.AsyncExitStack() as stack:
        http_client = None
        if request.param == "httpx":
            http_client = await stack.enter_async_context(httpx.AsyncClient())
        client = await stack.enter_async_context(
            AsyncThingSpaceClient(
                base_url=fault_server.url,
                speedups=request.param == "fast",
                http_client=http_client,
                auth=ThingSpaceAuth(access_token="it-access"),
            )
        )
        yield client


@pytest.mark.integration
async def test_a_read_answer_leaves_no_cycle_behind(
    client: AsyncThingSpaceClient, fault_server: FaultServer
) -> None:
    fault_server.plan(*[Reply(200, REGISTERED)] * 21)
    # The first call builds what lasts (the connection, the answer's validator).
    await client.location.register(ACCOUNT, service="Location", url=HOOK)
    with cycles_kept() as kept:
        for _ in range(20):
            await client.location.register(ACCOUNT, service="Location", url=HOOK)
        gc.collect()
        leftovers = sorted({type(item).__qualname__ for item in kept})
    assert leftovers == [], f"cyclic garbage per answer: {leftovers}"


@pytest.mark.integration
async def test_the_raw_answer_still_reads_after_its_stream_was_replaced(
    client: AsyncThingSpaceClient, fault_server: FaultServer
) -> None:
    fault_server.plan(Reply(200, REGISTERED))
    raw = await client.location.with_raw_response.register(ACCOUNT, service="Location", url=HOOK)
    response = raw.http_response
    assert response.is_closed
    assert response.is_stream_consumed
    assert response.json() == REGISTERED
    assert b"".join([chunk async for chunk in response.aiter_bytes()]) == response.content
    await response.aclose()
    assert raw.parse().account_id == ACCOUNT
