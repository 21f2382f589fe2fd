"""What telemetry costs a call, in CPU instructions counted by valgrind (as
``bench_instructions.py`` counts them: a count does not move with the machine's load).

Sequential registrations against the local server (its own process, not counted), on
httpx's transport, by four clients, each in a process of its own:

- ``without the API``: ``opentelemetry`` cannot be imported (what a user without the
  ``otel`` extra runs);
- ``API, no SDK``: the API is installed but no SDK sets a provider (a library user who
  does not trace);
- ``SDK, batch``: OpenTelemetry's SDK with a ``BatchSpanProcessor`` and a periodic metric
  reader, both exporting to an exporter that drops what it gets (what the SDK costs
  without the network cost of a real backend);
- ``without the API, again``: the first one counted a second time, the noise floor;
- ``the SDK alone``: no call at all, only what OpenTelemetry's SDK costs for what a call
  reports (an operation span around a client span with the same attributes, and two
  measurements): the floor under ``SDK, batch`` that no instrumentation of these
  semantic conventions can go below with this SDK.

The figure per call is the difference between a run of ``--calls`` and a run of
``--calls // 4`` calls, divided by the difference, so start-up and warm-up cancel out.
Targets: ``API, no SDK`` within 2% of ``without the API``, ``SDK, batch`` within 10%.

    python -m benchmarks.bench_telemetry            # 400 calls per client
    python -m benchmarks.bench_telemetry --quick    # 40 (smoke run)
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from ._common import instructions, machine
from ._server import serve_in_subprocess

VARIANTS = (
    "without the API",
    "API, no SDK",
    "SDK, batch",
    "without the API, again",
    "the SDK alone",
)
TARGETS = {"API, no SDK": 1.02, "SDK, batch": 1.10}


def _run(variant: str, api_root: str, calls: int) -> None:
    """The measured process: ``calls`` registrations after 30 that open the connection."""
    if variant.startswith("without the API"):
        sys.modules["opentelemetry"] = None  # type: ignore[assignment]
    elif variant == "SDK, batch":
        _install_sdk()
    elif variant == "the SDK alone":
        _install_sdk()
        _sdk_alone(api_root, 30 + calls)
        return

    import anyio

    from thingspace_callbacks import AsyncThingSpaceClient, ThingSpaceAuth

    from ._common import LISTENER_URL, TOKEN, accounts

    async def main() -> None:
        async with AsyncThingSpaceClient(
            base_url=api_root, auth=ThingSpaceAuth(access_token=TOKEN)
        ) as client:
            for account in accounts(30 + calls):
                await client.location.register(account, service="Location", url=LISTENER_URL)

    anyio.run(main)
    if variant == "SDK, batch":
        from opentelemetry import metrics, trace

        trace.get_tracer_provider().shutdown()  # type: ignore[attr-defined]
        metrics.get_meter_provider().shutdown()  # type: ignore[attr-defined]


def _sdk_alone(api_root: str, calls: int) -> None:
    from opentelemetry import metrics, trace
    from opentelemetry.trace import SpanKind

    tracer = trace.get_tracer("bench")
    meter = metrics.get_meter("bench")
    request_duration = meter.create_histogram("http.client.request.duration", unit="s")
    operation_duration = meter.create_histogram("thingspace.client.operation.duration")
    template = "/api/loc/v1/callbacks/{account}"
    for number in range(calls):
        operation: dict[str, str | int] = {
            "thingspace.family": "location",
            "thingspace.operation": "register",
        }
        with tracer.start_as_current_span(
            "thingspace location.register", kind=SpanKind.INTERNAL, attributes=operation
        ) as span:
            measured: dict[str, str | int] = {
                "http.request.method": "POST",
                "server.address": "127.0.0.1",
                "server.port": 8000,
            }
            with tracer.start_as_current_span(
                f"POST {template}",
                kind=SpanKind.CLIENT,
                attributes={
                    **measured,
                    "url.full": f"{api_root}/loc/v1/callbacks/{number:010d}-00001",
                    "url.template": template,
                },
            ) as attempt:
                measured["http.response.status_code"] = 200
                attempt.set_attributes({**measured, "network.protocol.version": "1.1"})
                request_duration.record(0.001, measured)
            span.set_attributes({"thingspace.attempts": 1})
            operation_duration.record(0.001, {**operation, "thingspace.outcome": "ok"})
    trace.get_tracer_provider().shutdown()  # type: ignore[attr-defined]
    metrics.get_meter_provider().shutdown()  # type: ignore[attr-defined]


def _install_sdk() -> None:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        MetricExporter,
        MetricExportResult,
        PeriodicExportingMetricReader,
    )
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class DropSpans(SpanExporter):
        def export(self, spans: Sequence[object]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    class DropMetrics(MetricExporter):
        def export(
            self, metrics_data: object, timeout_millis: float = 0, **kwargs: object
        ) -> MetricExportResult:
            return MetricExportResult.SUCCESS

        def force_flush(self, timeout_millis: float = 0) -> bool:
            return True

        def shutdown(self, timeout_millis: float = 0, **kwargs: object) -> None:
            return None

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(DropSpans()))
    trace.set_tracer_provider(tracer_provider)
    # The default interval (60 s): under valgrind a run lasts minutes, and a shorter one
    # would count collections that a real run makes a hundred times less often per call.
    reader = PeriodicExportingMetricReader(DropMetrics())
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))


def _count(variant: str, api_root: str, calls: int) -> int:
    return instructions("benchmarks.bench_telemetry", "--run", variant, api_root, str(calls))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=400, help="per client (default 400)")
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (40 calls)")
    parser.add_argument("--run", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        variant, api_root, calls = args.run
        _run(variant, api_root, int(calls))
        return
    if shutil.which("valgrind") is None:
        print("# telemetry: valgrind is not installed (apt-get install valgrind); skipped")
        return
    calls = 40 if args.quick else args.calls
    low = calls // 4
    print(
        f"# telemetry: instructions per call, {calls} sequential registrations per client, "
        f"httpx's transport, counted by valgrind; {machine()}"
    )
    with serve_in_subprocess(0.0) as server, ThreadPoolExecutor(2) as pool:
        api_root = f"{server.url}/api"
        per_call: dict[str, float] = {}
        for variant in VARIANTS:
            # Two processes at once (one per core): a count does not depend on timing.
            high, low_count = pool.map(lambda n, v=variant: _count(v, api_root, n), (calls, low))
            per_call[variant] = (high - low_count) / (calls - low)
    base = per_call["without the API"]
    for variant in VARIANTS[:-1]:
        ratio = per_call[variant] / base
        target = TARGETS.get(variant)
        note = f"(target <= {target:.2f}x)" if target else ""
        if variant.endswith("again"):
            note = "(the noise floor)"
        print(f"{variant:24} {per_call[variant] / 1000:8.1f}k instr/call  {ratio:.3f}x  {note}")
    added = per_call["SDK, batch"] - per_call["API, no SDK"]
    floor = per_call["the SDK alone"]
    print(
        f"{'the SDK alone':24} {floor / 1000:8.1f}k instr/call of the {added / 1000:.1f}k "
        f"that tracing adds ({floor / added:.0%}); the SDK's instrumentation adds "
        f"{(added - floor) / 1000:.1f}k ({(added - floor) / base:.1%} of a call)"
    )


if __name__ == "__main__":
    main()
