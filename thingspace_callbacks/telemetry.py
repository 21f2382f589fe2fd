"""OpenTelemetry traces and metrics: what the SDK reports, and where.

With the ``otel`` extra (``pip install "thingspace-callbacks[otel]"``, which installs
``opentelemetry-api`` only) every client and receiver reports through the global
tracer and meter providers, or through those given in a :class:`Telemetry`; bring the
OpenTelemetry SDK and exporters of your choice. Without the API nothing is imported and
nothing changes; with the API but no SDK configured, a call costs one check more.

What is reported (the "Observability" guide lists every span, attribute and
instrument):

- a span per operation (``thingspace location.register``, kind ``INTERNAL``) and under
  it a ``CLIENT`` span per HTTP attempt, following OpenTelemetry's HTTP client semantic
  conventions, on both transports; retry waits and rate-limiter waits as events;
- a ``SERVER`` span per callback the receiver answers, with its verdict, and a span for
  its handler;
- a span per fan-out run, with its counts;
- metrics: ``http.client.request.duration`` per attempt, operations by family,
  operation and outcome, retries by reason, rate-limiter waits, fan-out progress,
  received messages by verdict and handler duration.

Never a secret: no token, password, client secret, callback password, signature or
URL userinfo appears in any attribute, event or metric. Accounts are recorded only
with ``Telemetry(record_accounts=True)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Telemetry"]


@dataclass(frozen=True)
class Telemetry:
    """Where a client (``AsyncThingSpaceClient(telemetry=...)``) or a receiver
    (``Receiver(telemetry=...)``) reports its spans and metrics.

    :param tracer_provider: An OpenTelemetry ``TracerProvider``; default: the global one
        (``opentelemetry.trace.set_tracer_provider``), looked up at each call, so one
        set after the client was built is used.
    :param meter_provider: An OpenTelemetry ``MeterProvider``; default: the global one.
    :param record_accounts: Add the account to operation spans
        (``thingspace.account``) and keep it in ``url.full``. Off by default
        (``url.full`` is then the route template, query values ``REDACTED``):
        accounts can be sensitive, and tracing backends keep what they are sent.
    :param enabled: ``False`` reports nothing, whatever is installed.
    """

    tracer_provider: Any = None
    meter_provider: Any = None
    record_accounts: bool = False
    enabled: bool = True
