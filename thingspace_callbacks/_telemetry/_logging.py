"""Log records that name the trace they belong to.

Once OpenTelemetry's API is in use, every record the SDK's loggers write while a span
is current carries ``trace_id`` and ``span_id`` (hex, as OpenTelemetry's logging
instrumentation spells them: ``otelTraceID`` and ``otelSpanID`` too), so a formatter
or a JSON log handler can join logs to traces.
"""

from __future__ import annotations

import logging

from opentelemetry import trace

from .._constants import LOGGER_NAME

__all__ = ["TraceContextFilter", "install_log_context"]

_LOGGERS = ("", ".auth", ".redis", ".receiver")
"""The SDK's loggers (a filter applies to its own logger's records, not its children's)."""


class TraceContextFilter(logging.Filter):
    """Adds the current span's ``trace_id`` and ``span_id`` to each record; drops none."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            trace_id = format(context.trace_id, "032x")
            span_id = format(context.span_id, "016x")
            record.trace_id = record.otelTraceID = trace_id
            record.span_id = record.otelSpanID = span_id
        return True


_FILTER = TraceContextFilter()


def install_log_context() -> None:
    """Put the filter on every SDK logger (once; adding it again does nothing)."""
    for suffix in _LOGGERS:
        logging.getLogger(LOGGER_NAME + suffix).addFilter(_FILTER)
