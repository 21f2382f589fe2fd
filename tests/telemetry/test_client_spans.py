"""The spans and metrics of calls, against the sandbox on a real socket: one operation
span, a CLIENT span per HTTP attempt following OpenTelemetry's HTTP client semantic
conventions, on both transports; and never a secret."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode
from starlette.types import ASGIApp, Receive, Scope, Send

from thingspace_callbacks import AsyncThingSpaceClient, BadRequestError, RetryPolicy
from thingspace_callbacks.sandbox import API_ROOT, Sandbox

from .._servers import serve
from .._telemetry import Recorded

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]

ACCOUNT = "0252012345-00001"
CLIENT_SECRET = "client-secret-Zq81"
PASSWORD = "uws-password-Kx55"
CALLBACK_PASSWORD = "callback-password-Wd09"
FAST_RETRIES = RetryPolicy(initial_backoff=0.01, max_backoff=0.01)


class FailFirst:
    """Answers the first ``count`` requests whose path holds ``part`` with a 503, and
    keeps the credentials every request carried."""

    def __init__(self, app: ASGIApp, part: str, count: int = 1) -> None:
        self.app = app
        self.part = part
        self.left = count
        self.credentials: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            for name in (b"authorization", b"vz-m2m-token"):
                value = headers.get(name, b"").decode().removeprefix("Bearer ")
                if value and not value.startswith("Basic"):
                    self.credentials.add(value)
        if scope["type"] == "http" and self.part in scope["path"] and self.left > 0:
            self.left -= 1
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)


class Served:
    def __init__(self, url: str, sandbox: Sandbox, front: FailFirst) -> None:
        self.base_url = url + API_ROOT
        self.sandbox = sandbox
        self.front = front
        self.port = int(url.rsplit(":", 1)[1])

    def client(self, recorded: Recorded, **options: Any) -> AsyncThingSpaceClient:
        client = AsyncThingSpaceClient(
            base_url=self.base_url,
            client_id="traced-app",
            client_secret=CLIENT_SECRET,
            username="traced-user",
            password=PASSWORD,
            **{"retry_policy": FAST_RETRIES, "telemetry": recorded.telemetry, **options},
        )
        return client


@pytest.fixture
def served() -> Iterator[Served]:
    sandbox = Sandbox(
        client_id="traced-app",
        client_secret=CLIENT_SECRET,
        username="traced-user",
        password=PASSWORD,
    )
    front = FailFirst(sandbox.app, "/loc/v1/callbacks/", count=0)
    with serve(front) as url:
        yield Served(url, sandbox, front)


def by_kind(recorded: Recorded, kind: SpanKind) -> list[Any]:
    return sorted(
        (span for span in recorded.spans if span.kind == kind), key=lambda s: s.start_time
    )


@pytest.mark.parametrize("speedups", [False, True], ids=["httpx", "aiohttp"])
async def test_a_retried_call_is_one_operation_span_over_two_client_spans(
    served: Served, recorded: Recorded, speedups: bool
) -> None:
    served.front.left = 1
    async with served.client(recorded, speedups=speedups) as client:
        await client.location.list(ACCOUNT)

    (operation,) = recorded.named("thingspace location.list")
    attempts = [span for span in by_kind(recorded, SpanKind.CLIENT) if span.parent is not None]
    attempts = [s for s in attempts if s.parent.span_id == operation.context.span_id]
    assert operation.kind == SpanKind.INTERNAL
    assert operation.attributes is not None
    assert dict(operation.attributes) == {
        "thingspace.family": "location",
        "thingspace.operation": "list",
        "thingspace.attempts": 2,
    }
    assert [event.name for event in operation.events] == ["thingspace.retry"]
    assert operation.events[0].attributes is not None
    assert operation.events[0].attributes["thingspace.retry.reason"] == "503"
    first, second = attempts
    template = "/api/loc/v1/callbacks/{account}"
    assert first.name == second.name == f"GET {template}"
    assert first.attributes is not None
    assert second.attributes is not None
    assert dict(first.attributes) == {
        "http.request.method": "GET",
        "server.address": "127.0.0.1",
        "server.port": served.port,
        "url.full": f"{served.base_url}/loc/v1/callbacks/{{account}}",
        "url.template": template,
        "http.response.status_code": 503,
        "network.protocol.version": "1.1",
        "error.type": "503",
    }
    assert first.status.status_code == StatusCode.ERROR
    assert "http.request.resend_count" not in first.attributes
    assert second.attributes["http.request.resend_count"] == 1
    assert second.attributes["http.response.status_code"] == 200
    assert "error.type" not in second.attributes


async def test_an_error_is_on_the_operation_span_and_in_the_metrics(
    served: Served, recorded: Recorded
) -> None:
    async with served.client(recorded, max_retries=0) as client:
        with pytest.raises(BadRequestError):
            await client.location.unregister(ACCOUNT, service="Location")
        await client.location.list(ACCOUNT)

    (failed,) = recorded.named("thingspace location.unregister")
    assert failed.attributes is not None
    assert failed.attributes["error.type"] == "BadRequestError"
    assert failed.status.status_code == StatusCode.ERROR
    operations = recorded.points("thingspace.client.operation.duration")
    assert sorted(
        (a["thingspace.operation"], a["thingspace.outcome"], n) for a, n in operations
    ) == [
        ("list", "ok", 1),
        ("unregister", "error", 1),
    ]
    durations = recorded.points("http.client.request.duration")
    statuses = {a["http.response.status_code"] for a, _ in durations}
    assert 400 in statuses
    assert 200 in statuses


async def test_the_users_own_span_parents_every_span_of_a_call(
    served: Served, recorded: Recorded
) -> None:
    tracer = recorded.tracer_provider.get_tracer("the-users-app")
    async with served.client(recorded) as client:
        with tracer.start_as_current_span("handle webhook setup") as mine:
            await client.location.list(ACCOUNT)

    (operation,) = recorded.named("thingspace location.list")
    assert operation.parent is not None
    assert operation.parent.span_id == mine.get_span_context().span_id
    assert {span.context.trace_id for span in recorded.spans} == {mine.get_span_context().trace_id}


async def test_credentials_are_spans_and_an_expired_session_is_a_replay(
    served: Served, recorded: Recorded
) -> None:
    async with served.client(recorded) as client:
        await client.location.list(ACCOUNT)
        served.sandbox.expire_sessions()
        await client.location.list(ACCOUNT)

    assert len(recorded.named("thingspace token.obtain")) == 1
    logins = recorded.named("thingspace session.login")
    assert len(logins) == 2
    _, second = recorded.named("thingspace location.list")
    assert second.attributes is not None
    assert second.attributes["thingspace.attempts"] == 1
    (refused,) = second.events
    assert refused.name == "thingspace.credentials.refused"
    assert refused.attributes is not None
    assert refused.attributes["thingspace.replayed"] is True
    renewal = logins[1]
    assert renewal.parent is not None
    assert renewal.parent.span_id == second.context.span_id
    exchanges = [
        s for s in recorded.spans if s.parent and s.parent.span_id == second.context.span_id
    ]
    resends = [
        s.attributes.get("http.request.resend_count")
        for s in exchanges
        if s.attributes and s.name.startswith("GET")
    ]
    assert resends == [None, 1]
    assert (
        {
            "thingspace.credential": "session",
            "thingspace.action": "login",
            "thingspace.outcome": "ok",
        },
        2,
    ) in recorded.points("thingspace.client.credentials")


async def test_accounts_are_recorded_only_when_asked(served: Served, recorded: Recorded) -> None:
    async with served.client(recorded) as client:
        await client.diagnostics.register(
            ACCOUNT, service="DeviceDiagnostics", url="https://hooks.example.com/d"
        )
        await client.diagnostics.get(ACCOUNT)
    quiet = recorded.everything()
    opted_in = Recorded()
    opted_in_telemetry = dataclasses.replace(opted_in.telemetry, record_accounts=True)
    async with served.client(opted_in, telemetry=opted_in_telemetry) as client:
        await client.diagnostics.get(ACCOUNT)

    assert ACCOUNT not in quiet
    (read,) = [s for s in recorded.spans if s.name.startswith("GET")]
    assert read.attributes is not None
    assert str(read.attributes["url.full"]).endswith(
        "/diagnostics/v1/callbacks?accountName=REDACTED"
    )
    (operation,) = opted_in.named("thingspace diagnostics.get")
    assert operation.attributes is not None
    assert operation.attributes["thingspace.account"] == ACCOUNT
    (exchange,) = [s for s in opted_in.spans if s.name.startswith("GET")]
    assert exchange.attributes is not None
    assert ACCOUNT in str(exchange.attributes["url.full"])


async def test_retries_are_counted_by_reason(served: Served, recorded: Recorded) -> None:
    served.front.left = 2
    async with served.client(recorded) as client:
        await client.location.list(ACCOUNT)

    assert recorded.points("thingspace.client.retries") == [({"thingspace.retry.reason": "503"}, 2)]


async def test_a_fan_out_is_one_span_over_its_calls(served: Served, recorded: Recorded) -> None:
    accounts = [f"0252012345-0000{n}" for n in range(1, 4)]
    async with served.client(recorded) as client:
        report = await client.fan_out(accounts, client.location.list).collect()

    assert all(result.ok for result in report)
    (fan_out,) = recorded.named("thingspace fan_out")
    assert fan_out.attributes is not None
    assert fan_out.attributes["thingspace.fanout.succeeded"] == 3
    assert fan_out.attributes["thingspace.fanout.total"] == 3
    calls = recorded.named("thingspace location.list")
    assert len(calls) == 3
    assert {call.parent.span_id for call in calls if call.parent} == {fan_out.context.span_id}
    assert recorded.points("thingspace.fanout.accounts") == [
        ({"thingspace.outcome": "succeeded"}, 3)
    ]


async def test_no_secret_is_in_any_span_or_metric(
    served: Served, recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="thingspace_callbacks")
    served.front.left = 1
    served.front.part = "/m2m/v1/callbacks/"
    async with served.client(recorded) as client:
        await client.connectivity.register(
            ACCOUNT,
            service="CarrierService",
            url="https://hook-user:url-secret-Pw27@hooks.example.com/carrier",
            username="hook-user",
            password=CALLBACK_PASSWORD,
        )
        await client.connectivity.list(ACCOUNT)

    everything = recorded.everything() + caplog.text
    assert len(served.front.credentials) == 2  # the bearer token and the session token
    for secret in [CLIENT_SECRET, PASSWORD, CALLBACK_PASSWORD, "url-secret-Pw27"]:
        assert secret not in everything
    for token in served.front.credentials:
        assert token not in everything
    assert "thingspace connectivity.register" in everything


async def test_log_records_carry_the_trace_and_the_operation(
    served: Served, recorded: Recorded, caplog: pytest.LogCaptureFixture
) -> None:
    served.front.left = 1
    caplog.set_level(logging.INFO, logger="thingspace_callbacks")
    async with served.client(recorded) as client:
        await client.location.list(ACCOUNT)

    (operation,) = recorded.named("thingspace location.list")
    (record,) = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert record.trace_id == format(operation.context.trace_id, "032x")  # type: ignore[attr-defined]
    assert record.span_id == format(operation.context.span_id, "016x")  # type: ignore[attr-defined]
    assert (record.operation, record.family, record.attempt) == ("location.list", "location", 1)  # type: ignore[attr-defined]
