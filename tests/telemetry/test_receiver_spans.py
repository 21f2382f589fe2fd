"""The receiver's spans and metrics: a SERVER span per delivery with its verdict, a span
for each handler run, and nothing of the message's credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from opentelemetry.trace import SpanKind

from thingspace_callbacks.receiver import BodyCredentials, ConnectivityMessage, Receiver

from .._telemetry import Recorded
from ..receiver import _messages as msg


@pytest.fixture
async def http(recorded: Recorded) -> AsyncIterator[tuple[httpx.AsyncClient, list[str]]]:
    handled: list[str] = []
    receiver = Receiver(
        verify=[BodyCredentials(msg.USERNAME, msg.PASSWORD)], telemetry=recorded.telemetry
    )

    @receiver.on("CarrierService")
    async def carrier(message: ConnectivityMessage) -> None:
        handled.append(message.service or "")

    transport = httpx.ASGITransport(app=receiver, client=("127.0.0.1", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://listener") as client:
        yield client, handled


async def test_an_accepted_callback_is_a_server_span_over_its_handler(
    http: tuple[httpx.AsyncClient, list[str]], recorded: Recorded
) -> None:
    client, handled = http
    response = await client.post("/CarrierService", content=msg.encode(msg.m2m()))

    assert response.status_code == 200
    assert handled == ["CarrierService"]
    (server,) = [span for span in recorded.spans if span.kind == SpanKind.SERVER]
    (handler,) = recorded.named("thingspace handler CarrierService")
    assert server.name == "POST /CarrierService"
    assert server.attributes is not None
    assert dict(server.attributes) == {
        "http.request.method": "POST",
        "url.path": "/CarrierService",
        "http.route": "/CarrierService",
        "http.response.status_code": 200,
        "thingspace.verdict": "accepted",
        "thingspace.message.type": "ConnectivityMessage",
        "thingspace.service": "CarrierService",
        "thingspace.family": "connectivity",
    }
    assert handler.parent is not None
    assert handler.parent.span_id == server.context.span_id
    assert recorded.points("thingspace.receiver.messages") == [
        ({"thingspace.verdict": "accepted", "thingspace.family": "connectivity"}, 1)
    ]
    assert [n for _, n in recorded.points("thingspace.receiver.handler.duration")] == [1]


async def test_a_forged_callback_is_rejected_without_a_handler_span(
    http: tuple[httpx.AsyncClient, list[str]], recorded: Recorded
) -> None:
    client, handled = http
    forged = msg.m2m(password="forged-password-Yt3")
    response = await client.post("/CarrierService", content=msg.encode(forged))

    assert response.status_code == 401
    assert handled == []
    (server,) = recorded.spans
    assert server.kind == SpanKind.SERVER
    assert server.attributes is not None
    assert server.attributes["thingspace.verdict"] == "rejected"
    assert server.attributes["thingspace.rejection"] == "verification failed"
    assert server.attributes["http.response.status_code"] == 401
    assert "forged-password-Yt3" not in recorded.everything()
    assert msg.PASSWORD not in recorded.everything()


async def test_a_duplicate_is_answered_without_running_the_handler_again(
    http: tuple[httpx.AsyncClient, list[str]], recorded: Recorded
) -> None:
    client, _handled = http
    body = msg.encode(msg.m2m())
    await client.post("/CarrierService", content=body)
    await client.post("/CarrierService", content=body)

    verdicts = [
        s.attributes["thingspace.verdict"]
        for s in recorded.spans
        if s.kind == SpanKind.SERVER and s.attributes
    ]
    assert verdicts == ["accepted", "duplicate"]
    assert len(recorded.named("thingspace handler CarrierService")) == 1


async def test_a_path_without_a_route_never_names_the_span(
    http: tuple[httpx.AsyncClient, list[str]], recorded: Recorded
) -> None:
    client, _ = http
    secret_path = "/hooks/s3cret-path-Qw7"
    await client.post(secret_path, content=msg.encode(msg.m2m()))
    await client.request("BREW", "/CarrierService")

    names = [span.name for span in recorded.spans if span.kind == SpanKind.SERVER]
    assert names == ["POST", "_OTHER /CarrierService"]
    assert "s3cret-path-Qw7" not in recorded.everything()
