"""Every family command against a served sandbox: tables, ``--json``, exit codes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import Cli

ACCOUNT = "0000123456-00001"
HOOK = "https://listener.example.com/hooks"


def data(result_stdout: str) -> Any:
    return json.loads(result_stdout)


@pytest.mark.integration
def test_location_register_list_unregister(cli: Cli) -> None:
    registered = cli("location", "register", ACCOUNT, "Location", HOOK)
    listed = cli("--json", "location", "list", ACCOUNT)
    removed = cli("location", "unregister", ACCOUNT, "Location", "--json")
    again = cli("location", "unregister", ACCOUNT, "Location")

    assert registered.exit_code == 0
    assert "Location" in registered.stdout
    assert "********" in registered.stdout  # the shared secret, hidden
    assert data(listed.stdout) == [
        {"name": "Location", "url": HOOK, "accountName": ACCOUNT, "serviceName": "Location"}
    ]
    assert data(removed.stdout) == {"success": True}
    assert again.exit_code == 1
    assert again.stderr.strip() == (
        "Error: 400 Bad Request - INVALID_PARAMETER: "
        f"No callback registered for service Location on account {ACCOUNT}"
    )


@pytest.mark.integration
def test_location_register_shows_the_shared_secret_only_when_asked(cli: Cli) -> None:
    hidden = cli("--json", "location", "register", ACCOUNT, "DeviceLocation", HOOK)
    shown = cli("--json", "location", "register", ACCOUNT, "DeviceLocation", HOOK, "--show-secret")

    (registration,) = cli.server.sandbox.registrations("location")
    assert data(hidden.stdout)["sharedSecret"] == "********"
    assert data(shown.stdout)["sharedSecret"] == registration.shared_secret


@pytest.mark.integration
def test_diagnostics_register_get_unregister(cli: Cli) -> None:
    registered = cli(
        "--json",
        "diagnostics",
        "register",
        ACCOUNT,
        "Diagnostics",
        HOOK,
        "--header",
        "X-Tenant=acme",
    )
    got = cli("diagnostics", "get", ACCOUNT, "--json")
    removed = cli("diagnostics", "unregister", ACCOUNT, "Diagnostics")
    missing = cli("--json", "diagnostics", "get", ACCOUNT)

    assert data(registered.stdout)["httpHeaders"] == {"X-Tenant": "acme"}
    assert data(got.stdout)["endpoint"] == HOOK
    assert removed.exit_code == 0
    assert HOOK in removed.stdout
    assert missing.exit_code == 1
    assert data(missing.stdout) == {
        "error": {
            "type": "PermissionDeniedError",
            "message": missing.stderr.strip().removeprefix("Error: "),
            "status": 403,
            "errorCode": "CALLBACK_NOT_REGISTERED",
            "errorMessage": "Callback is not registered for this account.",
            "requestId": None,
        }
    }


@pytest.mark.integration
@pytest.mark.parametrize(
    ("group", "family"), [("firmware", "firmware"), ("firmware-v3", "firmware_v3")]
)
def test_firmware_register_get_update_unregister(cli: Cli, group: str, family: str) -> None:
    created = cli(group, "register", ACCOUNT, HOOK)
    updated = cli(group, "update", ACCOUNT, HOOK + "/new")
    got = cli("--json", group, "get", ACCOUNT)
    deleted = cli("--json", group, "unregister", ACCOUNT)
    again = cli(group, "get", ACCOUNT)

    assert created.exit_code == updated.exit_code == 0
    assert data(got.stdout) == {"url": HOOK + "/new"}
    assert data(deleted.stdout) == {"success": True}
    assert again.exit_code == 1
    assert "INVALID_PARAMETER" in again.stderr
    assert cli.server.sandbox.calls[f"{family}.register"] == 1


@pytest.mark.integration
def test_connectivity_register_list_unregister(cli: Cli) -> None:
    empty = cli("connectivity", "list", ACCOUNT)
    registered = cli(
        "connectivity",
        "register",
        ACCOUNT,
        "CarrierService",
        HOOK,
        "--callback-username",
        "zaffod",
        "--callback-password",
        "drowssap",
    )
    masked = cli("--json", "connectivity", "list", ACCOUNT)
    shown = cli("--json", "connectivity", "list", ACCOUNT, "--show-secrets")
    table = cli("connectivity", "list", ACCOUNT)
    removed = cli("connectivity", "unregister", ACCOUNT, "CarrierService", "--json")

    assert "No listeners." in empty.stdout
    assert registered.exit_code == 0
    assert data(masked.stdout)[0]["password"] == "********"
    assert data(shown.stdout)[0]["password"] == "drowssap"
    assert "drowssap" not in table.stdout
    assert "zaffod" in table.stdout
    assert data(removed.stdout) == {"accountName": ACCOUNT, "serviceName": "CarrierService"}


@pytest.mark.integration
def test_hyper_precise_register_list_unregister(cli: Cli) -> None:
    registered = cli("--json", "hyper-precise", "register", ACCOUNT, "BullseyeReporting", HOOK)
    listed = cli("--json", "hyper-precise", "list", ACCOUNT)
    removed = cli("--json", "hyper-precise", "unregister", ACCOUNT, "BullseyeReporting")
    again = cli("hyper-precise", "unregister", ACCOUNT, "BullseyeReporting")

    assert data(registered.stdout) == {"aname": ACCOUNT, "name": "BullseyeReporting", "url": HOOK}
    assert data(listed.stdout) == [{"aname": ACCOUNT, "name": "BullseyeReporting", "url": HOOK}]
    assert data(removed.stdout)["responseCode"] == "SUCCESS"
    assert again.exit_code == 1
    assert "404 Not Found - INVALID_PARAMETER" in again.stderr


@pytest.mark.integration
def test_credentials_from_flags(cli: Cli) -> None:
    result = cli(
        "--client-id",
        "sandbox-client-id",
        "--client-secret",
        "wrong-secret",
        "location",
        "list",
        ACCOUNT,
        env={"THINGSPACE_CLIENT_ID": "", "THINGSPACE_CLIENT_SECRET": ""},
    )

    assert result.exit_code == 1
    assert "invalid_client" in result.stderr
    assert "wrong-secret" not in result.stderr + result.stdout


def test_sandbox_flag_needs_no_credentials_or_server() -> None:
    from .conftest import invoke

    result = invoke(["--sandbox", "--json", "location", "register", ACCOUNT, "Location", HOOK])

    assert result.exit_code == 0
    assert data(result.stdout)["serviceName"] == "Location"
