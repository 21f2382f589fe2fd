"""The sandbox keeps listeners per family, account and service, and answers like each
family does (in process; the same over a socket is in tests/integration)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import pytest

from thingspace_callbacks import APIStatusError, AsyncThingSpaceClient, PermissionDeniedError
from thingspace_callbacks.sandbox import Sandbox

from ._support import credentials

ACCOUNT = "0000123456-00001"
URL = "https://listener.example.com/hooks"


@pytest.fixture
def client(sandbox: Sandbox) -> AsyncThingSpaceClient:
    # Overrides the suite's respx-bound `client`: this one talks to the sandbox.
    return sandbox.client(max_retries=0)


Call = Callable[[AsyncThingSpaceClient], Awaitable[object]]

NOT_THERE: list[tuple[str, Call, int, str]] = [
    ("diagnostics.get", lambda c: c.diagnostics.get(ACCOUNT), 403, "CALLBACK_NOT_REGISTERED"),
    (
        "diagnostics.unregister",
        lambda c: c.diagnostics.unregister(ACCOUNT, service="Diagnostics"),
        403,
        "CALLBACK_NOT_REGISTERED",
    ),
    (
        "location.unregister",
        lambda c: c.location.unregister(ACCOUNT, service="Location"),
        400,
        "INVALID_PARAMETER",
    ),
    ("firmware.get", lambda c: c.firmware.get(ACCOUNT), 400, "INVALID_PARAMETER"),
    ("firmware.update", lambda c: c.firmware.update(ACCOUNT, url=URL), 400, "INVALID_PARAMETER"),
    ("firmware.unregister", lambda c: c.firmware.unregister(ACCOUNT), 400, "INVALID_PARAMETER"),
    ("firmware_v3.get", lambda c: c.firmware_v3.get(ACCOUNT), 400, "INVALID_PARAMETER"),
    (
        "firmware_v3.unregister",
        lambda c: c.firmware_v3.unregister(ACCOUNT),
        400,
        "INVALID_PARAMETER",
    ),
    (
        "connectivity.unregister",
        lambda c: c.connectivity.unregister(ACCOUNT, service="CarrierService"),
        400,
        "UnifiedWebService.REQUEST_FAILED.CallbackNotFound",
    ),
    (
        "hyper_precise.unregister",
        lambda c: c.hyper_precise.unregister(ACCOUNT, service="BullseyeReporting"),
        404,
        "INVALID_PARAMETER",
    ),
]


@pytest.mark.parametrize(
    ("operation", "call", "status", "code"),
    [pytest.param(*case, id=case[0]) for case in NOT_THERE],
)
async def test_reading_or_removing_what_is_not_there_gives_the_family_error(
    client: AsyncThingSpaceClient,
    sandbox: Sandbox,
    operation: str,
    call: Call,
    status: int,
    code: str,
) -> None:
    with pytest.raises(APIStatusError) as caught:
        await call(client)

    assert caught.value.status_code == status
    assert caught.value.error_code == code
    assert caught.value.error_message
    assert sandbox.calls[operation] == 1  # a refused operation is counted all the same


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda c: c.diagnostics.get(ACCOUNT), id="get"),
        pytest.param(
            lambda c: c.diagnostics.unregister(ACCOUNT, service="Diagnostics"), id="unregister"
        ),
    ],
)
async def test_diagnostics_without_a_listener_answers_the_documented_error(
    client: AsyncThingSpaceClient, call: Call
) -> None:
    # Status, code and message as the Diagnostics Error Codes page lists them.
    with pytest.raises(PermissionDeniedError) as caught:
        await call(client)

    assert caught.value.status_code == 403
    assert caught.value.body == {
        "errorCode": "CALLBACK_NOT_REGISTERED",
        "errorMessage": "Callback is not registered for this account.",
    }


async def test_location_round_trip(client: AsyncThingSpaceClient) -> None:
    await client.location.register(ACCOUNT, service="Location", url=URL + "/a")
    await client.location.register(ACCOUNT, service="DeviceLocation", url=URL + "/b")
    await client.location.register(ACCOUNT, service="Location", url=URL + "/c")  # replaces

    listed = await client.location.list(ACCOUNT)
    assert [(c.service_name, c.url) for c in listed] == [
        ("Location", URL + "/c"),
        ("DeviceLocation", URL + "/b"),
    ]
    assert await client.location.list("another-account") == []

    assert (await client.location.unregister(ACCOUNT, service="Location")).success is True
    assert [c.service_name for c in await client.location.list(ACCOUNT)] == ["DeviceLocation"]


async def test_diagnostics_round_trip(client: AsyncThingSpaceClient) -> None:
    registered = await client.diagnostics.register(
        ACCOUNT,
        service="Diagnostics",
        url=URL,
        http_headers={"X-Tenant": "acme"},
    )
    got = await client.diagnostics.get(ACCOUNT)
    removed = await client.diagnostics.unregister(ACCOUNT, service="Diagnostics")

    assert registered.endpoint == got.endpoint == removed.endpoint == URL
    assert got.http_headers == {"X-Tenant": "acme"}
    assert got.created_on == registered.created_on
    with pytest.raises(APIStatusError):
        await client.diagnostics.get(ACCOUNT)


@pytest.mark.parametrize("version", ["firmware", "firmware_v3"])
async def test_firmware_round_trip(client: AsyncThingSpaceClient, version: str) -> None:
    resource = getattr(client, version)

    assert (await resource.register(ACCOUNT, url=URL + "/one")).url == URL + "/one"
    assert (await resource.get(ACCOUNT)).url == URL + "/one"
    assert (await resource.update(ACCOUNT, url=URL + "/two")).url == URL + "/two"
    assert (await resource.get(ACCOUNT)).url == URL + "/two"
    assert (await resource.unregister(ACCOUNT)).success is True
    with pytest.raises(APIStatusError):
        await resource.get(ACCOUNT)


async def test_firmware_versions_are_separate(client: AsyncThingSpaceClient) -> None:
    await client.firmware.register(ACCOUNT, url=URL)

    with pytest.raises(APIStatusError):
        await client.firmware_v3.get(ACCOUNT)


async def test_connectivity_round_trip(client: AsyncThingSpaceClient) -> None:
    assert await client.connectivity.list(ACCOUNT) == []

    answer = await client.connectivity.register(
        ACCOUNT, service="CarrierService", url=URL, username="zaffod", password="drowssap"
    )
    await client.connectivity.register(ACCOUNT, service="DeviceUsage", url=URL + "/usage")
    listed = await client.connectivity.list(ACCOUNT)

    assert (answer.account_name, answer.service_name) == (ACCOUNT, "CarrierService")
    carrier, usage = listed
    assert (carrier.service_name, carrier.url, carrier.username) == (
        "CarrierService",
        URL,
        "zaffod",
    )
    assert carrier.password is not None
    assert carrier.password.get_secret_value() == "drowssap"
    assert usage.username == ""

    await client.connectivity.unregister(ACCOUNT, service="CarrierService")
    assert [c.service_name for c in await client.connectivity.list(ACCOUNT)] == ["DeviceUsage"]


async def test_connectivity_empty_list_is_an_empty_body(client: AsyncThingSpaceClient) -> None:
    raw = await client.connectivity.with_raw_response.list(ACCOUNT)

    assert raw.status_code == 200
    assert raw.content == b""
    assert raw.parse() == []


async def test_hyper_precise_round_trip(client: AsyncThingSpaceClient) -> None:
    created = await client.hyper_precise.register(ACCOUNT, service="BullseyeReporting", url=URL)
    listed = await client.hyper_precise.list(ACCOUNT)
    removed = await client.hyper_precise.unregister(ACCOUNT, service="BullseyeReporting")

    assert (created.aname, created.name, created.url) == (ACCOUNT, "BullseyeReporting", URL)
    assert [(c.name, c.url) for c in listed] == [("BullseyeReporting", URL)]
    assert removed.response_code == "SUCCESS"
    assert await client.hyper_precise.list(ACCOUNT) == []


async def test_hyper_precise_register_reads_seed_style_headers(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    headers = await credentials(http)

    created = await http.post(
        "hyper-precise/v1/callbacks",
        params={"accountNumber": ACCOUNT},
        headers={**headers, "name": "BullseyeReporting", "url": URL},
    )
    removed = await http.delete(
        "hyper-precise/v1/callbacks",
        params={"accountNumber": ACCOUNT, "name": "BullseyeReporting"},
        headers=headers,
    )

    assert created.json() == {"aname": ACCOUNT, "name": "BullseyeReporting", "url": URL}
    assert removed.json()["responseCode"] == "SUCCESS"


async def test_hyper_precise_answers_aname_to_a_newer_sdk_style_body(
    http: httpx.AsyncClient,
) -> None:
    # Verizon's newest SDK sends {name, url} and documents an {accountName, name}
    # answer; the sandbox answers as the seed documents, with `aname`.
    headers = await credentials(http)
    params = {"accountNumber": ACCOUNT}

    created = await http.post(
        "hyper-precise/v1/callbacks",
        params=params,
        json={"name": "BullseyeReporting", "url": URL},
        headers=headers,
    )
    listed = await http.get("hyper-precise/v1/callbacks", params=params, headers=headers)

    assert created.json() == {"aname": ACCOUNT, "name": "BullseyeReporting", "url": URL}
    assert listed.json() == [{"aname": ACCOUNT, "name": "BullseyeReporting", "url": URL}]


@pytest.mark.parametrize("family", ["location", "diagnostics"])
async def test_signed_families_answer_a_shared_secret_header(
    client: AsyncThingSpaceClient, sandbox: Sandbox, family: str
) -> None:
    if family == "location":
        raw = await client.location.with_raw_response.register(ACCOUNT, service="Location", url=URL)
        headers = raw.headers
    else:
        answer = await client.diagnostics.with_raw_response.register(
            ACCOUNT, service="Diagnostics", url=URL
        )
        headers = answer.headers

    secret = headers["X-ThingSpace-Shared-Secret"]
    (registration,) = sandbox.registrations(family)
    assert len(secret) == 64
    assert registration.shared_secret == secret


async def test_shared_secret_and_its_header_are_configurable() -> None:
    sandbox = Sandbox(shared_secret="fixed-key", shared_secret_header="X-Secret")
    async with sandbox.client() as client:
        one = await client.location.with_raw_response.register(ACCOUNT, service="Location", url=URL)
        two = await client.location.with_raw_response.register(ACCOUNT, service="Location", url=URL)

    assert one.headers["X-Secret"] == two.headers["X-Secret"] == "fixed-key"
    assert "X-ThingSpace-Shared-Secret" not in one.headers


async def test_each_registration_gets_a_new_secret(client: AsyncThingSpaceClient) -> None:
    one = await client.location.with_raw_response.register(ACCOUNT, service="Location", url=URL)
    two = await client.location.with_raw_response.register(ACCOUNT, service="Location", url=URL)

    assert one.headers["X-ThingSpace-Shared-Secret"] != two.headers["X-ThingSpace-Shared-Secret"]


BAD_REQUESTS: list[tuple[str, Call, str]] = [
    (
        "location-unknown-service",
        lambda c: c.location.register(ACCOUNT, service="Weather", url=URL),
        "INVALID_PARAMETER",
    ),
    (
        "m2m-password-over-40",
        lambda c: c.connectivity.register(
            ACCOUNT, service="CarrierService", url=URL, password="p" * 41
        ),
        "UnifiedWebService.INPUT_INVALID.Password",
    ),
]


@pytest.mark.parametrize(
    ("call", "code"), [pytest.param(call, code, id=name) for name, call, code in BAD_REQUESTS]
)
async def test_invalid_registrations_are_refused(
    client: AsyncThingSpaceClient, call: Call, code: str
) -> None:
    with pytest.raises(APIStatusError) as caught:
        await call(client)

    assert (caught.value.status_code, caught.value.error_code) == (400, code)


async def test_m2m_listener_ports_can_be_enforced() -> None:
    sandbox = Sandbox(enforce_m2m_ports=True)
    async with sandbox.client() as client:
        await client.connectivity.register(
            ACCOUNT, service="CarrierService", url="https://h.example:9001/"
        )
        with pytest.raises(APIStatusError) as caught:
            await client.connectivity.register(
                ACCOUNT, service="CarrierService", url="https://h.example:8443/"
            )

    assert caught.value.error_code == "UnifiedWebService.INPUT_INVALID.Url"


async def test_invalid_json_body_is_a_family_error(http: httpx.AsyncClient) -> None:
    headers = await credentials(http)

    response = await http.post(
        f"loc/v1/callbacks/{ACCOUNT}",
        content=b"{not json",
        headers={**headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 400
    assert response.json() == {"errorCode": "INVALID_PARAMETER", "errorMessage": "Invalid JSON"}


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "nowhere/v1/things"), ("PATCH", f"loc/v1/callbacks/{ACCOUNT}")]
)
async def test_unknown_resources_get_the_gateway_fault(
    http: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await http.request(method, path)

    assert response.status_code == 400
    assert response.json()["fault"]["code"] == "900906"


async def test_registrations_and_reset(client: AsyncThingSpaceClient, sandbox: Sandbox) -> None:
    await client.location.register(ACCOUNT, service="Location", url=URL)
    await client.hyper_precise.register("9876543210", service="BullseyeReporting", url=URL)

    assert {(r.family, r.account) for r in sandbox.registrations()} == {
        ("location", ACCOUNT),
        ("hyper_precise", "9876543210"),
    }
    assert [r.service for r in sandbox.registrations("hyper-precise")] == ["BullseyeReporting"]
    assert sandbox.registrations("location", account="other") == []

    sandbox.reset()

    assert sandbox.registrations() == []
    assert sandbox.calls == {}


def test_unknown_family_names_are_refused(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError, match="unknown family 'weather'"):
        sandbox.registrations("weather")
