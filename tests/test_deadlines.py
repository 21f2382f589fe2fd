"""Per-attempt time limits on one timer per event loop: each task is cancelled at its own
deadline, whatever the order deadlines were set in, a task that ended is left alone, and
a cancellation from outside stays one (the trickled bodies over a real socket are in
``tests/integration/test_hostile_server.py``).

The loop runs on virtual time (:class:`tests._virtual_time.VirtualTimeLoop`): every
limit and sleep below is exact and instant, so the windows asserted hold on any
machine."""

from __future__ import annotations

import asyncio
import gc
import sys
import weakref
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import pytest
import respx

from thingspace_callbacks import APITimeoutError, AsyncThingSpaceClient, _deadlines
from thingspace_callbacks._deadlines import Deadline, Task, deadlines

from ._virtual_time import VirtualTimeLoop, virtual_time_backend

pytestmark = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="Python 3.10 uses anyio's cancel scopes instead"
)

ACCOUNT = "0252012345-00001"


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    return virtual_time_backend()


async def limited(seconds: float, work: float) -> tuple[str, float]:
    """Sleep ``work`` seconds within a limit of ``seconds``: how it ended, and when."""
    task = cast("Task", asyncio.current_task())
    loop = task.get_loop()
    started = loop.time()
    deadline = deadlines(loop).start(task, seconds)
    try:
        await asyncio.sleep(work)
    except asyncio.CancelledError:
        if deadline.caught():
            return "timed out", loop.time() - started
        raise
    finally:
        deadline.end()
    return "done", loop.time() - started


async def test_a_task_past_its_limit_is_cancelled_at_its_deadline() -> None:
    outcome, elapsed = await limited(0.1, 5)
    assert outcome == "timed out"
    assert elapsed == pytest.approx(0.1, abs=0.001)


async def test_a_task_that_ends_in_time_is_left_alone() -> None:
    assert (await limited(0.3, 0.01))[0] == "done"
    # The timer still stands at the ended task's deadline; passing it cancels nothing.
    await asyncio.sleep(0.4)
    assert (await limited(5, 0.01))[0] == "done"


async def test_a_shorter_limit_set_later_fires_first() -> None:
    long = asyncio.create_task(limited(30, 1.0))
    await asyncio.sleep(0)  # the long one runs first and arms the timer for 30 s
    outcome, elapsed = await limited(0.1, 5)
    assert outcome == "timed out"
    assert elapsed == pytest.approx(0.1, abs=0.001)
    outcome, elapsed = await long
    assert outcome == "done"
    assert elapsed == pytest.approx(1.0, abs=0.001)


async def test_the_timer_moves_on_to_each_following_deadline() -> None:
    results = await asyncio.gather(limited(0.1, 5), limited(0.3, 5), limited(0.6, 5))
    assert [outcome for outcome, _ in results] == ["timed out"] * 3
    elapsed = [seconds for _, seconds in results]
    assert elapsed == sorted(elapsed)
    assert elapsed == pytest.approx([0.1, 0.3, 0.6], abs=0.001)


async def test_many_tasks_with_interleaved_limits_each_meet_their_own() -> None:
    limits = [0.05 * (n % 7 + 1) for n in range(50)]
    results = await asyncio.gather(*(limited(limit, 5) for limit in limits))
    assert [outcome for outcome, _ in results] == ["timed out"] * len(limits)
    assert [elapsed for _, elapsed in results] == pytest.approx(limits, abs=0.001)


async def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    task = asyncio.create_task(limited(5, 5))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert loop.time() - started == pytest.approx(0.05, abs=0.001)  # not at the limit


async def test_a_cancellation_from_outside_as_the_limit_passes_stays_one() -> None:
    seen: list[Deadline] = []
    started = asyncio.Event()

    async def held() -> None:
        me = cast("Task", asyncio.current_task())
        deadline = deadlines(me.get_loop()).start(me, 0.05)
        seen.append(deadline)
        started.set()
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            assert not deadline.caught()
            raise
        finally:
            deadline.end()

    task = asyncio.create_task(held())
    await started.wait()
    # A cancellation from outside due just after the limit, and the loop held past
    # both: the two land on the task's sleep together, the limit's first.
    loop = cast("VirtualTimeLoop", asyncio.get_running_loop())
    loop.call_at(seen[0].when + 0.001, task.cancel)
    loop.advance(0.1)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen[0].expired


def test_the_watcher_goes_with_its_loop() -> None:
    loop = asyncio.new_event_loop()
    try:
        # Closed with the timer still armed, 5 s ahead.
        loop.run_until_complete(limited(5, 0.01))
        assert loop in _deadlines._per_loop
    finally:
        loop.close()
    gone = weakref.ref(loop)
    del loop
    gc.collect()
    assert gone() is None


async def trickle() -> AsyncIterator[bytes]:
    yield b"["
    await asyncio.sleep(10)
    yield b"]"


async def test_a_timed_out_call_leaves_its_task_uncancelled(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.get(f"/loc/v1/callbacks/{ACCOUNT}").mock(
        return_value=httpx.Response(200, content=trickle())
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(APITimeoutError, match=r"longer than 0\.2 s"):
        await client.location.list(ACCOUNT, timeout=0.2, max_retries=0)
    assert loop.time() - started == pytest.approx(0.2, abs=0.01)
    task = cast("Task", asyncio.current_task())
    assert task.cancelling() == 0
    await asyncio.sleep(0.01)  # no cancellation left pending for the caller
