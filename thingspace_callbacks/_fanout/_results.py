"""What a fan-out hands out: one :class:`FanOutResult` per account, a
:class:`FanOutProgress` snapshot for ``on_progress``, the :class:`FanOutReport` of
:meth:`FanOut.collect`, and :class:`FanOutCancelledError` for a call the fan-out
stopped before it finished.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .._errors import ThingSpaceError
from .._exports import publish

__all__ = ["FanOutCancelledError", "FanOutProgress", "FanOutReport", "FanOutResult"]

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
    """One result per account, in input order."""
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


publish(globals())  # exported classes report the package as their module
