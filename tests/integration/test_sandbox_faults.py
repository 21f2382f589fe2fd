"""Faults and credential expiry of the sandbox, across a real socket."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from thingspace_callbacks import (
    APIConnectionError,
    AsyncThingSpaceClient,
    InternalServerError,
    RateLimitError,
)
from thingspace_callbacks.sandbox import Faults, Sandbox, SandboxServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(10)]

ACCOUNT = "0000123456-00001"

MALFORMED = {
    "seed-list": '{"seed": [1, 2]}',
    "latency-null": '{"latency": [null, 1]}',
    "latency-short": '{"latency": [1]}',
    "latency-backwards": '{"latency": [0.2, 0.1]}',
    "latency-nan": '{"latency": NaN}',
    "latency-infinite": '{"latency": Infinity}',
    "rate-string": '{"error_rate": "0.5"}',
    "rate-bool": '{"drop_rate": true}',
    "rates-over-1": '{"error_rate": 0.7, "drop_rate": 0.7}',
    "status-3xx": '{"error_status": 302}',
    "retry-after-fraction": '{"retry_after": 1.5}',
    "auth-string": '{"include_auth": "yes"}',
    "unknown": '{"colour": "red"}',
    "array": "[1, 2]",
    "string": '"faults"',
    "not-json": "{error_rate: 1}",
    "nesting-bomb": "[" * 100_000,
}
"""Bodies of ``PUT /sandbox/faults`` that must be refused with a 400."""


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with Sandbox().serve() as running:
        yield running


@pytest.fixture
async def api(server: SandboxServer) -> AsyncIterator[AsyncThingSpaceClient]:
    server.sandbox.reset()
    server.sandbox.faults = Faults()
    async with server.client(max_retries=0) as client:
        await client.location.list(ACCOUNT)  # fetch credentials before any fault
        yield client
    server.sandbox.faults = Faults()


@pytest.fixture
async def admin(server: SandboxServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


async def test_dropped_connection_is_a_connection_error(
    api: AsyncThingSpaceClient, server: SandboxServer
) -> None:
    server.sandbox.faults = Faults(drop_rate=1.0)

    with pytest.raises(APIConnectionError):
        await api.location.list(ACCOUNT)


async def test_dropped_connection_through_httpx_transport(server: SandboxServer) -> None:
    server.sandbox.faults = Faults(drop_rate=1.0)
    async with (
        httpx.AsyncClient() as http_client,
        server.client(max_retries=0, http_client=http_client) as client,
    ):
        with pytest.raises(APIConnectionError):
            await client.location.list(ACCOUNT)


async def test_rate_limit_crosses_the_socket_with_retry_after(
    api: AsyncThingSpaceClient, server: SandboxServer
) -> None:
    server.sandbox.faults = Faults(rate_limit_rate=1.0, retry_after=30)

    with pytest.raises(RateLimitError) as caught:
        await api.location.list(ACCOUNT)

    assert caught.value.headers["retry-after"] == "30"


async def test_faults_set_through_the_admin_route(
    api: AsyncThingSpaceClient, admin: httpx.AsyncClient, server: SandboxServer
) -> None:
    answer = await admin.put("/sandbox/faults", json={"error_rate": 1.0, "error_status": 502})
    with pytest.raises(InternalServerError) as caught:
        await api.location.list(ACCOUNT)
    await admin.delete("/sandbox/faults")

    assert answer.status_code == 200
    assert caught.value.status_code == 502
    assert await api.location.list(ACCOUNT) == []


async def test_expiry_through_the_admin_route_is_renewed_by_the_client(
    api: AsyncThingSpaceClient, admin: httpx.AsyncClient, server: SandboxServer
) -> None:
    expired = await admin.post("/sandbox/expire", json={"tokens": False, "sessions": True})

    assert expired.json() == {"tokens": False, "sessions": True}
    assert await api.location.list(ACCOUNT) == []
    assert server.sandbox.calls["login"] == 2
    assert server.sandbox.calls["token"] == 1


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_fault_settings_are_a_400(
    admin: httpx.AsyncClient,
    server: SandboxServer,
    caplog: pytest.LogCaptureFixture,
    body: str,
) -> None:
    server.sandbox.faults = before = Faults(latency=0.001)
    try:
        answer = await admin.put(
            "/sandbox/faults", content=body, headers={"Content-Type": "application/json"}
        )
        after = (await admin.get("/sandbox/faults")).json()
    finally:
        server.sandbox.faults = Faults()

    assert answer.status_code == 400, answer.text
    assert answer.json()["errorCode"] == "INVALID_REQUEST"
    assert answer.json()["errorMessage"]
    assert after == before.model_dump(mode="json")  # the faults in force are kept
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_fault_settings_name_their_problems(admin: httpx.AsyncClient) -> None:
    answer = await admin.put("/sandbox/faults", json={"seed": [1, 2], "colour": "red"})

    assert answer.json() == {
        "errorCode": "INVALID_REQUEST",
        "errorMessage": "unknown fault settings: colour; seed: Input should be a valid integer",
    }
