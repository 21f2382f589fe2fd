"""The fan-out runner, :class:`FanOut`: takes accounts from the input lazily, runs the
operation for each in a bounded, rate-limited pool of workers, and hands out one result
per account taken, in completion order.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sized,
)
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio

from .._attempts import AttemptCounter, current_counter
from .._checks import count
from .._constants import DEFAULT_FAN_OUT_CONCURRENCY
from .._exports import publish
from .._ratelimit import Limiter, as_limiter
from .._telemetry import instruments_for
from ._options import check_inputs, resolve_concurrency
from ._results import FanOutCancelledError, FanOutProgress, FanOutReport, FanOutResult

if TYPE_CHECKING:
    from anyio.abc import TaskGroup
    from typing_extensions import Self

    from .._telemetry._otel import Instruments

__all__ = ["FanOut"]

_A = TypeVar("_A")
_T = TypeVar("_T")


class _Slot(AttemptCounter):
    """An account taken from the input whose result is not produced yet."""

    __slots__ = ("account", "started")

    def __init__(self, account: object) -> None:
        self.count = 0
        self.account = account
        self.started: float | None = None


_NEW, _RUNNING, _CLOSED = 0, 1, 2


class FanOut(Generic[_A, _T]):
    """One fan-out run: enter it with ``async with``, then iterate the results.

    Made by :meth:`AsyncThingSpaceClient.fan_out`. Results come in completion order,
    one per account taken from the input; a failing account is one ``ok=False``
    result and never stops the others (unless ``fail_fast``).

    Leaving the ``async with`` block stops the run: no more accounts are taken and the
    calls in flight are cancelled. :meth:`remaining` then lists, without losing any,
    the results produced but not yet iterated and one cancelled result per account
    that was taken but did not finish. If reading ``accounts`` raises, the calls in
    flight finish, their results are handed out, and then the iteration raises that
    exception.

    A ``FanOut`` runs once. :meth:`collect` runs it to the end and returns a
    :class:`FanOutReport`: ``await client.fan_out(accounts, operation).collect()``.
    """

    def __init__(
        self,
        accounts: Iterable[_A] | AsyncIterable[_A],
        operation: Callable[[_A], Awaitable[_T]],
        *,
        concurrency: int | anyio.CapacityLimiter = DEFAULT_FAN_OUT_CONCURRENCY,
        rate_limit: float | Limiter | None = None,
        fail_fast: bool = False,
        on_progress: Callable[[FanOutProgress], object] | None = None,
        total: int | None = None,
        telemetry: Instruments | None = None,
    ) -> None:
        check_inputs(accounts, operation, on_progress)
        self._limiter, workers = resolve_concurrency(concurrency)
        self._rate: Limiter | None = as_limiter(rate_limit)
        if total is None and isinstance(accounts, Sized):
            total = len(accounts)
        if total is not None:
            workers = min(workers, count(total, "total"))

        self._accounts = accounts
        self._operation = operation
        self._fail_fast = bool(fail_fast)
        self._on_progress = on_progress
        self._total = total
        self._workers = workers
        # Results waiting to be iterated. Workers append without awaiting (so a result
        # is never lost to cancellation) and then wait while it holds `_buffer` or more.
        self._buffer = max(workers, 1)
        self._ready: deque[FanOutResult[_A, _T]] = deque()
        self._slots: dict[int, _Slot] = {}
        self._state = _NEW
        self._stopping = False
        self._aborted = False
        self._finished = False
        self._source_error: BaseException | None = None
        self._next_index = 0
        self._succeeded = 0
        self._failed = 0
        self._cancelled_count = 0
        self._started_at = 0.0
        self._ended_at: float | None = None
        self._iterator: Iterator[_A] | None = None
        self._async_iterator: AsyncIterator[_A] | None = None
        self._source_lock: anyio.Lock | None = None
        self._task_group: TaskGroup | None = None
        self._work_scope: anyio.CancelScope | None = None
        self._readable: anyio.Event | None = None
        self._room: anyio.Event | None = None
        self._instruments = telemetry if telemetry is not None else instruments_for(None)
        self._telemetry: Instruments | None = None
        """The instruments while a traced run runs (decided when it starts)."""
        self._span: Any = None

    # -- state ---------------------------------------------------------------------

    @property
    def done(self) -> int:
        """Results handed out so far (iterated, or returned by :meth:`remaining`)."""
        return self._succeeded + self._failed + self._cancelled_count

    @property
    def succeeded_count(self) -> int:
        """Results handed out with ``ok``."""
        return self._succeeded

    @property
    def failed_count(self) -> int:
        """Results handed out whose call raised (not counting cancelled ones)."""
        return self._failed

    @property
    def cancelled_count(self) -> int:
        """Results handed out for calls the fan-out stopped before they finished."""
        return self._cancelled_count

    @property
    def taken(self) -> int:
        """Accounts taken from the input so far."""
        return self._next_index

    @property
    def in_flight(self) -> int:
        """Accounts taken from the input whose result is not handed out yet."""
        return self._next_index - self.done

    @property
    def aborted(self) -> bool:
        """Whether ``fail_fast`` stopped the run."""
        return self._aborted

    @property
    def elapsed(self) -> float:
        """Seconds since the run started (until it ended, once it has)."""
        if self._state == _NEW:
            return 0.0
        end = self._ended_at if self._ended_at is not None else time.perf_counter()
        return end - self._started_at

    @property
    def progress(self) -> FanOutProgress:
        """A snapshot of the counters."""
        return FanOutProgress(
            done=self.done,
            succeeded_count=self._succeeded,
            failed_count=self._failed,
            in_flight=self.in_flight,
            elapsed=self.elapsed,
            total=self._total,
            cancelled_count=self._cancelled_count,
        )

    def remaining(self) -> list[FanOutResult[_A, _T]]:
        """Take the results not iterated yet, after the run stopped.

        That is the results produced but not yet handed out, then, in input order,
        one :class:`FanOutCancelledError` result for each account that was taken from
        the input but did not finish. With what was iterated, that makes exactly one
        result per account taken. Before the run stops it returns what is ready.
        """
        results = list(self._ready)
        self._ready.clear()
        for result in results:
            self._count(result)
        return results

    # -- running -------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._state != _NEW:
            raise RuntimeError("a FanOut runs once; call fan_out() again for a new run")
        self._state = _RUNNING
        self._started_at = time.perf_counter()
        accounts = self._accounts
        if isinstance(accounts, AsyncIterable):
            self._async_iterator = aiter(accounts)
            # An async generator cannot be advanced by two tasks at once.
            self._source_lock = anyio.Lock()
        else:
            self._iterator = iter(accounts)
        self._readable = anyio.Event()
        self._room = anyio.Event()
        task_group = anyio.create_task_group()
        await task_group.__aenter__()
        self._task_group = task_group
        instruments = self._instruments
        if instruments is not None and instruments.active():
            self._telemetry = instruments
            total = {} if self._total is None else {"thingspace.fanout.total": self._total}
            self._span = instruments.run_started("thingspace fan_out", dict(total))
            # The run's task copies the context here: every call's span is a child.
            with instruments.current(self._span):
                task_group.start_soon(self._run)
        else:
            task_group.start_soon(self._run)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        task_group = self._task_group
        assert task_group is not None
        self._stopping = True
        task_group.cancel_scope.cancel()
        try:
            if exc is None or isinstance(exc, anyio.get_cancelled_exc_class()):
                return await task_group.__aexit__(exc_type, exc, tb)
            # The body's own error propagates as is, not wrapped in an exception group.
            await task_group.__aexit__(None, None, None)
            return False
        finally:
            self._state = _CLOSED
            if self._ended_at is None:
                self._ended_at = time.perf_counter()
            if self._telemetry is not None:
                self._telemetry.run_finished(self._span, "thingspace.fanout", self._counts(), exc)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> FanOutResult[_A, _T]:
        if self._state == _NEW:
            raise RuntimeError(
                "enter the fan-out first: `async with client.fan_out(...) as results:`"
            )
        while not self._ready:
            if self._finished or self._state == _CLOSED:
                error = self._source_error
                if error is not None:
                    self._source_error = None
                    raise error
                raise StopAsyncIteration
            readable = self._readable
            assert readable is not None
            if readable.is_set():
                readable = self._readable = anyio.Event()
            await readable.wait()
        result = self._ready.popleft()
        self._count(result)
        room = self._room
        if room is not None and not room.is_set():
            room.set()
        if self._on_progress is not None:
            self._on_progress(self.progress)
        return result

    async def collect(self) -> FanOutReport[_A, _T]:
        """Run to the end and return every result, in input order."""
        async with self:
            results = [result async for result in self]
        results.sort(key=_index)
        return FanOutReport(results, aborted=self._aborted, elapsed=self.elapsed)

    async def _run(self) -> None:
        try:
            async with anyio.create_task_group() as work:
                self._work_scope = work.cancel_scope
                for _ in range(self._workers):
                    work.start_soon(self._work)
        finally:
            # Runs on every exit, cancellation included, and never awaits, so no
            # account taken from the input goes unreported.
            self._ended_at = time.perf_counter()
            for index in sorted(self._slots):
                self._ready.append(self._cancelled(index, self._slots[index]))
            self._slots.clear()
            self._finished = True
            if self._readable is not None:
                self._readable.set()

    async def _work(self) -> None:
        operation = self._operation
        slots = self._slots
        while not self._stopping:
            taken = await self._take()
            if taken is None:
                return
            index, slot = taken
            account: _A = slot.account  # type: ignore[assignment]
            if self._rate is not None:
                await self._rate.acquire()
            limiter = self._limiter
            if limiter is not None:
                await limiter.acquire()
            token = current_counter.set(slot)
            started = slot.started = time.perf_counter()
            telemetry = self._telemetry
            if telemetry is not None:
                telemetry.fanout_in_flight.add(1)
            try:
                value = await operation(account)
            except Exception as exc:
                result: FanOutResult[_A, _T] = FanOutResult(
                    account, False, None, exc, slot.count, time.perf_counter() - started, index
                )
            else:
                result = FanOutResult(
                    account, True, value, None, slot.count, time.perf_counter() - started, index
                )
            finally:
                current_counter.reset(token)
                if limiter is not None:
                    limiter.release()
                if telemetry is not None:
                    telemetry.fanout_in_flight.add(-1)
            del slots[index]
            self._deliver(result)
            if not result.ok and self._fail_fast:
                self._abort()
                return
            if len(self._ready) >= self._buffer:
                await self._wait_for_room()

    async def _take(self) -> tuple[int, _Slot] | None:
        """Take the next account from the input, or None when there is none to take."""
        try:
            if self._iterator is not None:
                account = next(self._iterator)
            else:
                assert self._async_iterator is not None
                assert self._source_lock is not None
                async with self._source_lock:
                    if self._stopping:
                        return None
                    account = await anext(self._async_iterator)
        except (StopIteration, StopAsyncIteration):
            self._stopping = True
            return None
        except Exception as exc:
            # The input itself broke: finish what is in flight, then re-raise it from
            # the iteration.
            self._stopping = True
            if self._source_error is None:
                self._source_error = exc
            return None
        index = self._next_index
        self._next_index = index + 1
        slot = self._slots[index] = _Slot(account)
        return index, slot

    def _count(self, result: FanOutResult[_A, _T]) -> None:
        if result.ok:
            self._succeeded += 1
        elif result.cancelled:
            self._cancelled_count += 1
        else:
            self._failed += 1
        if self._telemetry is not None:
            self._telemetry.fanout_progress(
                "succeeded" if result.ok else "cancelled" if result.cancelled else "failed"
            )

    def _counts(self) -> dict[str, int]:
        return {
            "taken": self._next_index,
            "succeeded": self._succeeded,
            "failed": self._failed,
            "cancelled": self._cancelled_count,
        }

    def _deliver(self, result: FanOutResult[_A, _T]) -> None:
        self._ready.append(result)
        readable = self._readable
        if readable is not None and not readable.is_set():
            readable.set()

    async def _wait_for_room(self) -> None:
        while len(self._ready) >= self._buffer:
            room = self._room
            assert room is not None
            if room.is_set():
                room = self._room = anyio.Event()
            await room.wait()

    def _abort(self) -> None:
        self._stopping = True
        self._aborted = True
        if self._work_scope is not None:
            self._work_scope.cancel()

    def _cancelled(self, index: int, slot: _Slot) -> FanOutResult[_A, _T]:
        started = slot.started is not None
        if slot.started is not None:
            message = "cancelled in flight: the fan-out stopped first; the outcome is unknown"
            elapsed = (self._ended_at or time.perf_counter()) - slot.started
        else:
            message = "not started: the fan-out stopped first"
            elapsed = 0.0
        return FanOutResult(
            slot.account,  # type: ignore[arg-type]
            False,
            None,
            FanOutCancelledError(message, started=started),
            slot.count,
            elapsed,
            index,
        )

    def __repr__(self) -> str:
        state = ("new", "running", "closed")[self._state]
        return (
            f"<FanOut {state}: {self.done} done, {self._failed} failed, {self.in_flight} in flight>"
        )


def _index(result: FanOutResult[Any, Any]) -> int:
    return result.index


publish(globals())  # exported classes report the package as their module
