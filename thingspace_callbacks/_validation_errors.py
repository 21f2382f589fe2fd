"""pydantic's ``ValidationError`` as one line of problems, for every message that
reports one: a refused argument or request body, an answer that is not the model
expected, a callback message that fits no model, a refused sandbox setting.

Built from each problem's location and message only, never its input: the input may
be a password or a token. pydantic is not imported here (only for type checkers), so
the modules that report its errors load it no earlier than they did.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError
    from pydantic_core import ErrorDetails

__all__ = ["describe_problems", "location"]


def location(loc: Sequence[int | str]) -> str:
    """Where a problem is, dotted (``items.0.url``); ``body`` for the whole input."""
    return ".".join(str(part) for part in loc) or "body"


def _problem(error: ErrorDetails) -> str:
    return f"{location(error['loc'])}: {error['msg']}"


def describe_problems(
    exc: ValidationError,
    *,
    limit: int | None = None,
    line: Callable[[ErrorDetails], str | None] = _problem,
) -> str:
    """The problems of ``exc``, ``"; "``-separated: each as ``line`` words it (by
    default ``location: message``; ``None`` leaves one out), and past ``limit`` of
    them, how many more there are."""
    errors = exc.errors(include_input=False, include_url=False)
    lines = [text for text in map(line, errors) if text is not None]
    if limit is not None and len(lines) > limit:
        lines[limit:] = [f"and {len(lines) - limit} more"]
    return "; ".join(lines)
