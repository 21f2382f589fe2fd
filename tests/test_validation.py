"""Bad arguments raise ``InvalidArgumentError`` naming the argument, before any
request is sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import respx
from pydantic import SecretStr

from thingspace_callbacks import AsyncThingSpaceClient, InvalidArgumentError
from thingspace_callbacks.models import CallbackRequest, LocationCallback

URL = "https://listener.example.com/hook"

Bad = Callable[[Any], Awaitable[object]]


def bad(call: Bad, match: str, id: str) -> Any:
    """One invalid call (``call(client)``), and the text the error must contain."""
    return pytest.param(call, match, id=id)


EMPTY_OR_BLANK = [
    bad(lambda c: c.diagnostics.get(""), "'account' must not be empty", "diag-get-empty"),
    bad(lambda c: c.diagnostics.get(" \t"), "'account' must not be empty", "diag-get-blank"),
    bad(
        lambda c: c.diagnostics.register("", service="s", url=URL),
        "'account'",
        "diag-register-empty-account",
    ),
    bad(
        lambda c: c.diagnostics.register("a", service=" ", url=URL),
        "'service'",
        "diag-register-blank-service",
    ),
    bad(lambda c: c.diagnostics.unregister("a", service=""), "'service'", "diag-unregister"),
    bad(lambda c: c.location.list(""), "'account'", "loc-list"),
    bad(lambda c: c.location.register("  ", service="Location", url=URL), "'account'", "loc-reg"),
    bad(lambda c: c.location.unregister("a", service=""), "'service'", "loc-dereg-service"),
    bad(lambda c: c.firmware.get(""), "'account'", "fota2-get"),
    bad(lambda c: c.firmware.register(" ", url=URL), "'account'", "fota2-create"),
    bad(lambda c: c.firmware.update("", url=URL), "'account'", "fota2-update"),
    bad(lambda c: c.firmware.unregister("\n"), "'account'", "fota2-delete"),
    bad(lambda c: c.firmware_v3.get(""), "'account'", "fota3-get"),
    bad(lambda c: c.firmware_v3.unregister(" "), "'account'", "fota3-delete"),
    bad(lambda c: c.connectivity.list(""), "'account'", "m2m-list"),
    bad(
        lambda c: c.connectivity.register("", service="CarrierService", url=URL),
        "'account'",
        "m2m-register",
    ),
    bad(lambda c: c.connectivity.unregister("a", service=" "), "'service'", "m2m-unregister"),
    bad(lambda c: c.hyper_precise.list(""), "'account'", "hpl-list"),
    bad(
        lambda c: c.hyper_precise.register(" ", service="n", url=URL),
        "'account'",
        "hpl-register",
    ),
    bad(
        lambda c: c.hyper_precise.register("a", service="", url=URL),
        "'service'",
        "hpl-register-name",
    ),
    bad(lambda c: c.hyper_precise.unregister("a", service=" "), "'service'", "hpl-deregister"),
    bad(lambda c: c.location.list(".."), "'account' must not be '..'", "loc-dot-dot"),
    bad(lambda c: c.firmware.get("."), "'account' must not be '.'", "fota-dot"),
]

NOT_HTTP_URL = [
    bad(
        lambda c: c.diagnostics.register("a", service="s", url="ftp://x/y"),
        "'url' must be an absolute http",
        "diag-ftp",
    ),
    bad(
        lambda c: c.location.register("a", service="Location", url="javascript:alert(1)"),
        "'url'",
        "loc-javascript",
    ),
    bad(lambda c: c.firmware.register("a", url="www.example.com/hook"), "'url'", "fota-no-scheme"),
    bad(lambda c: c.firmware_v3.update("a", url="https://"), "'url'", "fota-no-host"),
    bad(lambda c: c.firmware.update("a", url="https://exa mple.com"), "'url'", "fota-space"),
    bad(lambda c: c.firmware.register("a", url="http://example.com:0/"), "'url'", "fota-port-0"),
    bad(lambda c: c.firmware.register("a", url="http://example.com:99999/"), "'url'", "port-range"),
    bad(
        lambda c: c.connectivity.register("a", service="CarrierService", url="file:///etc/passwd"),
        "'url'",
        "m2m-file",
    ),
    bad(
        lambda c: c.hyper_precise.register("a", service="n", url="mailto:x@y.z"),
        "'url'",
        "hpl-mailto",
    ),
    bad(
        lambda c: c.location.register("a", {"name": "Location", "url": "/relative"}),
        "'url'",
        "loc-body-relative",
    ),
    bad(lambda c: c.firmware.register("a"), "'url' is required", "fota-missing-url"),
]

WRONG_TYPES = [
    bad(lambda c: c.diagnostics.get(12345), "'account' must be a string, not int", "int"),
    bad(lambda c: c.location.list(None), "'account' is required", "none"),
    bad(lambda c: c.firmware.get(["a"]), "'account' must be a string, not list", "list"),
    bad(
        lambda c: c.connectivity.unregister("a", service=3.5), "'service' must be a string", "float"
    ),
    bad(lambda c: c.hyper_precise.list(b"acct"), "'account' must be a string", "bytes"),
    bad(
        lambda c: c.hyper_precise.register("a", service="n", url=42),
        "'url': Input should be a valid string",
        "hpl-url-int",
    ),
    bad(
        lambda c: c.location.register("a", service=7, url=URL),
        "'service': Input should be 'Location'",
        "enum",
    ),
    bad(
        lambda c: c.firmware.register("a", "https://x.example"),
        "'body' must be a FirmwareCallback",
        "body-str",
    ),
    bad(
        lambda c: c.diagnostics.register("a"),
        "'service': Field required",
        "diag-nothing",
    ),
    bad(
        lambda c: c.connectivity.register("a", url=URL), "'service': Field required", "m2m-no-name"
    ),
]

BODY_AND_FIELDS = [
    bad(
        lambda c: c.location.register("a", {"name": "Location", "url": URL}, url=URL),
        "pass either 'body' or ['url']",
        "location",
    ),
    bad(
        lambda c: c.diagnostics.register(
            "a", {"accountName": "a", "serviceName": "s", "endpoint": URL}, url=URL
        ),
        "not both",
        "diagnostics",
    ),
    bad(lambda c: c.firmware.register("a", CallbackRequest(url=URL), url=URL), "not both", "fota"),
    bad(
        lambda c: c.connectivity.register(
            "a", {"name": "CarrierService", "url": URL}, password="pw"
        ),
        "['password']",
        "m2m",
    ),
]

SEED_FACADE = [
    bad(
        lambda c: c.callbacks.register_callback_url("", LocationCallback(name="Location", url=URL)),
        "'account'",
        "seed-empty-account",
    ),
    bad(
        lambda c: c.callbacks.create_https_callback_address_1("a", {"url": "ftp://x"}),
        "'url'",
        "seed-ftp",
    ),
    bad(lambda c: c.callbacks.callbacks_account_number_get(" "), "'account'", "seed-blank"),
]

NON_ASCII_HEADERS = [
    # The hyper-precise POST sends `name` and `url` as HTTP headers, which are ASCII.
    bad(
        lambda c: c.hyper_precise.register("a", service="Bullseyé", url=URL),
        "'service'",
        "hpl-name",
    ),
    bad(
        lambda c: c.hyper_precise.register("a", service="n", url="https://exämple.com/hook"),
        "'url'",
        "hpl-url",
    ),
    bad(
        lambda c: c.hyper_precise.register("a", service="n\r\nX-Evil: 1", url=URL),
        "'service'",
        "hpl-crlf",
    ),
]


@pytest.mark.parametrize(
    ("call", "match"),
    EMPTY_OR_BLANK + NOT_HTTP_URL + WRONG_TYPES + BODY_AND_FIELDS + SEED_FACADE + NON_ASCII_HEADERS,
)
async def test_invalid_input_sends_nothing(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, call: Bad, match: str
) -> None:
    route = mock_api.route().respond(200, json={})
    with pytest.raises(InvalidArgumentError) as info:
        await call(client)
    assert match in str(info.value)
    assert isinstance(info.value, ValueError)
    assert route.call_count == 0


async def test_invalid_password_is_not_echoed(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.route().respond(200, json={})
    with pytest.raises(InvalidArgumentError) as info:
        await client.connectivity.register(
            "a",
            service="CarrierService",
            url=URL,
            password=["hunter2-secret"],  # type: ignore[arg-type]
        )
    assert "password" in str(info.value)
    assert "hunter2-secret" not in str(info.value)
    assert route.call_count == 0


async def test_secret_password_in_invalid_body_is_not_echoed(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        await client.connectivity.register(
            "a", {"url": URL, "password": SecretStr("hunter2-secret")}
        )
    assert "hunter2-secret" not in str(info.value)
    assert "name" in str(info.value)


async def test_credentials_in_a_rejected_url_are_not_echoed(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.route().respond(200, json={})
    with pytest.raises(InvalidArgumentError) as info:
        await client.location.register("a", service="Location", url="ftp://ops:hunter2@h.example/x")
    assert "hunter2" not in str(info.value)
    assert "h.example/x" in str(info.value)
    assert route.call_count == 0


# Every way an account reaches the wire: a path segment (Location, Software Management,
# Connectivity Management) or a query parameter (Diagnostics, Hyper Precise Location).
ACCOUNT_CALLS: dict[str, Callable[[Any, Any], Awaitable[object]]] = {
    "diagnostics.get": lambda c, a: c.diagnostics.get(a),
    "diagnostics.register": lambda c, a: c.diagnostics.register(a, service="Diagnostics", url=URL),
    "diagnostics.unregister": lambda c, a: c.diagnostics.unregister(a, service="Diagnostics"),
    "location.list": lambda c, a: c.location.list(a),
    "location.register": lambda c, a: c.location.register(a, service="Location", url=URL),
    "location.unregister": lambda c, a: c.location.unregister(a, service="Location"),
    "firmware.get": lambda c, a: c.firmware.get(a),
    "firmware.register": lambda c, a: c.firmware.register(a, url=URL),
    "firmware.update": lambda c, a: c.firmware.update(a, url=URL),
    "firmware.unregister": lambda c, a: c.firmware.unregister(a),
    "firmware_v3.get": lambda c, a: c.firmware_v3.get(a),
    "firmware_v3.unregister": lambda c, a: c.firmware_v3.unregister(a),
    "connectivity.list": lambda c, a: c.connectivity.list(a),
    "connectivity.register": lambda c, a: c.connectivity.register(
        a, service="CarrierService", url=URL
    ),
    "connectivity.unregister": lambda c, a: c.connectivity.unregister(a, service="CarrierService"),
    "hyper_precise.list": lambda c, a: c.hyper_precise.list(a),
    "hyper_precise.register": lambda c, a: c.hyper_precise.register(
        a, service="BullseyeReporting", url=URL
    ),
    "hyper_precise.unregister": lambda c, a: c.hyper_precise.unregister(
        a, service="BullseyeReporting"
    ),
    "seed.register_callback_url": lambda c, a: c.callbacks.register_callback_url(
        a, LocationCallback(name="Location", url=URL)
    ),
}

MALFORMED_ACCOUNTS = {
    "not an account!": "must not contain whitespace",
    "0252012345/00001": "must not contain '/'",
    "0252012345\\00001": "must not contain '\\\\'",
    "0252012345-00001?x=1": "must not contain '?'",
    "0252012345-00001#x": "must not contain '#'",
    "0252012345%2F00001": "must not contain '%'",
    " 0252012345-00001": "must not contain whitespace",
    "0252012345-00001\n": "must not contain whitespace",
    "0252012345\x00-00001": "must not contain '\\x00'",
    "0252012345-00001\u00a0": "must not contain whitespace",
}


@pytest.mark.parametrize("operation", sorted(ACCOUNT_CALLS))
@pytest.mark.parametrize("account", sorted(MALFORMED_ACCOUNTS))
async def test_a_malformed_account_is_refused_before_sending(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, operation: str, account: str
) -> None:
    route = mock_api.route().respond(200, json={})

    with pytest.raises(InvalidArgumentError) as info:
        await ACCOUNT_CALLS[operation](client, account)

    assert str(info.value) == (
        f"'account' {MALFORMED_ACCOUNTS[account]}: {account!r} is not a ThingSpace account "
        "(account names look like '0252012345-00001')"
    )
    assert route.call_count == 0


PLAUSIBLE_ANSWERS = {
    "location.list": [],
    "connectivity.list": [],
    "hyper_precise.list": [],
    "firmware.get": {"url": URL},
}


@pytest.mark.parametrize(
    "account", ["0252012345-00001", "0000123456", "ACME_Corp.2", "acct&x=1", "Ünïcode-1"]
)
@pytest.mark.parametrize("operation", sorted(PLAUSIBLE_ANSWERS))
async def test_plausible_accounts_are_sent_as_they_are(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, operation: str, account: str
) -> None:
    route = mock_api.route().respond(200, json=PLAUSIBLE_ANSWERS[operation])

    await ACCOUNT_CALLS[operation](client, account)

    (call,) = route.calls
    url = call.request.url
    sent = url.params["accountNumber"] if "accountNumber" in url.params else url.path.split("/")[-1]
    assert sent == account
