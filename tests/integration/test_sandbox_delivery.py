"""End to end over real HTTP: register through the SDK on the sandbox's socket, have
the sandbox deliver to a listener on its own socket, check what arrived."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from thingspace_callbacks.sandbox import Sandbox, SandboxServer, sign_body

from .._servers import serve
from ..sandbox._support import Listener

pytestmark = pytest.mark.integration

ACCOUNT = "0000123456-00001"


@pytest.fixture
def listener() -> Listener:
    return Listener()


@pytest.fixture
def listener_url(listener: Listener) -> Iterator[str]:
    with serve(listener.app()) as url:
        yield url


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with Sandbox().serve() as running:
        yield running


async def test_signed_location_message_reaches_a_listener_over_http(
    server: SandboxServer, listener: Listener, listener_url: str
) -> None:
    async with server.client() as client:
        raw = await client.location.with_raw_response.register(
            ACCOUNT, service="DeviceLocation", url=f"{listener_url}/hooks/device-location"
        )
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{server.url}/sandbox/emit", json={"family": "location", "account": ACCOUNT}
        )

    (received,) = listener.received
    secret = raw.headers["X-ThingSpace-Shared-Secret"]
    assert answer.json()["deliveries"][0]["statusCode"] == 200
    assert received.path == "/hooks/device-location"
    assert received.headers["X-ThingSpace-Signature"] == sign_body(received.body, secret)
    assert "txid" in json.loads(received.body)


async def test_m2m_resends_until_acknowledged_over_http(
    server: SandboxServer, listener: Listener, listener_url: str
) -> None:
    async with server.client() as client:
        await client.connectivity.register(
            ACCOUNT, service="CarrierService", url=listener_url, username="u1", password="p1"
        )
    listener.statuses = [503]

    (delivery,) = await server.sandbox.emit("connectivity", ACCOUNT, max_attempts=4)

    bodies = [json.loads(r.body) for r in listener.received]
    assert delivery.ok
    assert [b["callbackCount"] for b in bodies] == [1, 2]
    assert {(b["username"], b["password"]) for b in bodies} == {("u1", "p1")}
