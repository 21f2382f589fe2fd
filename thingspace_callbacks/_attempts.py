"""Counting the HTTP attempts made on behalf of one unit of work (a fan-out account).

A fan-out worker installs an :class:`AttemptCounter` in a context variable around each
account's call; each call through the pipeline adds the attempts it made (the same
count its errors report) when it ends. Tasks the call spawns inherit the context, so
their calls count too. Outside a fan-out the variable is unset and recording costs one
lookup.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["AttemptCounter", "current_counter", "record_attempts"]


class AttemptCounter:
    """How many attempts the calls of the current unit of work made."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


current_counter: ContextVar[AttemptCounter | None] = ContextVar(
    "thingspace_callbacks_attempts", default=None
)


def record_attempts(attempts: int) -> None:
    """Add one call's attempts; a no-op outside a counted unit of work."""
    counter = current_counter.get()
    if counter is not None:
        counter.count += attempts
