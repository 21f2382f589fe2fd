"""Run one operation for many accounts at once: bounded, rate-limited and streamed.

::

    register = functools.partial(client.location.register, service="Location", url=URL)
    async with client.fan_out(accounts, register, concurrency=50, rate_limit=20) as results:
        async for result in results:          # in completion order
            print(result.account, "ok" if result.ok else result.error)

    report = await client.fan_out(accounts, register).collect()   # all, in input order

``accounts`` is read lazily, so memory grows with ``concurrency``, not with the number
of accounts, and every account taken from it yields exactly one :class:`FanOutResult`.
Everything here uses anyio, so it runs under asyncio and trio.
"""

from __future__ import annotations

import math
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
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypedDict, TypeVar

import anyio

from ._attempts import AttemptCounter, current_counter
from ._checks import count
from ._constants import DEFAULT_FAN_OUT_CONCURRENCY
from ._errors import InvalidArgumentError, ThingSpaceError
from ._exports import publish
from ._ratelimit import Limiter, as_limiter

if TYPE_CHECKING:
    from anyio.abc import TaskGroup
    from typing_extensions import Self

__all__ = [
    "FanOut",
    "FanOutCancelledError",
    "FanOutOptions",
    "FanOutProgress",
    "FanOutReport",
    "FanOutResult",
]

_A = TypeVar("_A")
_T = TypeVar("_T")


class FanOutCancelledError(ThingSpaceError):
    """An account's call did not finish because the fan-out stopped first
    (``fail_fast``, leaving the ``async with`` block early, or cancellation).

    When ``started`` is true the request may have reached ThingSpace: its outcome is
    unknown. When false, nothing was sent for the account.
    """

    started: bool
    """Whether the call had begun when the fan-out stopped."""

    def __init__(self, message: str, *, started: bool) -> None:
        super().__init__(message)
        self.started = started


@dataclass(frozen=True, slots=True)
class FanOutResult(Generic[_A, _T]):
    """What happened to one account: its value, or the exception its call raised."""

    account: _A
    """The account, exactly as it came from the input."""
    ok: bool
    """Whether the call returned (``value`` is set) rather than raised (``error`` is)."""
    value: _T | None
    """What the operation returned, when ``ok``."""
    error: Exception | None
    """What the operation raised, when not ``ok``; a :class:`FanOutCancelledError`
    when the fan-out stopped before the call finished."""
    attempts: int
    """Attempts the SDK's calls made for the account (retries included; a replay
    with renewed credentials is part of its attempt); 0 when nothing was sent."""
    elapsed: float
    """Seconds the call took, not counting the wait for the rate limit."""
    index: int
    """The account's position in the input (0-based)."""

    @property
    def cancelled(self) -> bool:
        """Whether the fan-out stopped before the call finished: neither a success nor
        a failure (``error`` is a :class:`FanOutCancelledError`)."""
        return isinstance(self.error, FanOutCancelledError)

    def unwrap(self) -> _T:
        """Return ``value``, or raise ``error``."""
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class FanOutProgress:
    """A snapshot of a running fan-out, passed to ``on_progress``."""

    done: int
    """Results handed out so far (``succeeded_count + failed_count + cancelled_count``)."""
    succeeded_count: int
    """Results whose call returned."""
    failed_count: int
    """Results whose call raised (not counting cancelled ones)."""
    in_flight: int
    """Accounts taken from the input whose result is not handed out yet."""
    elapsed: float
    """Seconds since the fan-out started."""
    total: int | None
    """How many accounts there are, when known (``total=`` or ``len(accounts)``)."""
    cancelled_count: int = 0
    """Results of calls the fan-out stopped before they finished."""

    @property
    def rate(self) -> float:
        """Results per second so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate, when ``total`` is known."""
        if self.total is None or self.done == 0:
            return None
        return max(self.total - self.done, 0) / self.rate


@dataclass(frozen=True)
class FanOutReport(Generic[_A, _T]):
    """Every result of a finished fan-out, in input order (from :meth:`FanOut.collect`)."""

    results: list[FanOutResult[_A, _T]]
    aborted: bool = False
    """Whether ``fail_fast`` stopped the run before the input was exhausted."""
    elapsed: float = 0.0
    """Seconds the whole fan-out took."""
    _unsuccessful: list[FanOutResult[_A, _T]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_unsuccessful", [r for r in self.results if not r.ok])

    @property
    def succeeded(self) -> list[FanOutResult[_A, _T]]:
        """The results whose call returned."""
        return [r for r in self.results if r.ok]

    @property
    def failed(self) -> list[FanOutResult[_A, _T]]:
        """The results whose call raised (not the cancelled ones)."""
        return [r for r in self._unsuccessful if not r.cancelled]

    @property
    def cancelled(self) -> list[FanOutResult[_A, _T]]:
        """The results of calls the fan-out stopped before they finished."""
        return [r for r in self._unsuccessful if r.cancelled]

    @property
    def ok(self) -> bool:
        """True when every account succeeded and the run was not aborted."""
        return not self._unsuccessful and not self.aborted

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[FanOutResult[_A, _T]]:
        return iter(self.results)


class FanOutOptions(TypedDict, total=False):
    """Options of :meth:`AsyncThingSpaceClient.fan_out`.

    - ``concurrency``: how many calls run at once (default 20), or an
      ``anyio.CapacityLimiter`` shared with other work; its ``total_tokens`` is then
      the number of workers and every call holds one of its tokens.
    - ``rate_limit``: calls started per second, or a :class:`RateLimiter` (or any
      limiter with ``async acquire()``, such as a ``RedisRateLimiter``) shared with
      other fan-outs. ``None`` (default): no limit beyond the client's own.
    - ``fail_fast``: stop at the first failure: take no more accounts, cancel the calls
      in flight (their results carry :class:`FanOutCancelledError`). Default false:
      a failure is one result and the others go on.
    - ``on_progress``: called with a :class:`FanOutProgress` after each result is
      handed out.
    - ``total``: the number of accounts, for progress and ETA, when ``len(accounts)``
      does not work (a generator).
    """

    concurrency: int | anyio.CapacityLimiter
    rate_limit: float | Limiter | None
    fail_fast: bool
    on_progress: Callable[[FanOutProgress], object] | None
    total: int | None


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
    ) -> None:
        _check_inputs(accounts, operation, on_progress)
        self._limiter, workers = _workers(concurrency)
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


def _check_inputs(accounts: object, operation: object, on_progress: object) -> None:
    if isinstance(accounts, (str, bytes)):
        raise InvalidArgumentError(
            "'accounts' must be an iterable of accounts, not a single string"
        )
    if not isinstance(accounts, (Iterable, AsyncIterable)):
        raise InvalidArgumentError(
            f"'accounts' must be an iterable or async iterable, not {type(accounts).__name__}"
        )
    if not callable(operation):
        raise InvalidArgumentError("'operation' must be a callable returning an awaitable")
    if on_progress is not None and not callable(on_progress):
        raise InvalidArgumentError("'on_progress' must be a callable or None")


def _workers(concurrency: object) -> tuple[anyio.CapacityLimiter | None, int]:
    """The limiter calls hold (if shared) and how many workers run."""
    if isinstance(concurrency, anyio.CapacityLimiter):
        tokens = concurrency.total_tokens
        if not math.isfinite(tokens):
            raise InvalidArgumentError("'concurrency' limiter must have finite tokens")
        return concurrency, int(tokens)
    if isinstance(concurrency, int) and not isinstance(concurrency, bool):
        return None, count(concurrency, "concurrency", minimum=1)
    raise InvalidArgumentError(
        f"'concurrency' must be an int or an anyio.CapacityLimiter, "
        f"not {type(concurrency).__name__}"
    )


def _index(result: FanOutResult[Any, Any]) -> int:
    return result.index


publish(globals())  # exported classes report the package as their module
