"""Single flight: one piece of work however many tasks ask, its outcome shared."""

from __future__ import annotations

import anyio
import pytest
import sniffio

from thingspace_callbacks._auth.single_flight import SingleFlight

pytestmark = pytest.mark.anyio


async def test_each_test_runs_on_the_backend_it_asks_for(anyio_backend: str) -> None:
    # Guards the anyio_backend fixture: each test runs on the backend it is given.
    assert sniffio.current_async_library() == anyio_backend


class BoomError(Exception):
    pass


async def test_concurrent_callers_share_one_call() -> None:
    flight: SingleFlight[int] = SingleFlight()
    calls = 0
    results: list[int] = []

    async def work() -> int:
        nonlocal calls
        calls += 1
        await anyio.sleep(0.01)
        return calls

    async def caller() -> None:
        results.append(await flight.run(work))

    async with anyio.create_task_group() as tg:
        for _ in range(50):
            tg.start_soon(caller)
    assert calls == 1
    assert results == [1] * 50
    assert not flight.in_flight
    # Once finished, the next caller starts new work.
    assert await flight.run(work) == 2


async def test_a_failure_reaches_every_waiter_and_the_next_call_tries_again() -> None:
    flight: SingleFlight[int] = SingleFlight()
    calls = 0
    errors: list[BaseException] = []

    async def failing() -> int:
        nonlocal calls
        calls += 1
        await anyio.sleep(0.01)
        raise BoomError("token endpoint down")

    async def caller() -> None:
        try:
            await flight.run(failing)
        except BoomError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(caller)
    assert calls == 1
    assert len(errors) == 20
    assert all(error is errors[0] for error in errors)
    # A waiter's traceback does not pile up every other waiter's frames.
    depth = 0
    tb = errors[-1].__traceback__
    while tb is not None:
        depth += 1
        tb = tb.tb_next
    assert depth < 10

    async def works() -> int:
        return 7

    assert await flight.run(works) == 7


async def test_a_cancelled_leader_hands_the_work_to_a_waiter() -> None:
    flight: SingleFlight[str] = SingleFlight()
    started = anyio.Event()
    calls = 0

    async def work() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            started.set()
            await anyio.sleep_forever()
        return "fresh"

    result: list[str] = []

    async def waiter() -> None:
        result.append(await flight.run(work))

    async with anyio.create_task_group() as tg:
        leader_scope = anyio.CancelScope()

        async def leader() -> None:
            with leader_scope:
                await flight.run(work)

        tg.start_soon(leader)
        await started.wait()
        tg.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()  # the waiter is waiting on the leader's work
        leader_scope.cancel()
    assert result == ["fresh"]
    assert calls == 2
