"""What desired state refuses: a state that cannot be planned, a saved plan that
cannot be applied, a prune too large to do without saying so. Each is an
:class:`~thingspace_callbacks.InvalidArgumentError`, raised before any request."""

from __future__ import annotations

from .._errors import InvalidArgumentError
from .._exports import publish

__all__ = ["PlanFileError", "PruneRefusedError", "StateFileError"]


class StateFileError(InvalidArgumentError):
    """A state (a file, or one built in code) that cannot be planned: a family, a
    service, a URL or an account that is not valid, a variable that is not set, the
    same listener declared twice with different values. The message starts with
    where: the file and line, the listener's number, or both."""

    path: str | None
    """The state file, when the state came from one."""
    place: str | None
    """Where in it (``"line 12, listener 3"``), when known."""

    def __init__(self, message: str, *, path: str | None = None, place: str | None = None) -> None:
        self.path = path
        self.place = place
        where = ", ".join(part for part in (path, place) if part)
        super().__init__(f"{where}: {message}" if where else message)


class PlanFileError(InvalidArgumentError):
    """A saved plan that cannot be applied as it is: not a plan of ours, made against
    another API root, or whose secrets are no longer the ones it was made with."""


class PruneRefusedError(InvalidArgumentError):
    """A plan removes more listeners than an apply does without ``allow_large_prune``:
    more than ``max_prune_share`` of the fleet's listeners of a family, or every
    listener of a family on an account that the plan gives none back."""

    reasons: tuple[str, ...]
    """One line per prune found too large."""

    def __init__(self, reasons: tuple[str, ...]) -> None:
        self.reasons = reasons
        super().__init__(
            "the plan prunes more than allowed without allow_large_prune "
            f"(--allow-large-prune): {'; '.join(reasons)}"
        )


publish(globals(), __all__, module="thingspace_callbacks.state")
