"""``ThingSpaceClient.fan_out``: results as they complete, with the async fan-out's
bounds; closing early cancels the run."""

from __future__ import annotations

import functools
import threading
import time

import pytest

from thingspace_callbacks import (
    AsyncThingSpaceClient,
    FanOutCancelledError,
    InvalidArgumentError,
    ThingSpaceClient,
)
from thingspace_callbacks.sandbox import SandboxServer

from .._telemetry import Recorded, recorded
from .conftest import HOOK

__all__ = ["recorded"]

pytestmark = pytest.mark.integration

ACCOUNTS = [f"0000123456-{n:05}" for n in range(30)]


def test_results_come_one_per_account_with_failures_as_results(
    client: ThingSpaceClient, server: SandboxServer
) -> None:
    register = functools.partial(client.location.register, service="Location", url=HOOK)
    accounts = [*ACCOUNTS, "not an account"]

    with client.fan_out(accounts, register, concurrency=5) as results:
        seen = list(results)

    assert sorted(r.account for r in seen) == sorted(accounts)
    failed = [r for r in seen if not r.ok]
    assert [r.account for r in failed] == ["not an account"]
    assert isinstance(failed[0].error, InvalidArgumentError)
    assert len(server.sandbox.registrations()) == 30


def test_concurrency_bounds_the_calls_in_flight(client: ThingSpaceClient) -> None:
    lock = threading.Lock()
    running = peak = 0

    def operation(account: str) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            time.sleep(0.02)
            return len(client.location.list(account))
        finally:
            with lock:
                running -= 1

    report = client.fan_out(ACCOUNTS, operation, concurrency=4).collect()

    assert report.ok
    assert [r.account for r in report.succeeded] == ACCOUNTS  # collect: input order
    assert 1 < peak <= 4


def test_closing_early_stops_the_run(client: ThingSpaceClient) -> None:
    started: list[str] = []

    def operation(account: str) -> str:
        started.append(account)
        time.sleep(0.05)
        return account

    with client.fan_out(iter(ACCOUNTS), operation, concurrency=2) as results:
        first = next(results)
    settled = len(started)
    time.sleep(0.3)

    assert first.ok
    assert len(started) == settled < len(ACCOUNTS)  # nothing more was taken
    assert list(results) == []


def test_fail_fast_cancels_the_rest(client: ThingSpaceClient) -> None:
    def operation(account: str) -> str:
        if account == ACCOUNTS[0]:
            raise ValueError("boom")
        time.sleep(0.2)
        return account

    results = list(client.fan_out(ACCOUNTS, operation, concurrency=3, fail_fast=True))

    errors = [r.error for r in results if not r.ok]
    assert any(isinstance(e, ValueError) for e in errors)
    assert len(results) < len(ACCOUNTS)
    assert all(isinstance(e, (ValueError, FanOutCancelledError)) for e in errors)


def test_bad_options_raise_before_anything_runs(client: ThingSpaceClient) -> None:
    with pytest.raises(InvalidArgumentError, match="concurrency"):
        client.fan_out(ACCOUNTS, client.location.list, concurrency=0)
    with pytest.raises(InvalidArgumentError, match="single string"):
        client.fan_out("0000123456-00001", client.location.list)


def test_an_async_operation_is_refused_before_anything_runs(
    client: ThingSpaceClient, server: SandboxServer
) -> None:
    async_client = AsyncThingSpaceClient(base_url=server.base_url)

    class Operation:
        async def __call__(self, account: str) -> None: ...

    async def operation(account: str) -> None: ...

    for wrong in (
        async_client.location.list,
        functools.partial(async_client.location.register, service="Location", url=HOOK),
        operation,
        Operation(),
    ):
        with pytest.raises(InvalidArgumentError, match="coroutine function"):
            client.fan_out(ACCOUNTS, wrong)
    assert server.sandbox.calls["location.list"] == 0


def test_a_progress_callback_that_is_not_callable_is_refused(
    client: ThingSpaceClient, server: SandboxServer
) -> None:
    with pytest.raises(InvalidArgumentError, match="on_progress"):
        client.fan_out(ACCOUNTS, client.location.list, on_progress="print")  # type: ignore[arg-type]
    assert server.sandbox.calls["location.list"] == 0


def test_the_run_is_reported_through_the_clients_telemetry(
    server: SandboxServer, recorded: Recorded
) -> None:
    with ThingSpaceClient(
        base_url=server.base_url,
        telemetry=recorded.telemetry,
        **server.sandbox.credential_kwargs(),
    ) as client:
        report = client.fan_out(ACCOUNTS[:3], client.location.list).collect()

    assert report.ok
    (fan_out,) = recorded.named("thingspace fan_out")
    assert fan_out.attributes is not None
    assert fan_out.attributes["thingspace.fanout.succeeded"] == 3
    calls = recorded.named("thingspace location.list")
    assert len(calls) == 3
    assert {call.parent.span_id for call in calls if call.parent} == {fan_out.context.span_id}
    assert recorded.points("thingspace.fanout.accounts") == [
        ({"thingspace.outcome": "succeeded"}, 3)
    ]
