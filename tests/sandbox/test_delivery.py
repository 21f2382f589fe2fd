"""Delivery: sample notifications reach registered listeners with ThingSpace's credentials."""

from __future__ import annotations

import json

import httpx
import pytest

from thingspace_callbacks import AsyncThingSpaceClient
from thingspace_callbacks.receiver import (
    CallbackMessage,
    ConnectivityMessage,
    DiagnosticsMessage,
    FirmwareMessage,
    GenericMessage,
    LocationMessage,
    parse_message,
)
from thingspace_callbacks.sandbox import FAMILIES, NoListenerError, Registration, Sandbox, sign_body
from thingspace_callbacks.sandbox._delivery import build_message

from ._support import Listener

ACCOUNT = "0000123456-00001"
HOOK = "http://listener.test/hooks"


@pytest.fixture
def client(sandbox: Sandbox) -> AsyncThingSpaceClient:
    return sandbox.client(max_retries=0)


async def test_location_messages_are_signed_with_the_registration_secret(
    sandbox: Sandbox, client: AsyncThingSpaceClient, listener: Listener
) -> None:
    raw = await client.location.with_raw_response.register(
        ACCOUNT, service="DeviceLocation", url=f"{HOOK}/location"
    )
    secret = raw.headers["X-ThingSpace-Shared-Secret"]

    (delivery,) = await sandbox.emit("location", ACCOUNT)

    (received,) = listener.received
    assert delivery.ok
    assert received.path == "/hooks/location"
    assert received.headers["X-ThingSpace-Signature"] == sign_body(received.body, secret)
    message = json.loads(received.body)
    assert set(message) == {"txid", "msid", "pd"}
    assert set(message["pd"]) >= {"time", "x", "y", "radius", "qos"}


async def test_diagnostics_messages_are_signed_and_carry_registered_headers(
    sandbox: Sandbox, client: AsyncThingSpaceClient, listener: Listener
) -> None:
    raw = await client.diagnostics.with_raw_response.register(
        ACCOUNT,
        service="Diagnostics",
        url=HOOK,
        http_headers={"X-Tenant": "acme"},
    )

    await sandbox.emit("diagnostics", ACCOUNT)

    (received,) = listener.received
    secret = raw.headers["X-ThingSpace-Shared-Secret"]
    assert received.headers["X-ThingSpace-Signature"] == sign_body(received.body, secret)
    assert received.headers["X-Tenant"] == "acme"
    assert json.loads(received.body)["accountName"] == ACCOUNT


async def test_signature_header_name_is_configurable(listener: Listener) -> None:
    sandbox = Sandbox(
        signature_header="X-Sig", delivery_transport=httpx.ASGITransport(listener.app())
    )
    async with sandbox.client() as client:
        await client.location.register(ACCOUNT, service="Location", url=HOOK)

    await sandbox.emit("location", ACCOUNT)

    assert "X-Sig" in listener.received[0].headers
    assert "X-ThingSpace-Signature" not in listener.received[0].headers


async def test_m2m_messages_carry_the_listener_credentials_in_the_body(
    sandbox: Sandbox, client: AsyncThingSpaceClient, listener: Listener
) -> None:
    await client.connectivity.register(
        ACCOUNT, service="CarrierService", url=HOOK, username="zaffod", password="drowssap"
    )

    await sandbox.emit("connectivity", ACCOUNT)

    message = json.loads(listener.received[0].body)
    assert (message["username"], message["password"]) == ("zaffod", "drowssap")
    assert message["status"] == "Success"
    assert (message["callbackCount"], message["maxCallbackThreshold"]) == (1, 4)
    assert message["deviceIds"] == [{"id": "490154203237518", "kind": "IMEI"}]
    assert "deviceResponse" in message
    assert "X-ThingSpace-Signature" not in listener.received[0].headers


async def test_nidd_messages_carry_a_nidd_response(
    sandbox: Sandbox, client: AsyncThingSpaceClient, listener: Listener
) -> None:
    await client.connectivity.register(ACCOUNT, service="NiddService", url=HOOK)

    await sandbox.emit("connectivity", ACCOUNT, "NiddService")

    message = json.loads(listener.received[0].body)
    assert "niddMONotificationResponse" in message["niddResponse"]
    assert (message["username"], message["password"]) == ("", "")


@pytest.mark.parametrize("family", ["firmware", "firmware_v3"])
async def test_fota_messages_follow_the_v1_structure(
    sandbox: Sandbox, client: AsyncThingSpaceClient, listener: Listener, family: str
) -> None:
    await getattr(client, family).register(
        ACCOUNT, {"url": HOOK, "username": "fota-user", "password": "fota-pass"}
    )

    await sandbox.emit(family, ACCOUNT)

    message = json.loads(listener.received[0].body)
    assert {"accountName", "participantName", "type", "firmwareList", "upgradeScheduled"} <= set(
        message
    )
    assert (message["username"], message["password"]) == ("fota-user", "fota-pass")
    assert message["firmwareList"] == []


async def test_hyper_precise_messages_are_plain(
    sandbox: Sandbox, client: AsyncThingSpaceClient, listener: Listener
) -> None:
    await client.hyper_precise.register(ACCOUNT, service="BullseyeReporting", url=HOOK)

    await sandbox.emit("hyper_precise", ACCOUNT)

    message = json.loads(listener.received[0].body)
    assert (message["aname"], message["name"]) == (ACCOUNT, "BullseyeReporting")


async def test_overrides_replace_and_remove_fields(
    sandbox: Sandbox, client: AsyncThingSpaceClient, listener: Listener
) -> None:
    await client.connectivity.register(ACCOUNT, service="CarrierService", url=HOOK)

    await sandbox.emit(
        "connectivity",
        ACCOUNT,
        message={
            "status": "Failed",
            "deviceResponse": None,
            "faultResponse": {"faultcode": "CarrierService.Failed", "faultstring": "no"},
        },
    )

    message = json.loads(listener.received[0].body)
    assert message["status"] == "Failed"
    assert "deviceResponse" not in message
    assert message["faultResponse"]["faultcode"] == "CarrierService.Failed"


async def test_emit_only_to_the_named_service(
    sandbox: Sandbox, client: AsyncThingSpaceClient, listener: Listener
) -> None:
    await client.location.register(ACCOUNT, service="Location", url=f"{HOOK}/one")
    await client.location.register(ACCOUNT, service="DeviceLocation", url=f"{HOOK}/two")

    everything = await sandbox.emit("location", ACCOUNT)
    one = await sandbox.emit("location", ACCOUNT, "DeviceLocation")

    assert [d.url for d in everything] == [f"{HOOK}/one", f"{HOOK}/two"]
    assert [d.url for d in one] == [f"{HOOK}/two"]
    assert len(listener.received) == 3


async def test_emit_without_listener_raises(sandbox: Sandbox) -> None:
    with pytest.raises(NoListenerError, match="no location listener"):
        await sandbox.emit("location", ACCOUNT)


async def test_unacknowledged_messages_are_sent_again_with_a_higher_count(
    sandbox: Sandbox, client: AsyncThingSpaceClient, listener: Listener
) -> None:
    await client.connectivity.register(ACCOUNT, service="CarrierService", url=HOOK)
    listener.statuses = [500, 503]

    (delivery,) = await sandbox.emit("connectivity", ACCOUNT, max_attempts=4)

    counts = [json.loads(r.body)["callbackCount"] for r in listener.received]
    ids = {json.loads(r.body)["requestId"] for r in listener.received}
    assert counts == [1, 2, 3]
    assert len(ids) == 1
    assert (delivery.ok, delivery.attempts, delivery.status_code) == (True, 3, 200)


async def test_gives_up_after_max_attempts(
    sandbox: Sandbox, client: AsyncThingSpaceClient, listener: Listener
) -> None:
    await client.hyper_precise.register(ACCOUNT, service="BullseyeReporting", url=HOOK)
    listener.statuses = [500, 500, 500]

    (delivery,) = await sandbox.emit("hyper_precise", ACCOUNT, max_attempts=2)

    assert (delivery.ok, delivery.attempts, delivery.status_code) == (False, 2, 500)
    assert listener.statuses == [500]


async def test_unreachable_listener_is_reported_not_raised() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    sandbox = Sandbox(require_auth=False, delivery_transport=httpx.MockTransport(refuse))
    async with sandbox.client() as client:
        await client.firmware.register(ACCOUNT, url=HOOK)

    (delivery,) = await sandbox.emit("firmware", ACCOUNT)

    assert delivery.status_code is None
    assert delivery.error is not None
    assert "ConnectError" in delivery.error


async def test_delivery_repr_hides_the_message(
    sandbox: Sandbox, client: AsyncThingSpaceClient
) -> None:
    await client.connectivity.register(
        ACCOUNT, service="CarrierService", url=HOOK, password="top-secret-pw"
    )

    (delivery,) = await sandbox.emit("connectivity", ACCOUNT)

    assert "top-secret-pw" not in repr(delivery)
    assert "top-secret-pw" not in json.dumps(delivery.to_dict())


async def test_admin_emit_route(
    sandbox: Sandbox, client: AsyncThingSpaceClient, listener: Listener
) -> None:
    await client.location.register(ACCOUNT, service="Location", url=HOOK)
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url="http://sandbox.thingspace.test"
    ) as http:
        sent = await http.post(
            "/sandbox/emit",
            json={"family": "location", "account": ACCOUNT, "message": {"msid": "5551234"}},
        )
        missing = await http.post("/sandbox/emit", json={"family": "location", "account": "x"})
        unknown = await http.post("/sandbox/emit", json={"family": "weather", "account": "x"})

    assert sent.status_code == 200
    assert sent.json()["deliveries"] == [
        {
            "family": "location",
            "account": ACCOUNT,
            "service": "Location",
            "url": HOOK,
            "statusCode": 200,
            "attempts": 1,
            "ok": True,
            "error": None,
        }
    ]
    assert json.loads(listener.received[0].body)["msid"] == "5551234"
    assert (missing.status_code, missing.json()["errorCode"]) == (404, "NO_LISTENER")
    assert unknown.status_code == 400


SAMPLE_MODELS: dict[str, type[CallbackMessage]] = {
    "diagnostics": DiagnosticsMessage,
    "location": LocationMessage,
    "firmware": FirmwareMessage,
    "firmware_v3": FirmwareMessage,
    "connectivity": ConnectivityMessage,
    "hyper_precise": GenericMessage,  # Hyper Precise has no model of its own
}


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_has_a_sample_message(family: str) -> None:
    from datetime import datetime, timezone

    registration = Registration(
        family=family,  # type: ignore[arg-type]
        account=ACCOUNT,
        service="CarrierService",
        url=HOOK,
        created_on=datetime.now(timezone.utc),
    )

    message = build_message(registration)

    # What the sandbox delivers is what a receiver makes the family's message of.
    parsed = parse_message(
        json.dumps(message), service="CarrierService" if family == "connectivity" else None
    )
    assert type(parsed) is SAMPLE_MODELS[family]
    assert {message[k] for k in ("accountName", "aname") if k in message} <= {ACCOUNT}
