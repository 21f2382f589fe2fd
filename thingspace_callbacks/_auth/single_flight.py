"""Single flight: however many tasks ask at once, one does the work and all share its
outcome, even tasks of other event loops in other threads."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Generic, TypeVar

import anyio

__all__ = ["SingleFlight"]

_T = TypeVar("_T")

CROSS_LOOP_POLL_FIRST = 0.001
CROSS_LOOP_POLL_MAX = 0.05
"""Seconds between looks at a flight led from another thread's event loop: the first
wait, doubling up to the last. An event of one loop cannot wake another loop's task,
and such overlaps are rare (two loops renewing the same credentials at once)."""


class _Flight(Generic[_T]):
    __slots__ = ("done", "error", "finished", "result", "thread", "traceback")

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        """The leader's thread: a thread runs one event loop at a time, so waiters of
        that thread share the leader's loop and wait on :attr:`done`."""
        self.done = anyio.Event()
        self.finished = threading.Event()
        """Set with :attr:`done`, for waiters of other threads (other loops)."""
        self.result: tuple[_T] | None = None
        self.error: Exception | None = None
        self.traceback: TracebackType | None = None

    async def wait(self) -> None:
        if self.thread == threading.get_ident():
            await self.done.wait()
            return
        delay = CROSS_LOOP_POLL_FIRST
        while not self.finished.is_set():
            await anyio.sleep(delay)
            delay = min(delay * 2, CROSS_LOOP_POLL_MAX)

    def finish(self) -> None:
        self.finished.set()
        self.done.set()


class SingleFlight(Generic[_T]):
    """Runs at most one call of a function at a time; callers that arrive while it runs
    wait for it and get its result, or the very exception it raised.

    Callers may run on several event loops (one per thread, as the process-wide
    credentials of several clients do): the call runs on the loop of the first, and
    the others wait for it from theirs.

    When the task doing the work is cancelled, the waiters are not: one of them starts
    the work again. Once a call has finished, the next caller starts a new one.
    """

    __slots__ = ("_flight", "_lock")

    def __init__(self) -> None:
        self._flight: _Flight[_T] | None = None
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> bool:
        """Whether a call is running now."""
        return self._flight is not None

    async def run(self, work: Callable[[], Awaitable[_T]]) -> _T:
        """Run ``work``, or join the call already running."""
        while True:
            with self._lock:
                flight = self._flight
                leading = flight is None
                if flight is None:
                    flight = self._flight = _Flight()
            if leading:
                return await self._lead(flight, work)
            await flight.wait()
            if flight.result is not None:
                return flight.result[0]
            if flight.error is not None:
                # Each raise would prepend this task's frames to the shared exception's
                # traceback; start every waiter from the leader's, so it stays short.
                raise flight.error.with_traceback(flight.traceback)
            # The leader was cancelled; take its place.

    async def _lead(self, flight: _Flight[_T], work: Callable[[], Awaitable[_T]]) -> _T:
        try:
            result = await work()
        except Exception as exc:
            flight.error = exc
            flight.traceback = exc.__traceback__
            raise
        else:
            flight.result = (result,)
            return result
        finally:
            with self._lock:
                self._flight = None
            flight.finish()
