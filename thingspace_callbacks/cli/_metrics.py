"""``--metrics-port``: the SDK's metrics in Prometheus's text format, served by the
long-running commands (``worker``, ``listen``, ``bulk``, ``apply``).

The metrics are the SDK's OpenTelemetry instruments (see
:mod:`thingspace_callbacks.telemetry`), read by OpenTelemetry's Prometheus exporter and
served by ``prometheus_client``'s HTTP server from a thread of its own, so a scrape
never waits for the command's event loop. Both come with the ``prometheus`` extra.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import click

from ._common import MissingExtra

__all__ = [
    "METRICS_HOST_ENV",
    "METRICS_PORT_ENV",
    "MetricsEndpoint",
    "serve_metrics",
    "serves_metrics",
]

METRICS_PORT_ENV = "THINGSPACE_METRICS_PORT"
METRICS_HOST_ENV = "THINGSPACE_METRICS_HOST"

_F = TypeVar("_F", bound=Callable[..., Any])


def serves_metrics(name: str) -> Callable[[_F], _F]:
    """Give a command ``--metrics-port`` and ``--metrics-host``: when a port is given,
    the metrics are served while the command runs (``name`` is the command, for
    messages). Put it right above the command's function."""

    def decorate(function: _F) -> _F:
        @functools.wraps(function)
        def serving(*args: Any, metrics_port: int | None, metrics_host: str, **kwargs: Any) -> Any:
            endpoint = serve_metrics(name, metrics_host, metrics_port)
            try:
                return function(*args, **kwargs)
            finally:
                if endpoint is not None:
                    endpoint.close()

        return _options(cast("_F", serving))

    return decorate


def _options(command: _F) -> _F:
    command = click.option(
        "--metrics-host",
        default="127.0.0.1",
        show_default=True,
        envvar=METRICS_HOST_ENV,
        help="Address the metrics endpoint binds (0.0.0.0 to be scraped from elsewhere).",
    )(command)
    return click.option(
        "--metrics-port",
        type=click.IntRange(0, 65535),
        default=None,
        envvar=METRICS_PORT_ENV,
        help="Serve the SDK's metrics for Prometheus at http://HOST:PORT/metrics "
        f"(env {METRICS_PORT_ENV}; 0 picks a free port). Needs the [prometheus] extra.",
    )(command)


class MetricsEndpoint:
    """The running endpoint: where it is, and how to stop it."""

    def __init__(self, server: Any, thread: Any, host: str) -> None:
        self._server = server
        self._thread = thread
        self.host = host
        self.port: int = server.server_port

    @property
    def url(self) -> str:
        """``http://HOST:PORT/metrics``."""
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_metrics(command: str, host: str, port: int | None) -> MetricsEndpoint | None:
    """Start serving the metrics when ``port`` is given (``None``: do nothing), after
    making OpenTelemetry's SDK the process's meter provider, read by the Prometheus
    exporter; say where on stderr.

    :raises MissingExtra: the ``prometheus`` extra is not installed.
    """
    if port is None:
        return None
    try:
        from opentelemetry import metrics
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from opentelemetry.sdk.metrics import MeterProvider
        from prometheus_client import start_http_server
    except ModuleNotFoundError as exc:
        raise MissingExtra.of(f"{command} --metrics-port", exc, "prometheus") from None
    if isinstance(metrics.get_meter_provider(), MeterProvider):
        # The global provider is set once per process: a second one would be ignored,
        # with an endpoint that serves none of the SDK's metrics.
        raise click.ClickException(
            "--metrics-port: this process already has an OpenTelemetry meter provider "
            "(set up by opentelemetry-instrument?); export the metrics through it "
            "(OTEL_METRICS_EXPORTER=prometheus serves them too) or drop --metrics-port"
        )
    metrics.set_meter_provider(MeterProvider(metric_readers=[PrometheusMetricReader()]))
    try:
        server, thread = start_http_server(port, addr=host)
    except OSError as exc:
        raise click.ClickException(
            f"--metrics-port: cannot listen on {host}:{port}: {exc}"
        ) from None
    endpoint = MetricsEndpoint(server, thread, host)
    click.echo(f"metrics on {endpoint.url}", err=True)
    return endpoint
