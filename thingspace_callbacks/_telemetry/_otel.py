"""The spans and instruments, through OpenTelemetry's API (imported only here).

One :class:`Instruments` per pair of providers (the global ones, or a
:class:`~thingspace_callbacks.telemetry.Telemetry`'s), shared by every client and
receiver using them: a thousand short-lived clients create their instruments once.
Names and attributes follow OpenTelemetry's semantic conventions where one exists
(HTTP client and server spans, ``http.client.request.duration``, ``error.type``); the
SDK's own are under ``thingspace.``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx
from opentelemetry import metrics, propagate, trace
from opentelemetry.trace import SpanKind, StatusCode

from .._constants import M2M_LOGIN_PATH, M2M_LOGOUT_PATH, OAUTH_TOKEN_PATH
from .._redact import redact_url
from .._version import __version__
from ._logging import install_log_context

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

_UNSET_METERING: tuple[type, ...]
try:  # the proxy the API hands out until an SDK sets a global meter provider
    from opentelemetry.metrics._internal import _ProxyMeterProvider

    _UNSET_METERING = (_ProxyMeterProvider, metrics.NoOpMeterProvider)
except ImportError:  # pragma: no cover - a future API without it: report to the proxy
    _UNSET_METERING = (metrics.NoOpMeterProvider,)

__all__ = ["Instruments", "error_type", "instruments"]

_T = TypeVar("_T")

SCOPE = "thingspace_callbacks"
"""The instrumentation scope every span and instrument is reported under."""

_SCHEMA_URL = "https://opentelemetry.io/schemas/1.26.0"
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
"""The buckets the HTTP semantic conventions advise for request durations, in seconds."""
_UNSET_TRACING = (trace.ProxyTracerProvider, trace.NoOpTracerProvider)
_HTTP_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}
)
"""Methods named as they are; any other is ``_OTHER`` (the semantic conventions' bound
on what a sender can make the span's name)."""
_NOTICEABLE_WAIT = 0.001
"""Rate-limiter waits shorter than this (seconds) are not reported."""

Attributes = dict[str, "AttributeValue"]

_CREDENTIAL_PATHS = {
    OAUTH_TOKEN_PATH: ("token", "obtain"),
    M2M_LOGIN_PATH: ("session", "login"),
    M2M_LOGOUT_PATH: ("session", "logout"),
}
"""What each credential endpoint's request does, for its span's name."""


class Attempted(Protocol):
    """A call as the operation span sees it: how many attempts it made."""

    attempts: int


@functools.lru_cache(maxsize=32)
def instruments(tracer_provider: Any, meter_provider: Any, *, record_accounts: bool) -> Instruments:
    """The instruments for these providers (``None``: the global ones), made once."""
    install_log_context()
    return Instruments(tracer_provider, meter_provider, record_accounts=record_accounts)


def error_type(exc: BaseException) -> str:
    """``error.type`` for an exception: the SDK's errors by their public name, others
    by their fully qualified class name, as the semantic conventions advise."""
    kind = type(exc)
    if kind.__module__ == "builtins" or kind.__module__.startswith(SCOPE):
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


class _Server:
    """What the spans of every request to one API root share."""

    __slots__ = ("address", "origin", "port", "prefix")

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.address = parts.hostname or ""
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.prefix = parts.path.rstrip("/")
        host = f"[{self.address}]" if ":" in self.address else self.address
        self.origin = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
        """``scheme://host[:port]``, never with userinfo."""


class Instruments:
    """Spans and metrics for one pair of providers."""

    def __init__(self, tracer_provider: Any, meter_provider: Any, *, record_accounts: bool) -> None:
        self.record_accounts = record_accounts
        self._given = tracer_provider is not None or meter_provider is not None
        self.tracer = trace.get_tracer(
            SCOPE, __version__, tracer_provider=tracer_provider, schema_url=_SCHEMA_URL
        )
        meter = metrics.get_meter(
            SCOPE, __version__, meter_provider=meter_provider, schema_url=_SCHEMA_URL
        )
        self.request_duration = meter.create_histogram(
            "http.client.request.duration",
            unit="s",
            description="Duration of HTTP client requests (each attempt).",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        # Its count is the number of operations by family, operation and outcome: a
        # counter beside it would cost every call a second recording for the same figure.
        self.operation_duration = meter.create_histogram(
            "thingspace.client.operation.duration",
            unit="s",
            description="Duration of operations, every attempt and wait included; its count "
            "is the operations by family, operation and outcome.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.retries = meter.create_counter(
            "thingspace.client.retries", unit="{retry}", description="Retries, by reason."
        )
        self.rate_limiter_wait = meter.create_histogram(
            "thingspace.client.rate_limiter.wait",
            unit="s",
            description="Time requests waited for the rate limiter.",
        )
        self.credential_events = meter.create_counter(
            "thingspace.client.credentials",
            unit="{event}",
            description="Tokens and sessions obtained, renewed or refused.",
        )
        self.fanout_accounts = meter.create_counter(
            "thingspace.fanout.accounts",
            unit="{account}",
            description="Accounts a fan-out finished, by outcome.",
        )
        self.fanout_in_flight = meter.create_up_down_counter(
            "thingspace.fanout.in_flight",
            unit="{account}",
            description="Accounts a fan-out is calling now.",
        )
        self.received = meter.create_counter(
            "thingspace.receiver.messages",
            unit="{message}",
            description="Callback deliveries answered, by verdict.",
        )
        self.handler_duration = meter.create_histogram(
            "thingspace.receiver.handler.duration",
            unit="s",
            description="Duration of callback handlers.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self._servers: dict[str, _Server] = {}

    def active(self) -> bool:
        """Whether anything records what is reported: providers were given, or an SDK
        set a global one. Checked at each call, so a provider set later is used."""
        return (
            self._given
            or not isinstance(trace.get_tracer_provider(), _UNSET_TRACING)
            or not isinstance(metrics.get_meter_provider(), _UNSET_METERING)
        )

    # -- client: operations and attempts -----------------------------------------------

    async def operation(
        self, name: str, account: str | None, call: Attempted, running: Awaitable[_T]
    ) -> _T:
        """Await ``running``, one operation, inside its span."""
        family, _, verb = name.partition(".")
        attributes: Attributes = {"thingspace.family": family, "thingspace.operation": verb}
        span_attributes = dict(attributes)
        if self.record_accounts and account is not None:
            span_attributes["thingspace.account"] = account
        started = time.perf_counter()
        with self.tracer.start_as_current_span(
            f"thingspace {name}",
            kind=SpanKind.INTERNAL,
            attributes=span_attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            outcome = "ok"
            try:
                return await running
            except BaseException as exc:
                kind = error_type(exc)
                outcome = "error" if isinstance(exc, Exception) else "cancelled"
                if outcome == "error":
                    span.set_status(StatusCode.ERROR, kind)
                attributes["error.type"] = kind
                raise
            finally:
                ended: Attributes = {"thingspace.attempts": call.attempts}
                if "error.type" in attributes:
                    ended["error.type"] = attributes["error.type"]
                span.set_attributes(ended)
                attributes["thingspace.outcome"] = outcome
                self.operation_duration.record(time.perf_counter() - started, attributes)

    async def attempt(
        self,
        base_url: str,
        path: str,
        request: httpx.Request,
        resend: int,
        sending: Awaitable[httpx.Response],
    ) -> httpx.Response:
        """Await ``sending``, one HTTP exchange of ``request``, inside a CLIENT span.
        ``path`` is the operation's path template under ``base_url``; ``resend`` counts
        the exchanges of the same call before this one (retries and replays)."""
        server = self._servers.get(base_url)
        if server is None:
            server = self._servers[base_url] = _Server(base_url)
        template = server.prefix + path
        method = request.method
        measured: Attributes = {
            "http.request.method": method,
            "server.address": server.address,
            "server.port": server.port,
        }
        attributes: Attributes = {
            **measured,
            "url.full": (
                redact_url(str(request.url))
                if self.record_accounts
                else server.origin + template + _redacted_query(request.url)
            ),
            "url.template": template,
        }
        if resend:
            attributes["http.request.resend_count"] = resend
        started = time.perf_counter()
        with self.tracer.start_as_current_span(
            f"{method} {template}",
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                response = await sending
            except BaseException as exc:
                kind = error_type(exc)
                span.set_attribute("error.type", kind)
                if isinstance(exc, Exception):
                    span.set_status(StatusCode.ERROR, kind)
                measured["error.type"] = kind
                self.request_duration.record(time.perf_counter() - started, measured)
                raise
            status = response.status_code
            measured["http.response.status_code"] = status
            if status >= 400:
                measured["error.type"] = str(status)
                span.set_status(StatusCode.ERROR)
            # One call for the answer's attributes: each call takes the span's lock.
            span.set_attributes(
                {**measured, "network.protocol.version": _protocol_version(response)}
            )
            self.request_duration.record(time.perf_counter() - started, measured)
            return response

    def retry_wait(self, reason: str, delay: float) -> None:
        """A retry is about to wait ``delay`` seconds after a failure of kind ``reason``."""
        trace.get_current_span().add_event(
            "thingspace.retry", {"thingspace.retry.reason": reason, "thingspace.retry.delay": delay}
        )
        self.retries.add(1, {"thingspace.retry.reason": reason})

    def rate_limiter_waited(self, seconds: float) -> None:
        """A request waited ``seconds`` for the rate limiter."""
        self.rate_limiter_wait.record(seconds)
        if seconds >= _NOTICEABLE_WAIT:
            trace.get_current_span().add_event(
                "thingspace.rate_limiter.wait", {"thingspace.wait": seconds}
            )

    # -- credentials ------------------------------------------------------------------

    @asynccontextmanager
    async def credential_request(self, path: str) -> AsyncIterator[Callable[[int], None]]:
        """A span around one request to a credential endpoint (``path``: the OAuth
        token, the M2M login or logout), counted by outcome; the block reports the
        answer's status through the callable it is given."""
        kind, action = _CREDENTIAL_PATHS.get(path, ("credentials", path))
        attributes: Attributes = {"thingspace.credential": kind, "thingspace.action": action}
        outcome = "error"

        def answered(status: int) -> None:
            nonlocal outcome
            span.set_attribute("http.response.status_code", status)
            if status < 300:
                outcome = "ok"
                return
            outcome = "refused" if status in (400, 401, 403) else "error"
            span.set_attribute("error.type", str(status))
            span.set_status(StatusCode.ERROR)

        with self.tracer.start_as_current_span(
            f"thingspace {kind}.{action}",
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield answered
            except BaseException as exc:
                span.set_attribute("error.type", error_type(exc))
                if isinstance(exc, Exception):
                    span.set_status(StatusCode.ERROR, error_type(exc))
                raise
            finally:
                self.credential_events.add(1, {**attributes, "thingspace.outcome": outcome})

    def credentials_refused(self, status: int, replayed: bool) -> None:
        """An answer refused the credentials a request carried: an event on the
        operation's span (``replayed``: they were renewed and the request sent again)."""
        trace.get_current_span().add_event(
            "thingspace.credentials.refused",
            {"http.response.status_code": status, "thingspace.replayed": replayed},
        )

    # -- the queue: a run's context carried to the workers --------------------------

    def published(self, queue_name: str, operation: str) -> str | None:
        """A ``PRODUCER`` span for a run put on the queue, ended at once; the W3C
        ``traceparent`` of its context, for the jobs to carry (``None`` when it is not
        sampled), so that the workers' spans join the run's trace."""
        attributes: Attributes = {
            "messaging.operation.type": "send",
            "messaging.destination.name": queue_name,
            "thingspace.operation": operation,
        }
        with self.tracer.start_as_current_span(
            f"send {queue_name}", kind=SpanKind.PRODUCER, attributes=attributes
        ) as span:
            context = span.get_span_context()
            if not context.is_valid:
                return None
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            return carrier.get("traceparent")

    @contextmanager
    def consuming(
        self, queue_name: str, job_id: str | None, traceparent: str | None, accounts: int
    ) -> Iterator[None]:
        """A ``CONSUMER`` span for running one job, parented on the context the job
        carries (``traceparent``), current within the block."""
        parent = propagate.extract({"traceparent": traceparent}) if traceparent else None
        attributes: Attributes = {
            "messaging.operation.type": "process",
            "messaging.destination.name": queue_name,
            "messaging.batch.message_count": accounts,
        }
        if job_id:
            attributes["messaging.message.id"] = job_id
        with self.tracer.start_as_current_span(
            f"process {queue_name}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield
            except BaseException as exc:
                span.set_attribute("error.type", error_type(exc))
                if isinstance(exc, Exception):
                    span.set_status(StatusCode.ERROR, error_type(exc))
                raise

    # -- runs: fan-out, plan, apply ---------------------------------------------------

    def run_started(self, name: str, attributes: Mapping[str, AttributeValue]) -> Any:
        """The span of a run over many accounts, started (not current: see
        :meth:`current`)."""
        return self.tracer.start_span(name, kind=SpanKind.INTERNAL, attributes=attributes)

    @staticmethod
    @contextmanager
    def current(span: Any) -> Iterator[None]:
        """Make ``span`` current within the block, without ending it."""
        with trace.use_span(span, end_on_exit=False):
            yield

    def run_finished(
        self, span: Any, prefix: str, counts: Mapping[str, int], error: BaseException | None
    ) -> None:
        """End a run's span, with its counts as ``{prefix}.{name}`` attributes."""
        span.set_attributes({f"{prefix}.{name}": value for name, value in counts.items()})
        if error is not None:
            span.set_attribute("error.type", error_type(error))
            if isinstance(error, Exception):
                span.set_status(StatusCode.ERROR, error_type(error))
        span.end()

    def fanout_progress(self, outcome: str) -> None:
        """One account of a fan-out finished with ``outcome``."""
        self.fanout_accounts.add(1, {"thingspace.outcome": outcome})

    # -- receiver ---------------------------------------------------------------------

    async def delivery(
        self,
        method: str,
        route: str | None,
        running: Awaitable[tuple[int, str, Attributes] | None],
    ) -> None:
        """Await ``running``, the receiver answering one request, inside a SERVER span;
        it returns the status code, the verdict and attributes to add (or ``None``
        when the sender hung up before it was answered). ``route`` is the registered
        path the request arrived on, ``None`` for any other: the span is then named for
        the method alone and records no path."""
        method = method if method in _HTTP_METHODS else "_OTHER"
        attributes: Attributes = {"http.request.method": method}
        if route is not None:
            attributes["http.route"] = attributes["url.path"] = route
        with self.tracer.start_as_current_span(
            method if route is None else f"{method} {route}",
            kind=SpanKind.SERVER,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                answered = await running
            except BaseException as exc:
                span.set_attribute("error.type", error_type(exc))
                self.received.add(1, {"thingspace.verdict": "cancelled"})
                raise
            if answered is None:
                span.set_attribute("thingspace.verdict", "hung_up")
                self.received.add(1, {"thingspace.verdict": "hung_up"})
                return
            status, verdict, extra = answered
            span.set_attribute("http.response.status_code", status)
            span.set_attribute("thingspace.verdict", verdict)
            span.set_attributes(extra)
            if status >= 500:
                span.set_attribute("error.type", str(status))
                span.set_status(StatusCode.ERROR)
            counted: Attributes = {"thingspace.verdict": verdict}
            if "thingspace.family" in extra:
                counted["thingspace.family"] = extra["thingspace.family"]
            self.received.add(1, counted)

    @asynccontextmanager
    async def handler(self, service: str | None, family: str | None) -> AsyncIterator[None]:
        """A span around one run of a receiver's handler, and its duration."""
        attributes: Attributes = {}
        if service:
            attributes["thingspace.service"] = service
        if family:
            attributes["thingspace.family"] = family
        started = time.perf_counter()
        with self.tracer.start_as_current_span(
            f"thingspace handler {service or ''}".rstrip(),
            kind=SpanKind.INTERNAL,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield
            except BaseException as exc:
                span.set_attribute("error.type", error_type(exc))
                if isinstance(exc, Exception):
                    span.set_status(StatusCode.ERROR, error_type(exc))
                raise
            finally:
                self.handler_duration.record(time.perf_counter() - started, attributes)


def _redacted_query(url: httpx.URL) -> str:
    # Accounts travel in paths and in query strings (accountName=...): without
    # record_accounts the path is the template and every query value is redacted, as the
    # semantic conventions redact sensitive query values.
    if not url.query:
        return ""
    return "?" + "&".join(f"{name}=REDACTED" for name, _ in url.params.multi_items())


def _protocol_version(response: httpx.Response) -> str:
    version = response.http_version  # "HTTP/1.1"
    return version.partition("/")[2] or version
