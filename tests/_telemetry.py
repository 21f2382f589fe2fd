"""OpenTelemetry's SDK with in-memory exporters, for a client or receiver of a test's
own (never the global providers: other tests in the process run untraced). Import the
``recorded`` fixture into a test module or conftest to use it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from thingspace_callbacks.telemetry import Telemetry


class Recorded:
    """What the SDK reported through one :class:`Telemetry`."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.telemetry = Telemetry(
            tracer_provider=self.tracer_provider, meter_provider=self.meter_provider
        )

    @property
    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [span for span in self.spans if span.name == name]

    def metrics(self) -> MetricsData:
        data = self.reader.get_metrics_data()
        assert data is not None
        return data

    def points(self, name: str) -> list[tuple[dict[str, object], object]]:
        """``(attributes, value)`` of every data point of the metric ``name``: the sum
        of a counter, the count of a histogram."""
        found: list[tuple[dict[str, object], object]] = []
        for resource in self.metrics().resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name != name:
                        continue
                    for point in metric.data.data_points:
                        value = getattr(point, "value", None)
                        if value is None:
                            value = getattr(point, "count", None)
                        found.append((dict(point.attributes or {}), value))
        return found

    def everything(self) -> str:
        """Every span (attributes, events, names) and metric as text, to search."""
        parts = [span.to_json() for span in self.spans]
        parts.append(self.metrics().to_json())
        return "\n".join(parts)


@pytest.fixture
def recorded() -> Iterator[Recorded]:
    recorded = Recorded()
    yield recorded
    recorded.tracer_provider.shutdown()
    recorded.meter_provider.shutdown()
