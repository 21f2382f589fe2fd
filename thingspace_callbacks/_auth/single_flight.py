"""Single flight: however many tasks ask at once, one does the work and all share its
outcome, even tasks of other event loops in other threads."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Generic, TypeVar

import anyio

__all__ = ["SingleFlight", "blocking"]

_T = TypeVar("_T")

CROSS_LOOP_POLL_FIRST = 0.001
CROSS_LOOP_POLL_MAX = 0.05
"""Seconds between looks at a flight led from another thread's event loop: the first
wait, doubling up to the last. An event of one loop cannot wake another loop's task,
and such overlaps are rare (two loops renewing the same credentials at once)."""

_blocked: set[int] = set()
"""The threads waiting, in :func:`blocking`, for work on another thread's loop."""


@contextmanager
def blocking() -> Iterator[None]:
    """Marks the calling thread as blocked until the block ends: its event loop, if it
    runs one, does not advance meanwhile (a :class:`ThingSpaceClient` call waiting for
    the SDK's loop, from a notebook's loop). A flight led on that loop cannot finish
    before the block ends, so a waiter of another loop does the work itself rather
    than wait for it, which might be forever: the blocked thread may be waiting for
    that very waiter."""
    thread = threading.get_ident()
    _blocked.add(thread)
    try:
        yield
    finally:
        _blocked.discard(thread)


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

    async def wait(self) -> bool:
        """Wait for the flight to finish; ``False`` at once when its leader's thread is
        blocked (see :func:`blocking`), as the flight may then never finish."""
        if self.thread == threading.get_ident():
            await self.done.wait()
            return True
        delay = CROSS_LOOP_POLL_FIRST
        while not self.finished.is_set():
            if self.thread in _blocked:
                return False
            await anyio.sleep(delay)
            delay = min(delay * 2, CROSS_LOOP_POLL_MAX)
        return True

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
    the work again. Once a call has finished, the next caller starts a new one. A
    caller of another thread whose leader's thread is blocked (:func:`blocking`) does
    the work itself, beside the leader's call.
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
            if not await flight.wait():
                # The leader's loop is stalled, maybe by a thread waiting for us: a
                # second token request or login costs less than a deadlock.
                return await work()
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
