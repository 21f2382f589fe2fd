"""``ThingSpaceClient.fan_out``: the async :class:`FanOut` run on the process's event
loop, its results handed to the calling thread as they complete."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import math
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio

from .._errors import InvalidArgumentError
from .._exports import publish
from .._fanout import FanOut, FanOutProgress, FanOutReport, FanOutResult
from ._loop import call, submit

if TYPE_CHECKING:
    from typing_extensions import Self

    from .._fanout import FanOutOptions
    from .._telemetry._otel import Instruments

__all__ = ["SyncFanOut"]

_A = TypeVar("_A")
_T = TypeVar("_T")


class _End:
    """The run ended, with ``error`` when reading the accounts raised."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class SyncFanOut(Generic[_A, _T]):
    """One fan-out run, made by :meth:`ThingSpaceClient.fan_out`: an iterator of
    :class:`FanOutResult` in completion order, with the bounds, rate limit and
    guarantees of :class:`FanOut` (one result per account taken; a failing account
    never stops the others unless ``fail_fast``).

    The run starts at the first ``next()`` (or on entering ``with``). :meth:`close`, or
    leaving the ``with`` block, stops it: no more accounts are taken, and the calls in
    flight are cancelled (an operation already running in its thread finishes its
    current request; its result is dropped). ``on_progress`` is called in the
    iterating thread, so it may use the client.

    An ``operation`` that is a coroutine function (an :class:`AsyncThingSpaceClient`
    method, or a ``functools.partial`` of one) raises :class:`InvalidArgumentError`
    here: each call would return a coroutine that nothing awaits.
    """

    def __init__(
        self,
        accounts: Iterable[_A],
        operation: Callable[[_A], _T],
        options: FanOutOptions,
        telemetry: Instruments | None = None,
    ) -> None:
        on_progress = options.pop("on_progress", None)
        if on_progress is not None and not callable(on_progress):
            raise InvalidArgumentError("'on_progress' must be a callable or None")
        if _is_async(operation):
            raise InvalidArgumentError(
                f"'operation' must be a plain function, not the coroutine function "
                f"{_name(operation)}: pass a ThingSpaceClient's method (not an "
                "AsyncThingSpaceClient's), or use AsyncThingSpaceClient.fan_out"
            )
        self._on_progress = on_progress
        # Checked and built here, so bad options raise before anything runs.
        self._fan_out: FanOut[_A, _T] = FanOut(
            accounts, _in_thread(operation), telemetry=telemetry, **options
        )
        # Bound to the loop on first use (Python 3.10+), by the run's task; one result
        # waits at most, so the run goes no faster than the iteration.
        self._queue: asyncio.Queue[FanOutResult[_A, _T] | _End] = asyncio.Queue(maxsize=1)
        self._run: concurrent.futures.Future[None] | None = None
        self._done = False

    @property
    def progress(self) -> FanOutProgress:
        """Counts so far and an estimate of the time left (see :class:`FanOutProgress`)."""
        return self._fan_out.progress

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> FanOutResult[_A, _T]:
        if self._done:
            raise StopIteration
        if self._run is None:
            self._start()
        item = call(self._queue.get())
        if isinstance(item, _End):
            self._done = True
            if item.error is not None:
                raise item.error
            raise StopIteration
        if self._on_progress is not None:
            self._on_progress(self._fan_out.progress)
        return item

    def collect(self) -> FanOutReport[_A, _T]:
        """Run to the end and return every result, in input order."""
        results = sorted(self, key=lambda result: result.index)
        return FanOutReport(results, aborted=self._fan_out.aborted, elapsed=self._fan_out.elapsed)

    def close(self) -> None:
        """Stop the run: take no more accounts and cancel the calls in flight. Calling
        it again does nothing."""
        self._done = True
        run = self._run
        if run is not None and not run.done():
            run.cancel()
            # Wait for the cancellation, so that nothing of the run outlives the call.
            concurrent.futures.wait([run], timeout=_CLOSE_WAIT)

    def __enter__(self) -> Self:
        if self._run is None:
            self._start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        run = getattr(self, "_run", None)
        if run is not None and not run.done():
            run.cancel()

    def _start(self) -> None:
        self._run = submit(self._produce())

    async def _produce(self) -> None:
        queue = self._queue
        error: BaseException | None = None
        try:
            async with self._fan_out as results:
                async for result in results:
                    await queue.put(result)
        except Exception as exc:  # the accounts' iterator raised: the consumer's to see
            error = exc
        await queue.put(_End(error))

    def __repr__(self) -> str:
        return f"SyncFanOut({self._fan_out!r})"


_CLOSE_WAIT = 10.0
"""Seconds :meth:`SyncFanOut.close` waits for the run to wind down."""


class _InThread(Generic[_A, _T]):
    """``operation`` as the async fan-out calls it: in a worker thread, since it blocks
    (and calls the client, whose calls go back to the loop)."""

    def __init__(self, operation: Callable[[_A], _T]) -> None:
        self._operation = operation
        self._limiter: anyio.CapacityLimiter | None = None

    async def __call__(self, account: _A) -> _T:
        if self._limiter is None:
            # Made on the loop. No bound of its own: the fan-out's concurrency bounds
            # the calls in flight, so the threads too (anyio's default would cap at 40).
            self._limiter = anyio.CapacityLimiter(math.inf)
        return await anyio.to_thread.run_sync(
            functools.partial(self._operation, account),
            limiter=self._limiter,
            abandon_on_cancel=True,
        )


def _is_async(operation: object) -> bool:
    # inspect sees through functools.partial and bound methods; an object whose
    # __call__ is a coroutine function is one too.
    return inspect.iscoroutinefunction(operation) or (
        callable(operation)
        and not inspect.isroutine(operation)
        and not isinstance(operation, functools.partial)
        and inspect.iscoroutinefunction(type(operation).__call__)
    )


def _name(operation: object) -> str:
    while isinstance(operation, functools.partial):
        operation = operation.func
    return getattr(operation, "__qualname__", type(operation).__name__)


def _in_thread(operation: Callable[[_A], _T]) -> Callable[[_A], Any]:
    # Something not callable goes as it is: FanOut refuses it, naming the argument.
    return _InThread(operation) if callable(operation) else operation


publish(globals())  # exported classes report the package as their module
