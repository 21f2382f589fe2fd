"""An asyncio event loop on virtual time, for tests that measure time on asyncio (trio's
own is ``trio.testing.MockClock``).

``loop.time()`` starts at 0 and moves only when the loop has nothing to do but wait for
its next timer: it then jumps to that timer at once. Limits, sleeps and timers keep
their order and their exact lengths, however loaded the machine, and take no real time.
A loop with no timer due waits for I/O as any loop does.

Use it for a module's async tests with::

    @pytest.fixture
    def anyio_backend() -> tuple[str, dict[str, object]]:
        return "asyncio", {"loop_factory": VirtualTimeLoop}
"""

from __future__ import annotations

import asyncio
import selectors
from typing import Any

__all__ = ["VirtualTimeLoop"]


class _JumpingSelector(selectors.DefaultSelector):
    """Answers ready I/O at once; instead of blocking until a timer, moves the clock."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:  # no timer at all: only I/O can wake the loop
            return super().select(None)
        self.now += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose clock jumps to its next timer instead of waiting."""

    def __init__(self) -> None:
        self.clock = _JumpingSelector()
        super().__init__(self.clock)

    def time(self) -> float:
        return self.clock.now

    def advance(self, seconds: float) -> None:
        """Move the clock on without running anything, as a loop held up by blocking
        code would find it when it gets back: every timer passed is due together."""
        self.clock.now += seconds


def virtual_time_backend() -> tuple[str, dict[str, Any]]:
    """The ``anyio_backend`` value for asyncio on a :class:`VirtualTimeLoop`."""
    return "asyncio", {"loop_factory": VirtualTimeLoop}
