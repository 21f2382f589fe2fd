"""Every family's register, read and unregister through the sync API, its errors and
its raw responses, against the sandbox on a real socket."""

from __future__ import annotations

import httpx
import pytest

from thingspace_callbacks import (
    APIResponse,
    AuthenticationError,
    BadRequestError,
    InvalidArgumentError,
    PermissionDeniedError,
    ThingSpaceClient,
)
from thingspace_callbacks.models import (
    ConnectivityCallback,
    DiagnosticsCallback,
    FirmwareCallback,
    HyperPreciseCallback,
    LocationCallback,
)
from thingspace_callbacks.sandbox import Sandbox, SandboxServer

from .conftest import ACCOUNT, HOOK

pytestmark = pytest.mark.integration


def test_diagnostics(client: ThingSpaceClient) -> None:
    client.diagnostics.register(ACCOUNT, service="Diagnostics", url=HOOK)
    got = client.diagnostics.get(ACCOUNT)
    removed = client.diagnostics.unregister(ACCOUNT, service="Diagnostics")

    assert isinstance(got, DiagnosticsCallback)
    assert (got.account_name, got.service_name, got.endpoint) == (ACCOUNT, "Diagnostics", HOOK)
    assert removed.endpoint == HOOK


def test_location(client: ThingSpaceClient, server: SandboxServer) -> None:
    client.location.register(ACCOUNT, service="Location", url=HOOK)
    listed = client.location.list(ACCOUNT)
    client.location.unregister(ACCOUNT, service="Location")

    assert [(c.name, c.url) for c in listed] == [("Location", HOOK)]
    assert all(isinstance(c, LocationCallback) for c in listed)
    assert client.location.list(ACCOUNT) == []
    assert server.sandbox.registrations() == []


@pytest.mark.parametrize("family", ["firmware", "firmware_v3"])
def test_firmware(client: ThingSpaceClient, family: str) -> None:
    firmware = getattr(client, family)
    firmware.register(ACCOUNT, url=HOOK)
    firmware.update(ACCOUNT, url=HOOK + "/2")
    got = firmware.get(ACCOUNT)
    removed = firmware.unregister(ACCOUNT)

    assert isinstance(got, FirmwareCallback)
    assert got.url == HOOK + "/2"
    assert removed.success is True
    with pytest.raises(BadRequestError) as caught:
        firmware.unregister(ACCOUNT)
    assert caught.value.error_code == "INVALID_PARAMETER"


def test_connectivity(client: ThingSpaceClient) -> None:
    client.connectivity.register(ACCOUNT, service="CarrierService", url=HOOK)
    listed = client.connectivity.list(ACCOUNT)
    client.connectivity.unregister(ACCOUNT, service="CarrierService")

    assert all(isinstance(c, ConnectivityCallback) for c in listed)
    assert [(c.service_name, c.url) for c in listed] == [("CarrierService", HOOK)]
    assert client.connectivity.list(ACCOUNT) == []


def test_hyper_precise(client: ThingSpaceClient) -> None:
    client.hyper_precise.register(ACCOUNT, service="BullseyeReporting", url=HOOK)
    listed = client.hyper_precise.list(ACCOUNT)
    client.hyper_precise.unregister(ACCOUNT, service="BullseyeReporting")

    assert all(isinstance(c, HyperPreciseCallback) for c in listed)
    assert [(c.name, c.url) for c in listed] == [("BullseyeReporting", HOOK)]
    assert client.hyper_precise.list(ACCOUNT) == []


def test_the_seed_facade(client: ThingSpaceClient, server: SandboxServer) -> None:
    seed = client.callbacks
    seed.register_callback_url(ACCOUNT, {"name": "Location", "url": HOOK})
    listed = seed.get_registered_callback_ur_ls(ACCOUNT)
    seed.deregister_callback_url(ACCOUNT, "Location")

    assert [c.url for c in listed] == [HOOK]
    assert server.sandbox.registrations() == []


def test_raw_responses_carry_status_headers_and_the_model(client: ThingSpaceClient) -> None:
    raw = client.diagnostics.with_raw_response.register(ACCOUNT, service="Diagnostics", url=HOOK)
    listed = client.location.with_raw_response.list(ACCOUNT)

    assert isinstance(raw, APIResponse)
    assert raw.status_code == 200
    assert len(raw.headers["X-ThingSpace-Shared-Secret"]) == 64
    assert raw.parse().endpoint == HOOK
    assert listed.parse() == []


def test_status_errors_are_the_async_clients_typed_errors(client: ThingSpaceClient) -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        client.diagnostics.unregister(ACCOUNT, service="Diagnostics")
    assert caught.value.status_code == 403
    assert isinstance(caught.value.response, httpx.Response)


def test_bad_input_raises_before_anything_is_sent(
    client: ThingSpaceClient, server: SandboxServer
) -> None:
    with pytest.raises(InvalidArgumentError, match="url"):
        client.location.register(ACCOUNT, service="Location", url="not a url")
    with pytest.raises(InvalidArgumentError):
        client.location.list("")
    with pytest.raises(InvalidArgumentError, match="max_retries"):
        client.location.list(ACCOUNT, max_retries=-1)
    assert sum(server.sandbox.calls.values()) == 0


def test_refused_credentials_raise_authentication_error(server: SandboxServer) -> None:
    with (
        ThingSpaceClient(
            base_url=server.base_url, client_id="who", client_secret="wrong"
        ) as client,
        pytest.raises(AuthenticationError) as caught,
    ):
        client.location.list(ACCOUNT)
    assert "wrong" not in str(caught.value)
    assert "wrong" not in repr(client)


def test_with_options_shares_the_pool_the_credentials_and_the_closed_state(
    server: SandboxServer,
) -> None:
    client = ThingSpaceClient(base_url=server.base_url, **server.sandbox.credential_kwargs())
    patient = client.with_options(max_retries=5, deadline=30, extra_headers={"X-A": "1"})

    assert isinstance(patient, ThingSpaceClient)
    assert (patient.max_retries, patient.deadline) == (5, 30)
    assert client.max_retries == 2
    patient.location.list(ACCOUNT)
    client.location.list(ACCOUNT)
    assert server.sandbox.calls["login"] == 1
    patient.close()
    assert client.is_closed
    with pytest.raises(RuntimeError, match="closed"), client:
        pass


def test_an_http_client_is_refused_with_a_clear_error() -> None:
    with pytest.raises(InvalidArgumentError, match="AsyncThingSpaceClient"):
        ThingSpaceClient(http_client=httpx.Client())  # type: ignore[arg-type]


def test_the_sandboxs_sync_client_works_in_process() -> None:
    sandbox = Sandbox()
    with sandbox.sync_client() as client:
        client.location.register(ACCOUNT, service="Location", url=HOOK)
        assert [c.url for c in client.location.list(ACCOUNT)] == [HOOK]
    assert sandbox.calls["logout"] == 1  # its own session: a client of its own transport


def test_the_servers_sync_client(server: SandboxServer) -> None:
    with server.sync_client(max_retries=0) as client:
        assert client.location.list(ACCOUNT) == []
        assert client.max_retries == 0


def test_the_plugins_sync_client_fixture(
    thingspace_sandbox: Sandbox, thingspace_sync_client: ThingSpaceClient
) -> None:
    thingspace_sync_client.firmware.register(ACCOUNT, url=HOOK)
    assert thingspace_sandbox.registrations("firmware")[0].url == HOOK
