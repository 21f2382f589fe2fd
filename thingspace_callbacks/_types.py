"""Small shared types: the "not given" sentinel and per-request options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final, Literal, TypedDict, TypeVar, cast

import httpx

from ._exports import publish

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["NOT_GIVEN", "NotGiven", "RequestOptions", "TimeoutTypes"]

_T = TypeVar("_T")


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


class RequestOptions(TypedDict, total=False):
    """Options accepted by every operation, overriding the client's defaults for one call.

    - ``timeout``: seconds or an ``httpx.Timeout`` for each attempt; ``None`` disables it.
      Each phase (connect, read, write, pool) has its limit, and the whole attempt, up
      to the last byte of the answer, takes at most the longest of them.
    - ``extra_headers``: headers added to the request (they win over the SDK's own,
      except the authentication headers).
    - ``max_retries``: how many times a failure worth retrying is retried; ``0`` turns
      retries off for this call.
    - ``deadline``: seconds the whole call may take, every attempt and wait included;
      past it, :class:`APITimeoutError`. ``None`` removes the client's deadline.
    - ``max_response_size``: the largest answer read, in bytes (default 4 MiB); past
      it, :class:`ResponseTooLargeError`. ``None`` removes the limit.
    """

    timeout: TimeoutTypes
    extra_headers: Mapping[str, str]
    max_retries: int
    deadline: float | None
    max_response_size: int | None


def given(value: _T | NotGiven, default: _T) -> _T:
    """Return ``value`` unless it is ``NOT_GIVEN``, else ``default``."""
    return default if isinstance(value, NotGiven) else value


publish(globals())  # exported classes report the package as their module
