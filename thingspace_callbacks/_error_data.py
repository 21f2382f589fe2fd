"""Errors as plain JSON data, for what reports a failure to a program rather than to a
person: the CLI's ``--json``, a ``bulk`` results line, a queued job's outcome.

Its own module, not the CLI's: the queue's workers report outcomes without importing
the CLI (nor click).
"""

from __future__ import annotations

from typing import Any

from ._errors import APIStatusError

__all__ = ["error_data"]


def error_data(exc: object, message: str | None = None) -> dict[str, Any]:
    """An error as plain JSON data: its type and message (``message`` replaces the
    exception's own), and for an answer of ThingSpace its status, error code and
    message, and request id."""
    data: dict[str, Any] = {"type": type(exc).__name__, "message": message or str(exc)}
    if isinstance(exc, APIStatusError):
        data.update(
            status=exc.status_code,
            errorCode=exc.error_code,
            errorMessage=exc.error_message,
            requestId=exc.request_id,
        )
    return data
