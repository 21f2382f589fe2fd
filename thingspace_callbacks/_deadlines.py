"""Time limits for many asyncio tasks on one timer per event loop.

Every request runs within a time limit, and nearly every request ends long before it.
``asyncio.timeout`` arms a loop timer per request and cancels it when the request ends,
which with thousands of requests a second is a measurable share of the SDK's own CPU
time. Here a request only notes its deadline; one timer per loop stands at the earliest
deadline any request had when it was armed, and when it fires it cancels the requests
that are past theirs and moves on to the next deadline still standing. A request that
ended before its deadline costs a set insertion and a removal.

Cancellation follows ``asyncio.timeout`` (hence Python 3.11 or newer, for
``Task.uncancel``): a cancellation from outside that arrives as the limit passes
remains a cancellation.
"""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from typing import Protocol

__all__ = ["Deadline", "Task", "deadlines"]

_RESOLUTION = time.get_clock_info("monotonic").resolution


class Task(Protocol):
    """What is used of an ``asyncio.Task`` on Python 3.11 and newer (the package is
    type-checked for 3.10, whose ``Task`` has neither ``cancelling`` nor ``uncancel``)."""

    def get_loop(self) -> asyncio.AbstractEventLoop: ...
    def cancel(self, msg: object = None) -> bool: ...
    def cancelling(self) -> int: ...
    def uncancel(self) -> int: ...


class Deadline:
    """One task's time limit, from :meth:`Deadlines.start` until :meth:`end`."""

    __slots__ = ("_cancelling", "_owner", "expired", "task", "when")

    def __init__(self, owner: Deadlines, task: Task, when: float) -> None:
        self._owner = owner
        self._cancelling = task.cancelling()
        self.task = task
        self.when = when
        self.expired = False
        """Whether the limit passed and the task was cancelled for it."""

    def end(self) -> None:
        """Stop watching; call it whatever the task's work came to."""
        self._owner.discard(self)

    def caught(self) -> bool:
        """Called on a ``CancelledError`` inside the limit: whether it is the limit's
        own, to be turned into a timeout (``True``), or one from outside, to re-raise."""
        return self.expired and self.task.uncancel() <= self._cancelling


class Deadlines:
    """The deadlines of one event loop's tasks, watched by one timer."""

    __slots__ = ("_armed_at", "_watched")

    def __init__(self) -> None:
        # Nothing here holds the loop, nor its timers (each holds its loop): this is the
        # value of a weak key, and a loop closed with a timer pending must still go.
        self._watched: set[Deadline] = set()
        self._armed_at = math.inf

    def start(self, task: Task, seconds: float) -> Deadline:
        """Cancel ``task`` once ``seconds`` have passed, unless it has ended the
        returned :class:`Deadline` before."""
        loop = task.get_loop()
        deadline = Deadline(self, task, loop.time() + seconds)
        self._watched.add(deadline)
        if deadline.when < self._armed_at:
            self._arm(loop, deadline.when)
        return deadline

    def discard(self, deadline: Deadline) -> None:
        # The timer stays armed: with nothing left it fires once and stands down, which
        # costs less than disarming and arming again for every request.
        self._watched.discard(deadline)

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        # A timer armed for later is left to fire: it finds nothing due, or less.
        loop.call_at(when, self._fire, when)
        self._armed_at = when

    def _fire(self, when: float) -> None:
        loop = asyncio.get_running_loop()
        if when == self._armed_at:
            self._armed_at = math.inf
        # As the loop itself decides a timer is due: within the clock's resolution.
        now = loop.time() + _RESOLUTION
        following = math.inf
        for deadline in list(self._watched):
            if deadline.when <= now:
                self._watched.discard(deadline)
                deadline.expired = True
                deadline.task.cancel()
            elif deadline.when < following:
                following = deadline.when
        if following < self._armed_at:
            self._arm(loop, following)


_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Deadlines] = (
    weakref.WeakKeyDictionary()
)


def deadlines(loop: asyncio.AbstractEventLoop) -> Deadlines:
    """The :class:`Deadlines` of ``loop``, made on first use and dropped with the loop."""
    try:
        return _per_loop[loop]
    except KeyError:
        watcher = _per_loop[loop] = Deadlines()
        return watcher
