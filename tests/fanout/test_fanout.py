"""Fan-out: one result per account, isolation, fail_fast, cancellation, laziness and
limits, under asyncio and trio."""

from __future__ import annotations

import functools
import random
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import aclosing

import anyio
import anyio.lowlevel
import pytest

from thingspace_callbacks import (
    AsyncThingSpaceClient,
    FanOut,
    FanOutCancelledError,
    FanOutProgress,
    FanOutResult,
    InvalidArgumentError,
    NotFoundError,
    ThingSpaceAuth,
)

pytestmark = pytest.mark.anyio

LISTENER = "https://listener.example.com/hooks/location"


class Source:
    """An endless (or bounded) account generator that counts what was taken from it."""

    def __init__(self, limit: int | None = None) -> None:
        self.taken = 0
        self.limit = limit

    def __iter__(self) -> Iterator[int]:
        while self.limit is None or self.taken < self.limit:
            self.taken += 1
            yield self.taken - 1


class Gate:
    """Operations that finish only when the test says so."""

    def __init__(self) -> None:
        self.events: dict[int, anyio.Event] = {}
        self.started: list[int] = []
        self.progress = anyio.Event()
        self.cancelled: list[int] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def release(self, account: int) -> None:
        self.events.setdefault(account, anyio.Event()).set()

    async def __call__(self, account: int) -> int:
        self.started.append(account)
        self.progress.set()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self.events.setdefault(account, anyio.Event()).wait()
        except anyio.get_cancelled_exc_class():
            self.cancelled.append(account)
            raise
        finally:
            self.in_flight -= 1
        if account % 10 == 3:
            raise ValueError(f"account {account} is broken")
        return account * 2


async def wait_until_started(gate: Gate, count: int) -> None:
    with anyio.fail_after(5):
        while len(gate.started) < count:
            gate.progress = anyio.Event()
            await gate.progress.wait()


async def test_one_result_per_account_in_completion_order() -> None:
    gate = Gate()
    order = list(range(30))
    random.Random(7).shuffle(order)
    seen: list[FanOutResult[int, int]] = []
    async with FanOut(range(30), gate, concurrency=30) as results:
        await wait_until_started(gate, 30)
        for account in order:
            gate.release(account)
            seen.append(await results.__anext__())
        with pytest.raises(StopAsyncIteration):
            await results.__anext__()
    assert [r.account for r in seen] == order  # completion order, not input order
    assert sorted(r.index for r in seen) == list(range(30))
    for result in seen:
        assert result.index == result.account
        if result.account % 10 == 3:
            assert not result.ok
            assert isinstance(result.error, ValueError)
            assert result.value is None
        else:
            assert result.ok
            assert result.value == result.account * 2
            assert result.error is None
        assert result.elapsed >= 0


async def test_failures_are_isolated() -> None:
    async def register(account: int) -> int:
        await anyio.lowlevel.checkpoint()
        if account % 4 == 0:
            raise LookupError(account)
        return account

    report = await FanOut(range(40), register, concurrency=7).collect()
    assert len(report) == 40
    assert [r.account for r in report] == list(range(40))  # collect() is in input order
    assert len(report.failed) == 10
    assert all(isinstance(r.error, LookupError) for r in report.failed)
    assert [r.value for r in report.succeeded] == [a for a in range(40) if a % 4]
    assert not report.ok
    assert not report.aborted
    with pytest.raises(LookupError):
        report.failed[0].unwrap()
    assert report.succeeded[0].unwrap() == 1


async def test_fail_fast_stops_taking_accounts_and_cancels_in_flight() -> None:
    gate = Gate()
    source = Source()
    fan_out = FanOut(source, gate, concurrency=5, fail_fast=True)
    async with fan_out as results:
        await wait_until_started(gate, 5)
        gate.release(3)  # account 3 raises
        seen = [r async for r in results]
    assert source.taken == 5  # nothing taken after the failure
    assert fan_out.aborted
    assert sorted(r.account for r in seen) == [0, 1, 2, 3, 4]
    failure = next(r for r in seen if r.account == 3)
    assert isinstance(failure.error, ValueError)
    cancelled = [r for r in seen if r.account != 3]
    assert all(isinstance(r.error, FanOutCancelledError) for r in cancelled)
    assert all(r.error.started for r in cancelled if isinstance(r.error, FanOutCancelledError))
    assert sorted(gate.cancelled) == [0, 1, 2, 4]
    assert gate.in_flight == 0


async def test_fail_fast_report() -> None:
    gate = Gate()
    for account in range(3):
        gate.release(account)
    gate.release(3)
    report = await FanOut(Source(), gate, concurrency=1, fail_fast=True).collect()
    assert [r.ok for r in report] == [True, True, True, False]
    assert report.aborted
    assert not report.ok
    assert [r.account for r in report.failed] == [3]
    assert report.cancelled == []


async def test_a_report_keeps_cancelled_apart_from_failed() -> None:
    gate = Gate()  # no account is ever released: the failure of 1 cancels the others

    async def boom(account: int) -> int:
        if account == 1:
            raise LookupError("no such account")
        return await gate(account)

    report = await FanOut(Source(limit=4), boom, concurrency=4, fail_fast=True).collect()
    assert [r.account for r in report.failed] == [1]
    assert report.cancelled  # the calls in flight when account 1 failed
    assert 1 not in {r.account for r in report.cancelled}
    assert all(r.cancelled for r in report.cancelled)
    assert len(report.succeeded) + len(report.failed) + len(report.cancelled) == len(report)


async def test_cancelling_the_fan_out_cancels_calls_and_reports_every_account() -> None:
    gate = Gate()
    source = Source()
    got: list[FanOutResult[int, int]] = []
    fan_out = FanOut(source, gate, concurrency=4)
    with anyio.CancelScope() as scope:
        async with fan_out as results:
            await wait_until_started(gate, 4)
            gate.release(0)
            gate.release(1)
            async for result in results:
                got.append(result)
                if len(got) == 2:
                    scope.cancel()
    assert scope.cancelled_caught
    taken = source.taken
    await anyio.wait_all_tasks_blocked()  # anything left running has had its turn
    assert source.taken == taken  # no new work once cancelled
    assert gate.in_flight == 0
    assert sorted(gate.cancelled) == sorted(set(gate.started) - {0, 1})
    rest = fan_out.remaining()
    assert all(isinstance(r.error, FanOutCancelledError) for r in rest)
    assert all(r.cancelled and not r.ok for r in rest)
    assert sorted(r.index for r in got + rest) == list(range(taken))
    assert fan_out.remaining() == []
    # Cancelled is neither a success nor a failure, in the counters and the snapshot.
    counts = (fan_out.succeeded_count, fan_out.failed_count, fan_out.cancelled_count)
    assert counts == (2, 0, len(rest))
    assert fan_out.progress.cancelled_count == len(rest)
    assert fan_out.progress.done == fan_out.done == taken


async def test_leaving_the_block_early_stops_the_run() -> None:
    async def quick(account: int) -> int:
        await anyio.lowlevel.checkpoint()
        return account

    source = Source()
    fan_out = FanOut(source, quick, concurrency=3)
    seen = 0
    async with fan_out as results:
        async for _ in results:
            seen += 1
            if seen == 11:
                break
    taken = source.taken
    await anyio.wait_all_tasks_blocked()  # anything left running has had its turn
    assert source.taken == taken
    assert taken <= 11 + 2 * 3 + 1
    leftovers = fan_out.remaining()
    assert len({r.index for r in leftovers}) == len(leftovers)
    assert fan_out.done == seen + len(leftovers) == fan_out.taken  # nothing unaccounted for
    assert fan_out.in_flight == 0


async def test_error_in_the_block_propagates_unwrapped() -> None:
    gate = Gate()

    async def fail_inside() -> None:
        async with FanOut(Source(), gate, concurrency=2):
            await wait_until_started(gate, 2)
            raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        await fail_inside()
    assert gate.in_flight == 0
    assert sorted(gate.cancelled) == [0, 1]


async def test_a_broken_input_is_raised_after_the_calls_in_flight() -> None:
    def accounts() -> Iterator[int]:
        yield from range(5)
        raise OSError("accounts file went away")

    async def echo(account: int) -> int:
        await anyio.sleep(0.001)
        return account

    seen: list[int] = []

    async def consume() -> None:
        async with FanOut(accounts(), echo, concurrency=3) as results:
            async for result in results:
                seen.append(result.account)

    with pytest.raises(OSError, match="went away"):
        await consume()
    assert sorted(seen) == [0, 1, 2, 3, 4]


async def test_accounts_are_read_lazily_from_a_million_long_generator() -> None:
    source = Source(limit=1_000_000)

    async def echo(account: int) -> int:
        await anyio.lowlevel.checkpoint()
        return account

    fan_out = FanOut(source, echo, concurrency=8)
    count = 0
    async with fan_out as results:
        async for _ in results:
            count += 1
            if count == 200:
                break
    # Never more than the results handed out, the results buffer and the workers.
    assert source.taken <= 200 + 8 + 8 + 1


async def test_async_iterable_input() -> None:
    pulled = 0

    async def accounts() -> AsyncGenerator[str, None]:
        nonlocal pulled
        for number in range(1_000_000):
            pulled += 1
            await anyio.lowlevel.checkpoint()
            yield f"acct-{number}"

    async def upper(account: str) -> str:
        await anyio.lowlevel.checkpoint()
        return account.upper()

    seen: set[str] = set()
    # The fan-out does not close an input it did not exhaust; aclosing() does.
    async with aclosing(accounts()) as source, FanOut(source, upper, concurrency=5) as results:
        async for result in results:
            assert result.value == result.account.upper()
            seen.add(result.account)
            if len(seen) == 50:
                break
    assert len(seen) == 50
    assert pulled <= 50 + 5 + 5 + 1

    report = await FanOut(_aiter(["a", "b", "c"]), upper, concurrency=2).collect()
    assert [r.value for r in report] == ["A", "B", "C"]


async def _aiter(items: list[str]) -> AsyncIterator[str]:
    for item in items:
        yield item


async def test_concurrency_limit_holds() -> None:
    in_flight = max_in_flight = 0

    async def slow(account: int) -> int:
        nonlocal in_flight, max_in_flight
        in_flight += 1
        max_in_flight = max(max_in_flight, in_flight)
        await anyio.sleep(0.002)
        in_flight -= 1
        return account

    report = await FanOut(range(60), slow, concurrency=6).collect()
    assert report.ok
    assert max_in_flight == 6


async def test_a_shared_capacity_limiter_bounds_two_fan_outs_together() -> None:
    in_flight = max_in_flight = 0

    async def slow(account: int) -> int:
        nonlocal in_flight, max_in_flight
        in_flight += 1
        max_in_flight = max(max_in_flight, in_flight)
        await anyio.sleep(0.002)
        in_flight -= 1
        return account

    limiter = anyio.CapacityLimiter(4)
    async with anyio.create_task_group() as group:
        for _ in range(2):
            group.start_soon(FanOut(range(30), slow, concurrency=limiter).collect)
    assert max_in_flight == 4


async def test_progress_is_reported_after_each_result() -> None:
    snapshots: list[FanOutProgress] = []

    async def echo(account: int) -> int:
        await anyio.lowlevel.checkpoint()
        if account == 5:
            raise ValueError(account)
        return account

    await FanOut(list(range(12)), echo, concurrency=3, on_progress=snapshots.append).collect()
    assert [p.done for p in snapshots] == list(range(1, 13))
    assert all(p.total == 12 for p in snapshots)
    assert snapshots[-1].succeeded_count == 11
    assert snapshots[-1].failed_count == 1
    assert snapshots[-1].eta == 0
    assert snapshots[-1].rate > 0


async def test_a_fan_out_runs_once_and_must_be_entered() -> None:
    fan_out = FanOut([1, 2], _echo)
    with pytest.raises(RuntimeError, match="async with"):
        await fan_out.__anext__()
    await fan_out.collect()
    with pytest.raises(RuntimeError, match="runs once"):
        await fan_out.collect()


async def _echo(account: int) -> int:
    return account


async def test_empty_input() -> None:
    empty: list[int] = []
    report = await FanOut(empty, _echo).collect()
    assert len(report) == 0
    assert report.ok


@pytest.mark.integration
async def test_client_fan_out_against_a_real_server(api_server: str) -> None:
    accounts = [f"0252012345-{n:05d}" for n in range(25)] + ["missing-1"]
    async with AsyncThingSpaceClient(
        base_url=api_server, auth=ThingSpaceAuth(access_token="token")
    ) as client:
        register = functools.partial(client.location.register, service="Location", url=LISTENER)
        async with client.fan_out(accounts, register, concurrency=8) as results:
            seen = [r async for r in results]
        report = await client.fan_out(accounts[:3], client.location.list, concurrency=2).collect()
    assert len(seen) == len(accounts)
    by_account = {r.account: r for r in seen}
    missing = by_account.pop("missing-1")
    assert isinstance(missing.error, NotFoundError)
    assert missing.error.status_code == 404
    assert missing.error.error_code == "ACCOUNT_NOT_FOUND"
    assert missing.attempts == 1
    for account, result in by_account.items():
        assert result.ok, result.error
        assert result.value is not None
        assert result.value.account_id == account
        assert result.attempts == 1
    assert len(report) == 3


@pytest.mark.integration
async def test_cancelling_real_requests_in_flight(api_server: str) -> None:
    async with AsyncThingSpaceClient(
        base_url=api_server, auth=ThingSpaceAuth(access_token="token")
    ) as client:
        register = functools.partial(client.location.register, service="Location", url=LISTENER)
        fan_out = client.fan_out([f"slow-{n}" for n in range(4)], register, concurrency=4)
        with anyio.move_on_after(0.3):
            async with fan_out as results:
                async for _ in results:
                    pytest.fail("no slow call can finish before the cancellation")
        rest = fan_out.remaining()
        assert sorted(r.account for r in rest) == [f"slow-{n}" for n in range(4)]
        for result in rest:
            assert isinstance(result.error, FanOutCancelledError)
            assert result.error.started
            assert result.attempts == 1
        # The client is still usable after its requests were cancelled.
        assert (await register("after-cancel")).account_id == "after-cancel"


def test_bad_arguments_are_refused_before_anything_runs() -> None:
    with pytest.raises(InvalidArgumentError, match="single string"):
        FanOut("0252012345-00001", _echo)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="iterable"):
        FanOut(42, _echo)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="operation"):
        FanOut([1], "register")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="concurrency"):
        FanOut([1], _echo, concurrency=0)
    with pytest.raises(InvalidArgumentError, match="concurrency"):
        FanOut([1], _echo, concurrency=True)
    with pytest.raises(InvalidArgumentError, match="concurrency"):
        FanOut([1], _echo, concurrency=anyio.CapacityLimiter(float("inf")))
    with pytest.raises(InvalidArgumentError, match="rate"):
        FanOut([1], _echo, rate_limit=0)
    with pytest.raises(InvalidArgumentError, match="total"):
        FanOut([1], _echo, total=-1)
    with pytest.raises(InvalidArgumentError, match="on_progress"):
        FanOut([1], _echo, on_progress=3)  # type: ignore[arg-type]


def test_client_fan_out_validates_at_call_time() -> None:
    client = AsyncThingSpaceClient(auth=ThingSpaceAuth(access_token="token"))
    with pytest.raises(InvalidArgumentError, match="concurrency"):
        client.fan_out(["a"], client.location.list, concurrency=-5)
