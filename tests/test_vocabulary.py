"""One vocabulary: the same verbs, parameter names and shapes in every family, per-call
options checked like keyword arguments, and ``with_options`` taking what a call takes."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import respx

from thingspace_callbacks import AsyncThingSpaceClient, RateLimiter, RequestValidationError
from thingspace_callbacks.models import DiagnosticsCallbackRegistration, HyperPreciseCallback

from .resources._wire import assert_sent

ACCOUNT = "0252012345-00001"
URL = "https://hooks.example.com/h"

FAMILIES = ("diagnostics", "location", "firmware", "firmware_v3", "account_name", "account_number")
WITH_SERVICE = ("diagnostics", "location", "account_name", "account_number")
READS_ONE = ("diagnostics", "firmware", "firmware_v3")


def _parameters(client: AsyncThingSpaceClient, family: str, verb: str) -> list[inspect.Parameter]:
    method = getattr(getattr(client, family), verb)
    return list(inspect.signature(method).parameters.values())


@pytest.mark.parametrize("family", FAMILIES)
async def test_every_family_registers_and_unregisters_with_the_account_first(
    client: AsyncThingSpaceClient, family: str
) -> None:
    for verb in ("register", "unregister", "get" if family in READS_ONE else "list"):
        first = _parameters(client, family, verb)[0]
        assert (first.name, first.kind) == ("account", first.POSITIONAL_OR_KEYWORD), verb
    register = {p.name: p for p in _parameters(client, family, "register")}
    assert list(register)[:2] == ["account", "body"]
    assert register["body"].default is None
    assert register["url"].kind is inspect.Parameter.KEYWORD_ONLY
    if family in WITH_SERVICE:
        assert register["service"].kind is inspect.Parameter.KEYWORD_ONLY
        assert [p.name for p in _parameters(client, family, "unregister")][:2] == [
            "account",
            "service",
        ]
    else:
        assert "service" not in register


async def test_old_verbs_are_gone(client: AsyncThingSpaceClient) -> None:
    for family in FAMILIES:
        for verb in ("create", "delete", "deregister"):
            assert not hasattr(getattr(client, family), verb), (family, verb)


# Each family's register, called the same way: account, service (when it has one), url.
REGISTER: list[Any] = [
    pytest.param(
        "diagnostics",
        "POST",
        "/diagnostics/v1/callbacks",
        {"accountName": ACCOUNT, "serviceName": "Diagnostics", "endpoint": URL},
        id="diagnostics",
    ),
    pytest.param(
        "location",
        "POST",
        f"/loc/v1/callbacks/{ACCOUNT}",
        {"name": "Location", "url": URL},
        id="location",
    ),
    pytest.param("firmware", "POST", f"/fota/v2/callbacks/{ACCOUNT}", {"url": URL}, id="firmware"),
    pytest.param(
        "account_name",
        "POST",
        f"/m2m/v1/callbacks/{ACCOUNT}",
        {"name": "CarrierService", "url": URL},
        id="account_name",
    ),
    pytest.param(
        "account_number",
        "POST",
        "/hyper-precise/v1/callbacks",
        {"aname": ACCOUNT, "name": "BullseyeReporting", "url": URL},
        id="account_number",
    ),
]
SERVICES = {
    "diagnostics": "Diagnostics",
    "location": "Location",
    "account_name": "CarrierService",
    "account_number": "BullseyeReporting",
}


@pytest.mark.parametrize(("family", "method", "path", "body"), REGISTER)
async def test_register_reads_the_same_in_every_family(
    client: AsyncThingSpaceClient,
    mock_api: respx.MockRouter,
    family: str,
    method: str,
    path: str,
    body: dict[str, str],
) -> None:
    route = mock_api.route(method=method, path=path).respond(json=_answer(family))
    service = {"service": SERVICES[family]} if family in SERVICES else {}
    await getattr(client, family).register(ACCOUNT, url=URL, **service)
    assert_sent(
        route.calls.last.request, method=method, path=path, body=body, params=_query(family)
    )


@pytest.mark.parametrize(("family", "method", "path", "body"), REGISTER)
async def test_body_is_always_an_alternative_to_the_keywords(
    client: AsyncThingSpaceClient,
    mock_api: respx.MockRouter,
    family: str,
    method: str,
    path: str,
    body: dict[str, str],
) -> None:
    route = mock_api.route(method=method, path=path).respond(json=_answer(family))
    await getattr(client, family).register(ACCOUNT, body)
    assert_sent(
        route.calls.last.request, method=method, path=path, body=body, params=_query(family)
    )


async def test_a_body_without_the_account_gets_it(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.post("/diagnostics/v1/callbacks").respond(json=_answer("diagnostics"))
    await client.diagnostics.register(ACCOUNT, {"serviceName": "Diagnostics", "endpoint": URL})
    await client.diagnostics.register(ACCOUNT, {"service_name": "Diagnostics", "endpoint": URL})
    for call in route.calls:
        assert call.request.content.startswith(f'{{"accountName":"{ACCOUNT}"'.encode())


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.diagnostics.register(
            ACCOUNT,
            DiagnosticsCallbackRegistration(
                account_name="another", service_name="Diagnostics", endpoint=URL
            ),
        ),
        lambda c: c.diagnostics.register(
            ACCOUNT, {"accountName": "another", "serviceName": "D", "endpoint": URL}
        ),
        lambda c: c.account_number.register(
            ACCOUNT, HyperPreciseCallback(aname="another", name="B", url=URL)
        ),
    ],
    ids=["diagnostics-model", "diagnostics-dict", "account_number-model"],
)
async def test_a_body_for_another_account_is_refused(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, call: Any
) -> None:
    route = mock_api.route().respond(json={})
    with pytest.raises(RequestValidationError, match="differs from the account"):
        await call(client)
    assert route.call_count == 0


# -- per-call options are checked like keyword arguments --------------------------------

CALLS: list[Callable[[AsyncThingSpaceClient, dict[str, Any]], Awaitable[object]]] = [
    lambda c, o: c.location.list(ACCOUNT, **o),
    lambda c, o: c.diagnostics.register(ACCOUNT, service="D", url=URL, **o),
    lambda c, o: c.firmware_v3.unregister(ACCOUNT, **o),
    lambda c, o: c.account_number.unregister(ACCOUNT, "B", **o),
    lambda c, o: c.location.with_raw_response.register(ACCOUNT, service="Location", url=URL, **o),
    lambda c, o: c.callbacks.get_registered_callback_ur_ls(ACCOUNT, **o),
]


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize(
    ("options", "named", "hint"),
    [
        ({"timout": 0.001}, "timout", "did you mean 'timeout'"),
        ({"max_retires": 9}, "max_retires", "did you mean 'max_retries'"),
        ({"extra_header": {"X": "1"}}, "extra_header", "did you mean 'extra_headers'"),
        ({"bogus": 1}, "bogus", "options: deadline, extra_headers"),
    ],
)
async def test_a_misspelled_option_raises_type_error_before_sending(
    client: AsyncThingSpaceClient,
    mock_api: respx.MockRouter,
    call: Callable[[AsyncThingSpaceClient, dict[str, Any]], Awaitable[object]],
    options: dict[str, Any],
    named: str,
    hint: str,
) -> None:
    route = mock_api.route().respond(json=[])
    with pytest.raises(TypeError, match=f"got an unexpected keyword argument '{named}'") as caught:
        await call(client, options)
    assert hint in str(caught.value)
    assert route.call_count == 0


async def test_the_error_names_the_operation(client: AsyncThingSpaceClient) -> None:
    with pytest.raises(TypeError, match=r"^location\.list\(\) got an unexpected"):
        await client.location.list(ACCOUNT, timout=1)  # type: ignore[call-arg]


# -- with_options takes what a call takes ----------------------------------------------


async def test_with_options_takes_the_per_call_options_and_headers(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.get(f"/loc/v1/callbacks/{ACCOUNT}").respond(json=[])
    copy = client.with_options(
        timeout=3.0, max_retries=0, deadline=9, extra_headers={"X-Tenant": "t1"}
    )
    await copy.location.list(ACCOUNT)
    await copy.location.list(ACCOUNT, extra_headers={"X-Call": "c"})
    await client.location.list(ACCOUNT)
    first, second, original = (call.request for call in route.calls)
    assert first.headers["x-tenant"] == "t1"
    assert (second.headers["x-tenant"], second.headers["x-call"]) == ("t1", "c")
    assert "x-tenant" not in original.headers
    assert first.extensions["timeout"] == dict.fromkeys(("connect", "read", "write", "pool"), 3.0)
    assert (copy.max_retries, copy.deadline, client.max_retries, client.deadline) == (0, 9, 2, None)


async def test_with_options_sets_and_removes_the_rate_limit(client: AsyncThingSpaceClient) -> None:
    limited = client.with_options(rate_limit=5)
    assert isinstance(limited._pipeline.rate_limiter, RateLimiter)
    assert limited._pipeline.rate_limiter.rate == 5
    assert limited.with_options(rate_limit=None)._pipeline.rate_limiter is None
    assert client._pipeline.rate_limiter is None


async def test_with_options_refuses_unknown_and_bad_settings(client: AsyncThingSpaceClient) -> None:
    with pytest.raises(TypeError, match="timout"):
        client.with_options(timout=1)  # type: ignore[call-arg]
    with pytest.raises(RequestValidationError, match="max_retries"):
        client.with_options(max_retries=-1)


async def test_timeout_none_means_no_timeout_in_a_copy(client: AsyncThingSpaceClient) -> None:
    assert client.with_options(timeout=None).timeout == httpx.Timeout(None)


def _answer(family: str) -> object:
    return {
        "diagnostics": {
            "accountName": ACCOUNT,
            "serviceName": "Diagnostics",
            "endpoint": URL,
            "createdOn": "2024-01-01T00:00:00Z",
        },
        "location": {"accountName": ACCOUNT, "serviceName": "Location"},
        "firmware": {"url": URL},
        "account_name": {"accountName": ACCOUNT, "serviceName": "CarrierService"},
        "account_number": {"aname": ACCOUNT, "name": "BullseyeReporting", "url": URL},
    }[family]


def _query(family: str) -> dict[str, str]:
    return {"accountNumber": ACCOUNT} if family == "account_number" else {}
