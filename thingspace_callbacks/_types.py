"""Small shared types: the "not given" sentinel and the timeout argument's type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal, cast

import httpx

from ._exports import publish

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["NOT_GIVEN", "NotGiven", "TimeoutTypes"]


class NotGiven:
    """Marks an argument that was not passed.

    ``None`` cannot mean "not passed" for options such as ``timeout``, where ``None``
    means "no timeout at all"; this sentinel is what every per-request option defaults
    to instead. It is falsy.
    """

    _instance: NotGiven | None = None

    def __new__(cls) -> Self:
        if NotGiven._instance is None:
            NotGiven._instance = super().__new__(cls)
        return cast("Self", NotGiven._instance)

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()

TimeoutTypes = float | httpx.Timeout | None
"""A timeout in seconds for every phase, an ``httpx.Timeout``, or ``None`` for none."""


publish(globals())  # exported classes report the package as their module
