"""The sandbox (a fake ThingSpace) delivers to a running receiver over a real socket.

Registration goes through the SDK client, the shared secret comes from the registration
answer's header, and the sandbox signs or credentials each message as ThingSpace does.
"""

from __future__ import annotations

import pytest

from thingspace_callbacks.receiver import (
    SHARED_SECRET_HEADER,
    BodyCredentials,
    CallbackMessage,
    ConnectivityMessage,
    HmacSignature,
    LocationMessage,
    Receiver,
)
from thingspace_callbacks.sandbox import Sandbox

from . import _messages as msg
from .conftest import ServeApp

pytestmark = pytest.mark.integration

M2M_ACCOUNT = "0000123456-00001"
LOCATION_ACCOUNT = "0000123456-00002"


async def test_sandbox_deliveries_reach_the_receiver(serve_app: ServeApp) -> None:
    sandbox = Sandbox()
    received: list[CallbackMessage] = []
    failures = 1
    receiver = Receiver(verify=[BodyCredentials(msg.USERNAME, msg.PASSWORD)])

    @receiver.on("CarrierService")
    async def carrier(message: ConnectivityMessage) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise RuntimeError("first attempt fails")
        received.append(message)

    async with serve_app(receiver) as base_url, sandbox.client() as client:
        await client.connectivity.register(
            M2M_ACCOUNT,
            service="CarrierService",
            url=f"{base_url}/CarrierService",
            username=msg.USERNAME,
            password=msg.PASSWORD,
        )
        raw = await client.location.with_raw_response.register(
            LOCATION_ACCOUNT, service="DeviceLocation", url=f"{base_url}/DeviceLocation"
        )

        # Routes may be added while serving: the secret is known only now.
        @receiver.on("DeviceLocation", verify=[HmacSignature(raw.headers[SHARED_SECRET_HEADER])])
        async def location(message: LocationMessage) -> None:
            received.append(message)

        [m2m] = await sandbox.emit("connectivity", M2M_ACCOUNT, "CarrierService", max_attempts=3)
        [loc] = await sandbox.emit("location", LOCATION_ACCOUNT, "DeviceLocation")
        # A re-send of a message already handled is acknowledged, not handled again.
        [again] = await sandbox.emit(
            "connectivity", M2M_ACCOUNT, "CarrierService", message=m2m.message
        )
        [forged] = await sandbox.emit(
            "connectivity", M2M_ACCOUNT, "CarrierService", message={"password": "guess"}
        )

    assert (m2m.ok, m2m.attempts, m2m.status_code) == (True, 2, 200)
    assert (loc.ok, loc.attempts) == (True, 1)
    assert (again.ok, again.attempts) == (True, 1)
    assert forged.status_code == 401

    carrier_message, location_message = received
    assert isinstance(carrier_message, ConnectivityMessage)
    assert carrier_message.callback_count == 2
    assert carrier_message.request_id == m2m.message["requestId"]
    assert isinstance(location_message, LocationMessage)
    assert location_message.txid == loc.message["txid"]
