"""Counting the HTTP attempts made on behalf of one unit of work (a fan-out account).

A fan-out worker installs an :class:`AttemptCounter` in a context variable around each
account's call; the pipeline bumps it once per request it sends (retries and
credential replays included). Tasks the call spawns inherit the context, so their
requests count too. Outside a fan-out the variable is unset and counting costs one
lookup.
"""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["AttemptCounter", "count_attempt", "current_counter"]


class AttemptCounter:
    """How many requests were sent for the current unit of work."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


current_counter: ContextVar[AttemptCounter | None] = ContextVar(
    "thingspace_callbacks_attempts", default=None
)


def count_attempt() -> None:
    """Record one request sent; a no-op outside a counted unit of work."""
    counter = current_counter.get()
    if counter is not None:
        counter.count += 1
