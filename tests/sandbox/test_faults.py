"""Fault injection: deterministic with a seed, settable from Python and the admin route."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from thingspace_callbacks import (
    APIConnectionError,
    APIStatusError,
    AsyncThingSpaceClient,
    InternalServerError,
    InvalidArgumentError,
    RateLimitError,
    RetryPolicy,
)
from thingspace_callbacks.sandbox import Faults, Sandbox
from thingspace_callbacks.sandbox._faults import FaultInjector, describe_invalid

ACCOUNT = "0000123456-00001"


@pytest.fixture
def client(sandbox: Sandbox) -> AsyncThingSpaceClient:
    return sandbox.client(max_retries=0)


async def outcomes(client: AsyncThingSpaceClient, n: int) -> list[int]:
    statuses = []
    for _ in range(n):
        try:
            await client.location.list(ACCOUNT)
            statuses.append(200)
        except APIStatusError as exc:
            statuses.append(exc.status_code)
    return statuses


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"error_rate": 1.5}, "'error_rate' must be a number between 0 and 1, got 1.5"),
        ({"drop_rate": -0.1}, "'drop_rate' must be a number between 0 and 1, got -0.1"),
        (
            {"error_rate": 0.6, "rate_limit_rate": 0.6},
            "error_rate + rate_limit_rate + drop_rate must not exceed 1",
        ),
        ({"error_status": 302}, "'error_status' must be a 4xx or 5xx status, got 302"),
        ({"latency": -1}, "'latency' must be a finite number of seconds >= 0, got -1"),
        ({"latency": (0.2, 0.1)}, "'latency' range must have low <= high, got [0.2, 0.1]"),
        ({"retry_after": -1}, "'retry_after' must be an int >= 0, got -1"),
        ({"retry_after": 1.5}, "'retry_after' must be an int >= 0, got 1.5"),
        (
            {"seed": "x", "error_rate": 2, "colour": "red"},
            "unknown fault settings: colour; "
            "'error_rate' must be a number between 0 and 1, got 2; "
            "seed: Input should be a valid integer",
        ),
    ],
)
def test_invalid_faults_are_an_invalid_argument_error(
    options: dict[str, Any], message: str
) -> None:
    # The one error type of every bad setting, in one line, not pydantic's own.
    with pytest.raises(InvalidArgumentError) as caught:
        Faults(**options)

    assert str(caught.value) == message
    assert not isinstance(caught.value, ValidationError)
    assert caught.value.__cause__ is None


def test_faults_round_trip_through_json() -> None:
    faults = Faults(latency=(0.01, 0.02), error_rate=0.25, seed=3, include_auth=True)

    dumped = faults.model_dump(mode="json")
    assert dumped["latency"] == [0.01, 0.02]
    assert Faults.model_validate(json.loads(json.dumps(dumped))) == faults


def test_faults_are_frozen_and_hashable() -> None:
    faults = Faults(error_rate=0.5)

    with pytest.raises(ValidationError, match="frozen"):
        faults.error_rate = 0.1  # type: ignore[misc]
    assert hash(faults) == hash(Faults(error_rate=0.5))


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"colour": "red"}, "unknown fault settings: colour"),
        ({"colour": "red", "size": 1}, "unknown fault settings: colour, size"),
        ({"seed": [1, 2]}, "seed: Input should be a valid integer"),
        ({"seed": True}, "seed: Input should be a valid integer"),
        ({"latency": [None, 1]}, "'latency' must be a finite number of seconds >= 0, got None"),
        ({"latency": [1]}, "'latency' range must be [low, high], got [1]"),
        ({"latency": [0, 1, 2]}, "'latency' range must be [low, high]"),
        ({"latency": "fast"}, "'latency' must be a finite number of seconds"),
        ({"latency": float("nan")}, "'latency' must be a finite number of seconds"),
        ({"latency": float("inf")}, "'latency' must be a finite number of seconds"),
        ({"error_rate": "0.5"}, "'error_rate' must be a number between 0 and 1, got '0.5'"),
        ({"drop_rate": True}, "'drop_rate' must be a number between 0 and 1, got True"),
        ({"rate_limit_rate": float("nan")}, "'rate_limit_rate' must be a number between 0 and 1"),
        ({"error_status": "503"}, "'error_status' must be an int >= 0, got '503'"),
        ({"error_status": 600}, "'error_status' must be a 4xx or 5xx status, got 600"),
        ({"retry_after": -1}, "'retry_after' must be an int >= 0, got -1"),
        ({"include_auth": "yes"}, "include_auth: Input should be a valid boolean"),
        ({"error_rate": 0.7, "drop_rate": 0.7}, "must not exceed 1"),
    ],
)
def test_settings_from_json_are_checked(data: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Faults.model_validate(data)

    assert problem in describe_invalid(caught.value)
    assert isinstance(caught.value, ValueError)  # what the CLI and callers catch


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        Faults.model_validate({"seed": "x", "error_rate": 2, "colour": "red"})

    assert describe_invalid(caught.value) == (
        "unknown fault settings: colour; "
        "'error_rate' must be a number between 0 and 1, got 2; "
        "seed: Input should be a valid integer"
    )


async def test_same_seed_same_faults(sandbox: Sandbox, client: AsyncThingSpaceClient) -> None:
    other = Sandbox()
    other_client = other.client(max_retries=0)
    sandbox.faults = other.faults = Faults(error_rate=0.5, seed=7)

    first = await outcomes(client, 20)
    second = await outcomes(other_client, 20)
    sandbox.faults = Faults(error_rate=0.5, seed=7)  # setting again restarts the sequence
    again = await outcomes(client, 20)

    assert first == second == again
    assert set(first) == {200, 503}


async def test_error_rate_answers_the_chosen_status(
    sandbox: Sandbox, client: AsyncThingSpaceClient
) -> None:
    sandbox.faults = Faults(error_rate=1.0, error_status=500)

    with pytest.raises(InternalServerError) as caught:
        await client.location.list(ACCOUNT)

    assert caught.value.error_code == "SANDBOX_INJECTED_FAULT"


async def test_rate_limit_answers_429_with_retry_after(
    sandbox: Sandbox, client: AsyncThingSpaceClient
) -> None:
    sandbox.faults = Faults(rate_limit_rate=1.0, retry_after=7)

    with pytest.raises(RateLimitError) as caught:
        await client.location.list(ACCOUNT)

    assert caught.value.headers["Retry-After"] == "7"
    assert caught.value.error_code == "900800"


async def test_dropped_connection_is_a_connection_error(
    sandbox: Sandbox, client: AsyncThingSpaceClient
) -> None:
    sandbox.faults = Faults(drop_rate=1.0)

    with pytest.raises(APIConnectionError):
        await client.location.list(ACCOUNT)


async def test_latency_delays_answers(sandbox: Sandbox, client: AsyncThingSpaceClient) -> None:
    await client.location.list(ACCOUNT)  # credentials first: auth endpoints are exempt
    sandbox.faults = Faults(latency=0.05)

    started = time.perf_counter()
    await client.location.list(ACCOUNT)

    assert time.perf_counter() - started >= 0.05


def test_random_latency_is_drawn_in_range_and_reproducible() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not called")

    injector = FaultInjector(app, Faults(latency=(0.1, 0.2), seed=1))
    first = [injector.draw()[0] for _ in range(50)]
    injector.faults = Faults(latency=(0.1, 0.2), seed=1)
    second = [injector.draw()[0] for _ in range(50)]

    assert first == second
    assert all(0.1 <= value <= 0.2 for value in first)
    assert len(set(first)) > 1


async def test_auth_endpoints_are_spared_unless_asked(sandbox: Sandbox) -> None:
    sandbox.faults = Faults(error_rate=1.0)
    async with sandbox.client(max_retries=0) as client:
        with pytest.raises(APIStatusError) as caught:
            await client.location.list(ACCOUNT)
    assert caught.value.status_code == 503
    assert sandbox.calls["token"] == 1

    sandbox.reset()
    sandbox.faults = Faults(error_rate=1.0, include_auth=True)
    async with sandbox.client(max_retries=0) as client:
        with pytest.raises(APIStatusError):
            await client.location.list(ACCOUNT)
    assert sandbox.calls["token"] == 0


async def test_sdk_retries_through_injected_errors(sandbox: Sandbox) -> None:
    sandbox.faults = Faults(error_rate=0.3, rate_limit_rate=0.1, retry_after=0, seed=11)
    fast = RetryPolicy(initial_backoff=0.001, max_backoff=0.002)
    async with sandbox.client(max_retries=8, retry_policy=fast) as client:
        for _ in range(15):
            assert await client.location.list(ACCOUNT) == []

    assert sandbox.calls["location.list"] == 15


async def test_admin_route_sets_and_clears_faults(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url="http://sandbox.thingspace.test"
    ) as http:
        put = await http.put("/sandbox/faults", json={"error_rate": 0.5, "latency": [0, 0.01]})
        assert put.status_code == 200
        assert sandbox.faults == Faults(error_rate=0.5, latency=(0.0, 0.01))
        assert (await http.get("/sandbox/faults")).json()["error_rate"] == 0.5

        bad = await http.put("/sandbox/faults", json={"error_rate": 2})
        assert bad.status_code == 400
        assert "between 0 and 1" in bad.json()["errorMessage"]

        await http.delete("/sandbox/faults")
        assert sandbox.faults == Faults()


async def test_admin_routes_never_meet_faults(sandbox: Sandbox) -> None:
    sandbox.faults = Faults(drop_rate=1.0)
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url="http://sandbox.thingspace.test"
    ) as http:
        assert (await http.get("/sandbox/registrations")).status_code == 200
