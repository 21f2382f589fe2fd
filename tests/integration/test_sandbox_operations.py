"""The 20 operations through the SDK against the sandbox on a real uvicorn socket:
state round trips per family, and each family's error answers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from thingspace_callbacks import (
    APIStatusError,
    AsyncThingSpaceClient,
    BadRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from thingspace_callbacks.sandbox import Sandbox, SandboxServer

pytestmark = pytest.mark.integration

ACCOUNT = "0000123456-00001"
HOOK = "https://listener.example.com/hooks"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with Sandbox().serve() as running:
        yield running


@pytest.fixture
async def api(server: SandboxServer) -> AsyncIterator[AsyncThingSpaceClient]:
    server.sandbox.reset()
    async with server.client(max_retries=0) as client:
        yield client


async def test_all_twenty_operations_are_served_by_their_seed_names(
    api: AsyncThingSpaceClient, server: SandboxServer
) -> None:
    seed = api.callbacks

    await seed.register_diagnostics_callback_url(
        {"accountName": ACCOUNT, "serviceName": "Diagnostics", "endpoint": HOOK}
    )
    await seed.get_diagnostics_subscription_callback_info(ACCOUNT)
    await seed.unregister_diagnostics_callback(ACCOUNT, "Diagnostics")
    await seed.register_callback_url(ACCOUNT, {"name": "Location", "url": HOOK})
    await seed.get_registered_callback_ur_ls(ACCOUNT)
    await seed.deregister_callback_url(ACCOUNT, "Location")
    await seed.create_https_callback_address(ACCOUNT, {"url": HOOK})
    await seed.update_https_callback_address(ACCOUNT, {"url": HOOK + "/2"})
    await seed.get_registered_callback_information(ACCOUNT)
    await seed.delete_registered_callback(ACCOUNT)
    await seed.create_https_callback_address_1(ACCOUNT, {"url": HOOK})
    await seed.update_https_callback_address_1(ACCOUNT, {"url": HOOK + "/2"})
    await seed.registered_callback_information(ACCOUNT)
    await seed.delete_https_callback_address(ACCOUNT)
    await seed.register_callback_using_post(ACCOUNT, {"name": "CarrierService", "url": HOOK})
    await seed.list_callbacks_using_get(ACCOUNT)
    await seed.unregister_callback_using_delete(ACCOUNT, "CarrierService")
    await seed.callbacks_account_number_post(ACCOUNT, "BullseyeReporting", HOOK)
    await seed.callbacks_account_number_get(ACCOUNT)
    await seed.callbacks_account_number_name_service_delete(ACCOUNT, "BullseyeReporting")

    operations = {name for name in server.sandbox.calls if "." in name}
    assert len(operations) == 20
    assert server.sandbox.registrations() == []


async def test_diagnostics(api: AsyncThingSpaceClient) -> None:
    raw = await api.diagnostics.with_raw_response.register(ACCOUNT, service="Diagnostics", url=HOOK)
    got = await api.diagnostics.get(ACCOUNT)
    removed = await api.diagnostics.unregister(ACCOUNT, service="Diagnostics")

    assert len(raw.headers["X-ThingSpace-Shared-Secret"]) == 64
    assert (got.account_name, got.service_name, got.endpoint) == (ACCOUNT, "Diagnostics", HOOK)
    assert removed.endpoint == HOOK
    with pytest.raises(PermissionDeniedError) as caught:
        await api.diagnostics.unregister(ACCOUNT, service="Diagnostics")
    assert caught.value.error_code == "CALLBACK_NOT_REGISTERED"


async def test_location(api: AsyncThingSpaceClient) -> None:
    registered = await api.location.register(ACCOUNT, service="Location", url=HOOK)
    await api.location.register(ACCOUNT, service="DeviceLocation", url=HOOK + "/device")
    listed = await api.location.list(ACCOUNT)
    removed = await api.location.unregister(ACCOUNT, service="DeviceLocation")

    assert (registered.account_id, registered.service) == (ACCOUNT, "Location")
    assert [(c.name, c.url) for c in listed] == [
        ("Location", HOOK),
        ("DeviceLocation", HOOK + "/device"),
    ]
    assert removed.success is True
    assert [c.name for c in await api.location.list(ACCOUNT)] == ["Location"]
    with pytest.raises(BadRequestError) as caught:
        await api.location.unregister(ACCOUNT, service="DeviceLocation")
    assert caught.value.error_code == "INVALID_PARAMETER"


@pytest.mark.parametrize("version", ["firmware", "firmware_v3"])
async def test_firmware(api: AsyncThingSpaceClient, version: str) -> None:
    resource = getattr(api, version)

    with pytest.raises(BadRequestError):
        await resource.update(ACCOUNT, url=HOOK)
    await resource.register(ACCOUNT, url=HOOK)
    await resource.update(ACCOUNT, url=HOOK + "/new")
    assert (await resource.get(ACCOUNT)).url == HOOK + "/new"
    assert (await resource.unregister(ACCOUNT)).success is True
    with pytest.raises(BadRequestError) as caught:
        await resource.unregister(ACCOUNT)
    assert caught.value.error_code == "INVALID_PARAMETER"


async def test_connectivity(api: AsyncThingSpaceClient) -> None:
    assert await api.connectivity.list(ACCOUNT) == []
    await api.connectivity.register(
        ACCOUNT, service="DeviceUsage", url=HOOK, username="zaffod", password="drowssap"
    )
    (listed,) = await api.connectivity.list(ACCOUNT)
    removed = await api.connectivity.unregister(ACCOUNT, service="DeviceUsage")

    assert (listed.service_name, listed.url, listed.username) == ("DeviceUsage", HOOK, "zaffod")
    assert listed.password is not None
    assert listed.password.get_secret_value() == "drowssap"
    assert (removed.account_name, removed.service_name) == (ACCOUNT, "DeviceUsage")
    with pytest.raises(BadRequestError) as caught:
        await api.connectivity.unregister(ACCOUNT, service="DeviceUsage")
    assert caught.value.error_code == "UnifiedWebService.REQUEST_FAILED.CallbackNotFound"


async def test_hyper_precise(api: AsyncThingSpaceClient) -> None:
    await api.hyper_precise.register(ACCOUNT, service="BullseyeReporting", url=HOOK)
    listed = await api.hyper_precise.list(ACCOUNT)
    removed = await api.hyper_precise.unregister(ACCOUNT, service="BullseyeReporting")

    assert [(c.aname, c.name, c.url) for c in listed] == [(ACCOUNT, "BullseyeReporting", HOOK)]
    assert removed.response_code == "SUCCESS"
    with pytest.raises(NotFoundError) as caught:
        await api.hyper_precise.unregister(ACCOUNT, service="BullseyeReporting")
    assert caught.value.error_code == "INVALID_PARAMETER"


async def test_accounts_and_families_are_isolated(api: AsyncThingSpaceClient) -> None:
    await api.location.register(ACCOUNT, service="Location", url=HOOK)
    await api.connectivity.register(ACCOUNT, service="CarrierService", url=HOOK)

    assert await api.location.list("0000999999-00001") == []
    assert [c.service_name for c in await api.connectivity.list(ACCOUNT)] == ["CarrierService"]


async def test_error_answers_keep_status_headers_and_body(api: AsyncThingSpaceClient) -> None:
    with pytest.raises(APIStatusError) as caught:
        await api.firmware.get(ACCOUNT)

    error = caught.value
    assert error.status_code == 400
    assert error.headers["content-type"] == "application/json"
    assert error.body == {
        "errorCode": "INVALID_PARAMETER",
        "errorMessage": f"No callback registered for account {ACCOUNT}",
    }


async def test_credentials_expiring_mid_run_are_renewed(
    api: AsyncThingSpaceClient, server: SandboxServer
) -> None:
    await api.location.list(ACCOUNT)
    server.sandbox.expire_tokens()
    assert await api.location.list(ACCOUNT) == []
    server.sandbox.expire_sessions()
    assert await api.location.list(ACCOUNT) == []
    assert server.sandbox.calls["token"] == 2
    assert server.sandbox.calls["login"] == 2
