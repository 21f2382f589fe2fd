"""One vocabulary: the same verbs, parameter names and shapes in every family, per-call
options checked like keyword arguments, and ``with_options`` taking what a call takes."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import respx

from thingspace_callbacks import AsyncThingSpaceClient, InvalidArgumentError, RateLimiter
from thingspace_callbacks._families import FAMILIES as REGISTRY
from thingspace_callbacks._families import VERBS, Family
from thingspace_callbacks.callbacks import Callbacks
from thingspace_callbacks.models import DiagnosticsCallbackRegistration, HyperPreciseCallback

from .resources._wire import assert_sent

ACCOUNT = "0252012345-00001"
URL = "https://hooks.example.com/h"

FAMILIES = tuple(family.name for family in REGISTRY)
WITH_SERVICE = tuple(family.name for family in REGISTRY if family.takes_service)
READS_ONE = tuple(family.name for family in REGISTRY if family.read == "get")


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
    unregister = {p.name: p for p in _parameters(client, family, "unregister")}
    if family in WITH_SERVICE:
        assert register["service"].kind is inspect.Parameter.KEYWORD_ONLY
        assert unregister["service"].kind is inspect.Parameter.KEYWORD_ONLY
    else:
        assert "service" not in register
        assert "service" not in unregister


@pytest.mark.parametrize("family", REGISTRY, ids=lambda family: family.name)
async def test_the_family_registry_describes_each_sub_client(
    client: AsyncThingSpaceClient, family: Family
) -> None:
    resource = getattr(client, family.name)
    assert type(resource).__module__ == f"thingspace_callbacks.resources.{family.module}"
    assert {verb for verb in VERBS if hasattr(resource, verb)} == set(family.verbs)
    keywords = [
        p.name
        for p in _parameters(client, family.name, "register")
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    assert tuple(keywords) == family.register_keywords
    assert set(family.seed) <= set(family.verbs)
    for verb, seed in family.seed.items():
        assert callable(getattr(Callbacks, seed)), (family.name, verb)


def test_the_registry_names_every_seed_method_once() -> None:
    seeds = [seed for family in REGISTRY for seed in family.seed.values()]
    assert len(seeds) == len(set(seeds)) == 20
    assert set(seeds) == {name for name in vars(Callbacks) if not name.startswith("_")}


def test_the_sandbox_knows_the_registry_families() -> None:
    from thingspace_callbacks.sandbox import FAMILIES as SANDBOX_FAMILIES

    assert SANDBOX_FAMILIES == FAMILIES


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
        "connectivity",
        "POST",
        f"/m2m/v1/callbacks/{ACCOUNT}",
        {"name": "CarrierService", "url": URL},
        id="connectivity",
    ),
    pytest.param(
        "hyper_precise",
        "POST",
        "/hyper-precise/v1/callbacks",
        {"aname": ACCOUNT, "name": "BullseyeReporting", "url": URL},
        id="hyper_precise",
    ),
]
SERVICES = {
    "diagnostics": "Diagnostics",
    "location": "Location",
    "connectivity": "CarrierService",
    "hyper_precise": "BullseyeReporting",
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
        lambda c: c.hyper_precise.register(
            ACCOUNT, HyperPreciseCallback(aname="another", name="B", url=URL)
        ),
    ],
    ids=["diagnostics-model", "diagnostics-dict", "hyper_precise-model"],
)
async def test_a_body_for_another_account_is_refused(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, call: Any
) -> None:
    route = mock_api.route().respond(json={})
    with pytest.raises(InvalidArgumentError, match="differs from the account"):
        await call(client)
    assert route.call_count == 0


# -- per-call options are checked like keyword arguments --------------------------------

CALLS: list[Callable[[AsyncThingSpaceClient, dict[str, Any]], Awaitable[object]]] = [
    lambda c, o: c.location.list(ACCOUNT, **o),
    lambda c, o: c.diagnostics.register(ACCOUNT, service="D", url=URL, **o),
    lambda c, o: c.firmware_v3.unregister(ACCOUNT, **o),
    lambda c, o: c.hyper_precise.unregister(ACCOUNT, service="B", **o),
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
    assert limited._pipeline.rate_limiter.rate_limit == 5
    assert limited.with_options(rate_limit=None)._pipeline.rate_limiter is None
    assert client._pipeline.rate_limiter is None


async def test_with_options_refuses_unknown_and_bad_settings(client: AsyncThingSpaceClient) -> None:
    with pytest.raises(TypeError, match="timout"):
        client.with_options(timout=1)  # type: ignore[call-arg]
    with pytest.raises(InvalidArgumentError, match="max_retries"):
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
        "connectivity": {"accountName": ACCOUNT, "serviceName": "CarrierService"},
        "hyper_precise": {"aname": ACCOUNT, "name": "BullseyeReporting", "url": URL},
    }[family]


def _query(family: str) -> dict[str, str]:
    return {"accountNumber": ACCOUNT} if family == "hyper_precise" else {}


# -- one name for each thing -------------------------------------------------------------


def test_the_removed_spellings_are_gone() -> None:
    import thingspace_callbacks
    import thingspace_callbacks.receiver as receiver
    import thingspace_callbacks.sandbox as sandbox
    from thingspace_callbacks import FanOut, FanOutProgress
    from thingspace_callbacks.redis import QueuedFanOut
    from thingspace_callbacks.sandbox import Sandbox

    assert not hasattr(thingspace_callbacks, "RequestValidationError")
    assert not hasattr(receiver, "InMemoryDedupeStore")
    assert receiver.MemoryDedupeStore.__name__ == "MemoryDedupeStore"
    assert not hasattr(AsyncThingSpaceClient, "fan_out_all")
    for name in ("succeeded", "failed", "cancelled"):
        # Counts are *_count; the bare names are FanOutReport's lists.
        assert not hasattr(FanOut, name)
        assert f"{name}_count" in FanOutProgress.__dataclass_fields__
        assert isinstance(getattr(FanOut, f"{name}_count"), property)
    assert not hasattr(QueuedFanOut, "all")
    assert callable(QueuedFanOut.collect)
    # One signing function, sign_body(body, secret), wherever it is imported from.
    assert not hasattr(sandbox, "sign")
    assert sandbox.sign_body is receiver.sign_body
    assert list(inspect.signature(receiver.sign_body).parameters) == ["body", "secret"]
    sandbox_options = inspect.signature(Sandbox).parameters
    assert "session_idle_timeout" in sandbox_options
    assert "session_idle_ttl" not in sandbox_options


def test_a_rate_limit_is_spelled_rate_limit_everywhere() -> None:
    from thingspace_callbacks import FanOutOptions
    from thingspace_callbacks.redis import RedisRateLimiter

    takers: list[Callable[..., object]] = [
        AsyncThingSpaceClient,
        AsyncThingSpaceClient.with_options,
        RateLimiter,
        RedisRateLimiter,
    ]
    for taker in takers:
        parameters = inspect.signature(taker).parameters
        assert "rate_limit" in parameters, taker
        assert "rate" not in parameters, taker
    assert "rate_limit" in FanOutOptions.__annotations__
    assert RateLimiter(rate_limit=4).rate_limit == 4
    assert RedisRateLimiter("redis://localhost", rate_limit=4).rate_limit == 4


def test_the_command_line_options_match_the_keywords() -> None:
    from thingspace_callbacks.cli.bulk import bulk
    from thingspace_callbacks.cli.sandbox import sandbox
    from thingspace_callbacks.cli.worker import worker

    def flags(command: Any) -> set[str]:
        return {flag for param in command.params for flag in getattr(param, "opts", ())}

    assert {"--session-idle-timeout", "--token-ttl"} <= flags(sandbox)
    assert "--session-ttl" not in flags(sandbox)
    assert "--rate-limit" in flags(worker)
    assert "--rate" not in flags(worker)
    for command in bulk.commands.values():
        assert "--rate-limit" in flags(command)
        assert "--rate" not in flags(command)


def _sync_handler(message: object) -> None:
    pass


def _bad_configurations() -> list[Any]:
    from thingspace_callbacks import ThingSpaceClient
    from thingspace_callbacks.receiver import (
        AnyOf,
        HmacSignature,
        MemoryDedupeStore,
        Receiver,
        SourceAllowList,
        parse_message,
    )
    from thingspace_callbacks.receiver._uvicorn import guarded_h11_protocol
    from thingspace_callbacks.redis import RedisDedupeStore, RedisRateLimiter, RedisTokenStore
    from thingspace_callbacks.sandbox import Faults, Sandbox

    redis = "redis://localhost"
    cases: dict[str, Callable[[], object]] = {
        "client-timeout": lambda: AsyncThingSpaceClient(timeout=-1),
        "client-timeout-phase": lambda: AsyncThingSpaceClient(
            timeout=httpx.Timeout(5.0, connect=0)
        ),
        "sync-client-timeout": lambda: ThingSpaceClient(timeout="x"),  # type: ignore[arg-type]
        "receiver-max_body_size": lambda: Receiver(verify=[], max_body_size=0),
        "receiver-body_timeout": lambda: Receiver(verify=[], body_timeout=-1),
        "receiver-handler_timeout": lambda: Receiver(verify=[], handler_timeout=0),
        "receiver-body_timeout-type": lambda: Receiver(verify=[], body_timeout="x"),  # type: ignore[arg-type]
        "receiver-max_body_size-type": lambda: Receiver(verify=[], max_body_size=1.5),  # type: ignore[arg-type]
        "any-of-verifiers": lambda: AnyOf("x"),  # type: ignore[arg-type]
        "receiver-sync-handler": lambda: Receiver(verify=[]).add_handler(
            "S",
            _sync_handler,  # type: ignore[arg-type]
        ),
        "receiver-blank-service": lambda: Receiver(verify=[]).add_handler("", _handler),
        "hmac-empty-secret": lambda: HmacSignature(""),
        "allow-list-address": lambda: SourceAllowList(["not an address"]),
        "allow-list-hops": lambda: SourceAllowList(trust_forwarded_for=True, proxy_hops=0),
        "any-of-nothing": lambda: AnyOf(),
        "memory-dedupe-max_entries": lambda: MemoryDedupeStore(max_entries=0),
        "memory-dedupe-max_entries-type": lambda: MemoryDedupeStore(max_entries="x"),  # type: ignore[arg-type]
        "receiver-verify": lambda: Receiver(verify=["x"]),  # type: ignore[list-item]
        "parse-no-model": lambda: parse_message(b"{}", model=()),
        "h11-header_timeout": lambda: guarded_h11_protocol(
            header_timeout=0, max_requests=None, max_connections=None
        ),
        "token-store-prefix": lambda: RedisTokenStore(redis, prefix=1),  # type: ignore[arg-type]
        "token-store-lock_ttl": lambda: RedisTokenStore(redis, lock_ttl=0),
        "dedupe-store-prefix": lambda: RedisDedupeStore(redis, prefix=1),  # type: ignore[arg-type]
        "dedupe-store-claim_ttl": lambda: RedisDedupeStore(redis, claim_ttl=-1),
        "rate-limiter-rate_limit": lambda: RedisRateLimiter(redis, 0),
        "rate-limiter-fallback": lambda: RedisRateLimiter(redis, 1, fallback=5),  # type: ignore[arg-type]
        "local-rate-limiter": lambda: RateLimiter(float("nan")),
        "sandbox-session_idle_timeout": lambda: Sandbox(session_idle_timeout=0),
        "sandbox-token_ttl": lambda: Sandbox(token_ttl=-1),
        "sandbox-expired-status": lambda: Sandbox(session_expired_status=418),
        "sandbox-family": lambda: Sandbox().registrations("no-such-family"),
        "sandbox-faults-rate": lambda: Faults(error_rate=2),
        "sandbox-faults-latency": lambda: Faults(latency=(2, 1)),
        "sandbox-faults-total": lambda: Faults(error_rate=0.6, drop_rate=0.6),
    }
    return [pytest.param(make, id=name) for name, make in cases.items()]


async def _handler(message: object) -> None:
    pass


@pytest.mark.parametrize("make", _bad_configurations())
def test_a_bad_setting_is_an_invalid_argument_error(make: Callable[[], object]) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        make()
    assert isinstance(caught.value, ValueError)
    assert "\n" not in str(caught.value)  # one line, whoever words it
