"""Single flight: however many tasks ask at once, one does the work and all share its
outcome."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Generic, TypeVar

import anyio

__all__ = ["SingleFlight"]

_T = TypeVar("_T")


class _Flight(Generic[_T]):
    __slots__ = ("done", "error", "result", "traceback")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.result: tuple[_T] | None = None
        self.error: Exception | None = None
        self.traceback: TracebackType | None = None


class SingleFlight(Generic[_T]):
    """Runs at most one call of a function at a time; callers that arrive while it runs
    wait for it and get its result, or the very exception it raised.

    When the task doing the work is cancelled, the waiters are not: one of them starts
    the work again. Once a call has finished, the next caller starts a new one.
    """

    __slots__ = ("_flight",)

    def __init__(self) -> None:
        self._flight: _Flight[_T] | None = None

    @property
    def in_flight(self) -> bool:
        """Whether a call is running now."""
        return self._flight is not None

    async def run(self, work: Callable[[], Awaitable[_T]]) -> _T:
        """Run ``work``, or join the call already running."""
        while True:
            flight = self._flight
            if flight is None:
                return await self._lead(work)
            await flight.done.wait()
            if flight.result is not None:
                return flight.result[0]
            if flight.error is not None:
                # Each raise would prepend this task's frames to the shared exception's
                # traceback; start every waiter from the leader's, so it stays short.
                raise flight.error.with_traceback(flight.traceback)
            # The leader was cancelled; take its place.

    async def _lead(self, work: Callable[[], Awaitable[_T]]) -> _T:
        flight: _Flight[_T] = _Flight()
        self._flight = flight
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
            self._flight = None
            flight.done.set()
