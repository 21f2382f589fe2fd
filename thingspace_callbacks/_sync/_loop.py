"""The event loop every :class:`ThingSpaceClient` of the process runs on: one daemon
thread, started on first use and shared by every client, so a short-lived client costs
no thread; a forked child starts its own.

:func:`call` runs a coroutine there and blocks the calling thread until it finishes, in
a wait that Ctrl-C interrupts: the coroutine is then cancelled and ``KeyboardInterrupt``
raised at once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

from .._auth.single_flight import blocking
from .._errors import ThingSpaceError
from .._exports import publish

__all__ = ["EventLoopThreadError", "LoopThread", "call", "generation", "submit"]

_T = TypeVar("_T")

WAKE_EVERY = 0.5
"""Seconds between checks of a waiting thread; a signal is handled at the latest then
(at once on POSIX, where waits on a lock are interrupted)."""


class EventLoopThreadError(ThingSpaceError, RuntimeError):
    """A :class:`ThingSpaceClient` method was called from the SDK's own event loop
    thread (from a callback it runs, such as ``on_progress`` or ``on_token``), where
    blocking would wait for itself; use :class:`AsyncThingSpaceClient` and ``await``
    there."""


class LoopThread:
    """An asyncio event loop running forever in a daemon thread (which never holds up
    the interpreter's exit)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self._run, name="thingspace-callbacks-loop", daemon=True
        )
        self.thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def __repr__(self) -> str:
        return f"LoopThread({self.thread.name!r}, alive={self.thread.is_alive()})"


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.owner: LoopThread | None = None
        self.generation = 0
        """How many forks this process descends from since the import; a client built
        in an older generation rebuilds its async client."""


_state = _State()


def loop_thread() -> LoopThread:
    """The process's loop thread, started on the first call."""
    owner = _state.owner
    if owner is not None:
        return owner
    with _state.lock:
        if _state.owner is None:
            _state.owner = LoopThread()
        return _state.owner


def generation() -> int:
    """Changes in a forked child; see :attr:`_State.generation`."""
    return _state.generation


def submit(coroutine: Coroutine[Any, Any, _T]) -> concurrent.futures.Future[_T]:
    """Schedule ``coroutine`` on the loop thread; cancelling the future cancels it."""
    return asyncio.run_coroutine_threadsafe(coroutine, loop_thread().loop)


def call(awaitable: Awaitable[_T]) -> _T:
    """Run ``awaitable`` (a coroutine, as the async client's methods return) on the loop
    thread and return its result, or raise what it raised. Interrupted (Ctrl-C), it is
    cancelled and the interruption re-raised.

    :raises EventLoopThreadError: Called from the loop thread itself.
    """
    coroutine = awaitable if asyncio.iscoroutine(awaitable) else _wrap(awaitable)
    owner = loop_thread()
    if threading.get_ident() == owner.thread.ident:
        coroutine.close()
        raise EventLoopThreadError(
            "a ThingSpaceClient was called from the SDK's event loop thread (from a "
            "callback it runs), where it would wait for itself; use "
            "AsyncThingSpaceClient and await the call there"
        )
    # A loop this thread runs (a notebook's) stalls until the call returns: flights of
    # credentials led there must not hold up the call (see blocking).
    with blocking():
        return wait(asyncio.run_coroutine_threadsafe(coroutine, owner.loop))


async def _wrap(awaitable: Awaitable[_T]) -> _T:
    return await awaitable


def wait(future: concurrent.futures.Future[_T]) -> _T:
    """The result of ``future``; the waiting thread interrupted (Ctrl-C, or any
    exception a signal handler raises), the work is cancelled."""
    try:
        while True:
            try:
                return future.result(timeout=WAKE_EVERY)
            except concurrent.futures.TimeoutError:
                if future.done():
                    # Done meanwhile, or the coroutine's own TimeoutError: either way
                    # the outcome is the future's.
                    return future.result()
    except BaseException:
        future.cancel()
        raise


def _after_fork_in_child() -> None:
    # The parent's loop thread does not exist here, and its loop's objects belong to
    # the parent's connections: start afresh on first use.
    _state.lock = threading.Lock()
    _state.owner = None
    _state.generation += 1


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_fork_in_child)

publish(globals())  # exported classes report the package as their module
