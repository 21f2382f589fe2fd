"""The receiver's ASGI app, driven in-process through httpx.ASGITransport."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import pytest
import trio
from starlette.applications import Starlette
from starlette.routing import Mount

from thingspace_callbacks import InvalidArgumentError
from thingspace_callbacks.receiver import (
    DEFAULT_BODY_TIMEOUT,
    BodyCredentials,
    CallbackMessage,
    ConnectivityMessage,
    FirmwareMessage,
    HmacSignature,
    InboundRequest,
    LocationMessage,
    Receiver,
    SourceAllowList,
    sign_body,
)

from . import _messages as msg

SIGNATURE = "X-ThingSpace-Signature"


class Recorder:
    """An async handler that records messages and can be told to fail or to wait."""

    def __init__(self) -> None:
        self.messages: list[CallbackMessage] = []
        self.fail_next = 0
        self.gate: anyio.Event | None = None
        self.entered = anyio.Event()

    async def __call__(self, message: CallbackMessage) -> None:
        self.messages.append(message)
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError(f"downstream unavailable for {message!r}")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def receiver(recorder: Recorder) -> Receiver:
    app = Receiver(verify=[BodyCredentials(msg.USERNAME, msg.PASSWORD)])
    app.add_handler("CarrierService", recorder)
    app.add_handler("Fota", recorder, path="/fota/v1")
    app.add_handler(
        "DeviceLocation", recorder, path="/location", verify=[HmacSignature(msg.SHARED_SECRET)]
    )
    return app


def _client(app: Any, client: tuple[str, int] = ("127.0.0.1", 5000)) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=client), base_url="http://listener"
    )


@pytest.fixture
async def http(receiver: Receiver) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(receiver) as client:
        yield client


async def test_credentialed_message_reaches_its_handler_typed(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    response = await http.post("/CarrierService", content=msg.encode(msg.m2m()))

    assert response.status_code == 200
    assert response.json() == {"status": "accepted"}
    [message] = recorder.messages
    assert isinstance(message, ConnectivityMessage)
    assert message.service == "CarrierService"
    assert message.device_ids[0].id == "22211315718"

    response = await http.post("/fota/v1/", content=msg.encode(msg.fota()))
    assert response.status_code == 200
    assert isinstance(recorder.messages[-1], FirmwareMessage)


async def test_signed_message_reaches_its_handler(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    body = msg.encode(msg.location())
    response = await http.post(
        "/location", content=body, headers={SIGNATURE: sign_body(body, msg.SHARED_SECRET)}
    )
    assert response.status_code == 200
    [message] = recorder.messages
    assert isinstance(message, LocationMessage)
    assert message.msid == "7892345678"


@pytest.mark.parametrize(
    ("path", "body", "headers"),
    [
        ("/CarrierService", msg.encode(msg.m2m(password="guess")), {}),
        ("/CarrierService", msg.encode(msg.m2m(username="other")), {}),
        ("/CarrierService", msg.encode({"requestId": "r", "callbackCount": 1}), {}),
        ("/location", msg.encode(msg.location()), {}),
        ("/location", msg.encode(msg.location()), {SIGNATURE: "00" * 32}),
        (
            "/location",
            msg.encode(msg.location(msid="tampered")),
            {SIGNATURE: sign_body(msg.encode(msg.location()), msg.SHARED_SECRET)},
        ),
        # The signature route does not accept body credentials instead.
        ("/location", msg.encode(msg.m2m()), {}),
    ],
)
async def test_wrong_or_missing_credentials_or_signature_is_401(
    http: httpx.AsyncClient,
    recorder: Recorder,
    path: str,
    body: bytes,
    headers: dict[str, str],
) -> None:
    response = await http.post(path, content=body, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"status": "rejected", "detail": "verification failed"}
    assert recorder.messages == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b"\xff\xfe",
        b"\xef\xbb\xbf{}",  # UTF-8 with a byte order mark
        "{}".encode("utf-16"),
        "{}".encode("utf-16-le"),
    ],
)
async def test_body_that_is_not_a_json_object_is_400(recorder: Recorder, body: bytes) -> None:
    receiver = Receiver(verify=[])
    receiver.add_handler("CarrierService", recorder)
    async with _client(receiver) as http:
        response = await http.post("/CarrierService", content=body)
    assert response.status_code == 400
    assert response.json()["status"] == "rejected"
    assert recorder.messages == []


async def test_credential_check_on_a_non_json_body_is_400(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    response = await http.post("/CarrierService", content=b"username=x&password=y")
    assert response.status_code == 400
    assert recorder.messages == []


async def test_declared_oversize_body_is_413_before_reading(recorder: Recorder) -> None:
    receiver = Receiver(verify=[], max_body_size=100)
    receiver.add_handler("CarrierService", recorder)
    async with _client(receiver) as http:
        response = await http.post("/CarrierService", content=b"{" + b" " * 200 + b"}")
        assert response.status_code == 413
        ok = await http.post("/CarrierService", content=b"{" + b" " * 90 + b"}")
        assert ok.status_code == 200
    assert len(recorder.messages) == 1


def _scope(*headers: tuple[bytes, bytes]) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "POST",
        "path": "/CarrierService",
        "root_path": "",
        "headers": list(headers),
        "client": ("127.0.0.1", 1),
    }


class EndlessBody:
    """An ASGI ``receive`` for a body that never ends, counting what was read."""

    def __init__(self, chunk: int = 512) -> None:
        self.chunk = chunk
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return {"type": "http.request", "body": b"x" * self.chunk, "more_body": True}


async def _call(receiver: Receiver, scope: dict[str, Any], receive: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def send(event: Any) -> None:
        sent.append(event)

    with anyio.fail_after(5):
        await receiver(scope, receive, send)
    return sent


def _closes(start: dict[str, Any]) -> bool:
    return (b"connection", b"close") in start["headers"]


async def test_oversize_streamed_body_is_413_and_the_rest_is_drained_boundedly(
    recorder: Recorder,
) -> None:
    receiver = Receiver(verify=[], max_body_size=1024)
    receiver.add_handler("CarrierService", recorder)
    body = EndlessBody()
    sent = await _call(receiver, _scope((b"transfer-encoding", b"chunked")), body)

    start, answer, end = sent
    assert start["status"] == 413
    assert _closes(start)
    # Answered before draining, finished after: the 413 is out while the body still comes.
    assert (answer["more_body"], end) == (
        True,
        {"type": "http.response.body", "body": b"", "more_body": False},
    )
    # 3 chunks (1536 bytes > 1024) to refuse it, then another 1024 bytes dropped, no more.
    assert body.calls == 3 + 2
    assert recorder.messages == []


@pytest.mark.parametrize(
    ("declared", "expect", "drained"),
    [
        (1500, None, 3),  # within twice the limit: read to the end (the last chunk ends it)
        (2049, None, 0),  # past twice the limit: cut off at once
        (1500, b"100-continue", 0),  # the sender waits for a 100 that will not come
    ],
)
async def test_declared_oversize_body_is_drained_only_when_worth_it(
    recorder: Recorder, declared: int, expect: bytes | None, drained: int
) -> None:
    receiver = Receiver(verify=[], max_body_size=1024)
    receiver.add_handler("CarrierService", recorder)
    sent_chunks = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent_chunks
        sent_chunks += 1
        return {"type": "http.request", "body": b"x" * 512, "more_body": sent_chunks < 3}

    headers = [(b"content-length", str(declared).encode())]
    if expect is not None:
        headers.append((b"expect", expect))
    sent = await _call(receiver, _scope(*headers), receive)
    assert sent[0]["status"] == 413
    assert _closes(sent[0])
    assert sent[-1]["more_body"] is False
    assert sent_chunks == drained
    assert recorder.messages == []


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_body_that_does_not_arrive_in_time_is_408_and_closes(backend: str) -> None:
    recorder = Recorder()
    receiver = Receiver(verify=[], body_timeout=0.2)
    receiver.add_handler("CarrierService", recorder)

    async def stalled() -> dict[str, Any]:
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def main() -> tuple[list[dict[str, Any]], float]:
        started = anyio.current_time()
        sent = await _call(receiver, _scope((b"content-length", b"10")), stalled)
        return sent, anyio.current_time() - started

    sent, elapsed = anyio.run(main, backend=backend)
    start, answer = sent
    assert start["status"] == 408
    assert _closes(start)
    assert json.loads(answer["body"]) == {
        "status": "rejected",
        "detail": "body did not arrive within 0.2 s",
    }
    assert 0.18 <= elapsed < 2
    assert recorder.messages == []


async def test_body_timeout_covers_the_whole_body_not_each_chunk(recorder: Recorder) -> None:
    receiver = Receiver(verify=[], body_timeout=0.3)
    receiver.add_handler("CarrierService", recorder)

    async def trickle() -> dict[str, Any]:
        await anyio.sleep(0.05)  # each chunk is quick; all of them together are not
        return {"type": "http.request", "body": b" ", "more_body": True}

    sent = await _call(receiver, _scope(), trickle)
    assert sent[0]["status"] == 408


async def test_body_timeout_can_be_changed_or_removed(recorder: Recorder) -> None:
    assert Receiver(verify=[]).body_timeout == DEFAULT_BODY_TIMEOUT == 10
    unbounded = Receiver(verify=[], body_timeout=None)
    unbounded.add_handler("CarrierService", recorder)
    async with _client(unbounded) as http:
        response = await http.post("/CarrierService", content=msg.encode(msg.m2m()))
    assert response.status_code == 200
    for wrong in (0, -1.0):
        with pytest.raises(ValueError, match="body_timeout"):
            Receiver(verify=[], body_timeout=wrong)


async def test_default_body_limit_is_one_mebibyte(recorder: Recorder) -> None:
    receiver = Receiver(verify=[])
    receiver.add_handler("CarrierService", recorder)
    padding = 1024 * 1024
    async with _client(receiver) as http:
        response = await http.post("/CarrierService", content=b"{}" + b" " * padding)
    assert response.status_code == 413


async def test_unknown_path_is_404_and_other_methods_405(http: httpx.AsyncClient) -> None:
    assert (await http.post("/nowhere", content=b"{}")).status_code == 404
    response = await http.get("/CarrierService")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_resent_message_is_handled_once(http: httpx.AsyncClient, recorder: Recorder) -> None:
    first = await http.post("/CarrierService", content=msg.encode(msg.m2m(callbackCount=1)))
    again = await http.post("/CarrierService", content=msg.encode(msg.m2m(callbackCount=2)))
    other = await http.post(
        "/CarrierService", content=msg.encode(msg.m2m(deviceIds=[{"id": "9", "kind": "ESN"}]))
    )

    assert (first.status_code, first.json()["status"]) == (200, "accepted")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert other.json()["status"] == "accepted"
    assert len(recorder.messages) == 2


async def test_failing_handler_is_500_and_the_resend_is_handled(
    http: httpx.AsyncClient, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    recorder.fail_next = 1
    caplog.set_level(logging.INFO, logger="thingspace_callbacks")

    failed = await http.post("/CarrierService", content=msg.encode(msg.m2m(callbackCount=1)))
    retried = await http.post("/CarrierService", content=msg.encode(msg.m2m(callbackCount=2)))
    third = await http.post("/CarrierService", content=msg.encode(msg.m2m(callbackCount=3)))

    assert failed.status_code == 500
    assert failed.json() == {"status": "failed", "detail": "handler failed"}
    assert (retried.status_code, retried.json()["status"]) == (200, "accepted")
    assert (third.status_code, third.json()["status"]) == (200, "duplicate")
    assert [m.callback_count for m in recorder.messages] == [1, 2]  # type: ignore[attr-defined]
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    assert "CarrierService" in failures[0].getMessage()


async def test_concurrent_resend_waits_for_the_first_and_is_not_handled_twice(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    recorder.gate = anyio.Event()
    results: dict[int, httpx.Response] = {}

    async def post(count: int) -> None:
        results[count] = await http.post(
            "/CarrierService", content=msg.encode(msg.m2m(callbackCount=count))
        )

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(post, 1)
            await recorder.entered.wait()
            tg.start_soon(post, 2)
            await anyio.wait_all_tasks_blocked()  # the re-send has reached the claim
            assert 2 not in results  # the re-send is held, not acknowledged early
            recorder.gate.set()

    assert len(recorder.messages) == 1
    assert {c: r.json()["status"] for c, r in results.items()} == {1: "accepted", 2: "duplicate"}


async def test_concurrent_resend_is_handled_when_the_first_fails(
    http: httpx.AsyncClient, recorder: Recorder
) -> None:
    recorder.gate = anyio.Event()
    recorder.fail_next = 1
    results: dict[int, int] = {}

    async def post(count: int) -> None:
        response = await http.post(
            "/CarrierService", content=msg.encode(msg.m2m(callbackCount=count))
        )
        results[count] = response.status_code

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(post, 1)
            await recorder.entered.wait()
            tg.start_soon(post, 2)
            await anyio.wait_all_tasks_blocked()  # the re-send has reached the claim
            recorder.gate.set()

    assert results == {1: 500, 2: 200}
    assert len(recorder.messages) == 2


def test_concurrent_resend_is_held_under_trio_too() -> None:
    async def main() -> list[str]:
        recorder = Recorder()
        recorder.gate = anyio.Event()
        receiver = Receiver(verify=[])
        receiver.add_handler("CarrierService", recorder)
        statuses: list[str] = []

        async def post(client: httpx.AsyncClient, count: int) -> None:
            response = await client.post(
                "/CarrierService", content=msg.encode(msg.m2m(callbackCount=count))
            )
            statuses.append(response.json()["status"])

        async with _client(receiver) as client, anyio.create_task_group() as tg:
            tg.start_soon(post, client, 1)
            await recorder.entered.wait()
            tg.start_soon(post, client, 2)
            await anyio.wait_all_tasks_blocked()  # the re-send has reached the claim
            recorder.gate.set()
        assert len(recorder.messages) == 1
        return statuses

    assert trio.run(main) == ["accepted", "duplicate"]


async def test_dedupe_can_be_turned_off(recorder: Recorder) -> None:
    receiver = Receiver(verify=[], dedupe=False)
    receiver.add_handler("CarrierService", recorder)
    async with _client(receiver) as http:
        for count in (1, 2):
            response = await http.post(
                "/CarrierService", content=msg.encode(msg.m2m(callbackCount=count))
            )
            assert response.json()["status"] == "accepted"
    assert len(recorder.messages) == 2


async def test_broken_dedupe_store_still_delivers(recorder: Recorder) -> None:
    class BrokenStore:
        async def contains(self, key: str) -> bool:
            raise ConnectionError("redis down")

        async def add(self, key: str) -> None:
            raise ConnectionError("redis down")

    receiver = Receiver(verify=[], dedupe=BrokenStore())
    receiver.add_handler("CarrierService", recorder)
    async with _client(receiver) as http:
        response = await http.post("/CarrierService", content=msg.encode(msg.m2m()))
    assert response.status_code == 200
    assert len(recorder.messages) == 1


async def test_source_allow_list_is_403_for_other_senders(recorder: Recorder) -> None:
    receiver = Receiver(verify=[SourceAllowList(), BodyCredentials(msg.USERNAME, msg.PASSWORD)])
    receiver.add_handler("CarrierService", recorder)
    body = msg.encode(msg.m2m())
    async with _client(receiver, client=("203.0.113.9", 40000)) as http:
        refused = await http.post("/CarrierService", content=body)
        spoofed = await http.post(
            "/CarrierService", content=body, headers={"X-Forwarded-For": "3.87.163.45"}
        )
    async with _client(receiver, client=("3.87.163.45", 40000)) as http:
        allowed = await http.post("/CarrierService", content=body)
    assert (refused.status_code, spoofed.status_code, allowed.status_code) == (403, 403, 200)
    assert len(recorder.messages) == 1


async def test_forwarded_for_is_used_behind_a_proxy_when_switched_on(recorder: Recorder) -> None:
    receiver = Receiver(verify=[SourceAllowList(trust_forwarded_for=True)])
    receiver.add_handler("CarrierService", recorder)
    async with _client(receiver, client=("10.0.0.2", 40000)) as http:
        response = await http.post(
            "/CarrierService",
            content=msg.encode(msg.m2m()),
            headers={"X-Forwarded-For": "3.87.163.45"},
        )
    assert response.status_code == 200


async def test_rejections_and_failures_never_log_secrets(
    http: httpx.AsyncClient, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    recorder.fail_next = 1  # its exception message includes repr(message)
    await http.post("/CarrierService", content=msg.encode(msg.m2m(password=msg.PASSWORD + "x")))
    await http.post("/CarrierService", content=msg.encode(msg.m2m()))
    body = msg.encode(msg.location())
    await http.post("/location", content=body, headers={SIGNATURE: sign_body(body, "guess")})
    await http.post("/CarrierService", content=b'{"password": "' + msg.PASSWORD.encode())

    assert len(caplog.records) >= 4
    text = caplog.text + "".join(
        logging.Formatter().formatException(r.exc_info) for r in caplog.records if r.exc_info
    )
    assert msg.PASSWORD not in text
    assert msg.SHARED_SECRET not in text
    assert sign_body(body, msg.SHARED_SECRET) not in text


async def test_unexpected_verifier_error_is_500_and_skips_the_handler(recorder: Recorder) -> None:
    def broken(request: InboundRequest) -> None:
        raise KeyError("bug")

    receiver = Receiver(verify=[broken])
    receiver.add_handler("CarrierService", recorder)
    async with _client(receiver) as http:
        response = await http.post("/CarrierService", content=msg.encode(msg.m2m()))
    assert response.status_code == 500
    assert recorder.messages == []


async def test_on_decorator_and_catch_all(recorder: Recorder) -> None:
    receiver = Receiver(verify=[])
    seen: list[tuple[str, str | None]] = []

    @receiver.on("CarrierService", path="/m2m/carrier")
    async def carrier(message: ConnectivityMessage) -> None:
        seen.append(("carrier", message.service))

    @receiver.on_any()
    async def anything(message: CallbackMessage) -> None:
        seen.append(("any", message.service))

    async with _client(receiver) as http:
        assert (await http.post("/m2m/carrier", content=b"{}")).status_code == 200
        assert (await http.post("/hooks/DeviceUsage", content=b'{"a": 1}')).status_code == 200
        assert (await http.post("/", content=b'{"a": 2}')).status_code == 200
    assert seen == [("carrier", "CarrierService"), ("any", "DeviceUsage"), ("any", None)]
    assert receiver.routes == {"/m2m/carrier": "CarrierService"}


def test_registration_refuses_mistakes(recorder: Recorder) -> None:
    receiver = Receiver(verify=[])
    receiver.add_handler("CarrierService", recorder)
    with pytest.raises(ValueError, match="already has a handler"):
        receiver.add_handler("Other", recorder, path="/CarrierService/")
    with pytest.raises(ValueError, match="service"):
        receiver.add_handler("", recorder)

    def sync_handler(message: CallbackMessage) -> None: ...

    with pytest.raises(InvalidArgumentError, match="async"):
        receiver.add_handler("StateService", sync_handler)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_body_size"):
        Receiver(verify=[], max_body_size=0)


SECRET = "hook-secret-Vq3"


@pytest.mark.parametrize(
    ("verify", "message"),
    [
        (
            [SECRET],
            "'verify' must hold verifiers, callables taking the request (such as "
            "HmacSignature(secret)); item 0 is a str",
        ),
        (
            [HmacSignature(SECRET), None],
            "'verify' must hold verifiers, callables taking the request (such as "
            "HmacSignature(secret)); item 1 is a NoneType",
        ),
        (
            [HmacSignature],
            "'verify' must hold verifiers, callables taking the request (such as "
            "HmacSignature(secret)); item 0 is the class HmacSignature",
        ),
        (
            SECRET,
            "'verify' must be a sequence of verifiers (verify=[] accepts every message), not str",
        ),
        (
            HmacSignature(SECRET),
            "'verify' must be a sequence of verifiers; put a single one in a list",
        ),
    ],
    ids=["a-secret", "none-among-them", "a-class", "a-string", "one-verifier"],
)
def test_verifiers_are_checked_when_the_receiver_is_built(
    recorder: Recorder, verify: Any, message: str
) -> None:
    # Unchecked, every message would be answered 500 when the verifier is called.
    with pytest.raises(InvalidArgumentError) as built:
        Receiver(verify=verify)
    receiver = Receiver(verify=[])
    with pytest.raises(InvalidArgumentError) as routed:
        receiver.add_handler("CarrierService", recorder, verify=verify)
    with pytest.raises(InvalidArgumentError) as fallback:
        receiver.on_any(verify=verify)(recorder)

    assert str(built.value) == str(routed.value) == str(fallback.value) == message
    assert SECRET not in message  # a secret given in place of a verifier is not shown
    assert receiver.routes == {}


def test_verify_none_is_refused_by_the_receiver_only(recorder: Recorder) -> None:
    # A route's verify=None means "the receiver's verifiers"; the receiver has no such.
    with pytest.raises(InvalidArgumentError, match=r"must be a sequence .* not NoneType"):
        Receiver(verify=None)  # type: ignore[arg-type]
    receiver = Receiver(verify=[HmacSignature(SECRET)])
    receiver.add_handler("CarrierService", recorder, verify=None)
    assert receiver.routes == {"/CarrierService": "CarrierService"}


async def test_mounts_inside_a_starlette_app(recorder: Recorder) -> None:
    receiver = Receiver(verify=[BodyCredentials(msg.USERNAME, msg.PASSWORD)])
    receiver.add_handler("CarrierService", recorder)
    app = Starlette(routes=[Mount("/thingspace", app=receiver)])
    async with _client(app) as http:
        response = await http.post("/thingspace/CarrierService", content=msg.encode(msg.m2m()))
        missing = await http.post("/CarrierService", content=msg.encode(msg.m2m()))
    assert response.status_code == 200
    assert missing.status_code == 404
    assert recorder.messages[0].service == "CarrierService"


async def test_process_works_without_asgi(receiver: Receiver, recorder: Recorder) -> None:
    outcome = await receiver.process(
        InboundRequest(body=msg.encode(msg.m2m()), path="/CarrierService")
    )
    assert (outcome.status_code, outcome.status, outcome.acknowledged) == (200, "accepted", True)
    assert isinstance(outcome.message, ConnectivityMessage)
    rejected = await receiver.process(
        InboundRequest(body=msg.encode(msg.m2m(password="x")), path="/CarrierService")
    )
    assert (rejected.status_code, rejected.acknowledged, rejected.message) == (401, False, None)


async def test_lifespan_and_websocket_scopes_are_answered(receiver: Receiver) -> None:
    events = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return next(events)

    async def send(event: Any) -> None:
        sent.append(event["type"])

    await receiver({"type": "lifespan"}, receive, send)
    await receiver({"type": "websocket", "path": "/"}, receive, send)
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete", "websocket.close"]
