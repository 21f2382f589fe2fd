"""The in-process sandbox (client, faults, delivery) under asyncio and trio alike."""

from __future__ import annotations

import httpx
import pytest

from thingspace_callbacks import APIConnectionError
from thingspace_callbacks.sandbox import Faults, Sandbox

from ._support import Listener

pytestmark = pytest.mark.anyio

ACCOUNT = "0000123456-00001"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_round_trip_with_latency_and_delivery() -> None:
    listener = Listener()
    sandbox = Sandbox(delivery_transport=httpx.ASGITransport(listener.app()))
    sandbox.faults = Faults(latency=0.001)
    async with sandbox.client() as client:
        await client.connectivity.register(
            ACCOUNT, service="CarrierService", url="http://listener.test/m2m", password="pw"
        )
        (listed,) = await client.connectivity.list(ACCOUNT)
        (delivery,) = await sandbox.emit("connectivity", ACCOUNT)

    assert listed.url == "http://listener.test/m2m"
    assert delivery.ok
    assert b'"password":"pw"' in listener.received[0].body


async def test_dropped_connection() -> None:
    sandbox = Sandbox(faults=Faults(drop_rate=1.0))
    async with sandbox.client(max_retries=0) as client:
        with pytest.raises(APIConnectionError):
            await client.location.list(ACCOUNT)
