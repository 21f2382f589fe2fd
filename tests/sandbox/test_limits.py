"""Hostile input across a real socket: bodies too big or nested too deep, listener URLs
ThingSpace would refuse. Each gets a 4xx in the sandbox's usual error shape, never a
500 or a traceback, and the sandbox keeps serving other clients meanwhile.

Requests go over plain httpx or a hand-driven h11 connection, never the SDK client, so
that what is tested is the sandbox alone.
"""

from __future__ import annotations

import base64
import json
import logging
import ssl
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import h11
import httpx
import pytest
from anyio.abc import SocketStream

from thingspace_callbacks.sandbox import Sandbox, SandboxServer

from ._support import Listener

pytestmark = [pytest.mark.integration, pytest.mark.timeout(10)]

ACCOUNT = "0000123456-00001"
MIB = 1024 * 1024
DEFAULT_LIMIT = 1 * MIB
BASIC = "Basic " + base64.b64encode(b"sandbox-client-id:sandbox-client-secret").decode()


@dataclass(frozen=True)
class Operation:
    """A registering operation: where it is, what body registers ``url``, and which
    family ``/sandbox/emit`` delivers it as."""

    method: str
    path: str
    body: Callable[[str], dict[str, Any]]
    family: str


REGISTERING = {
    "diagnostics.register": Operation(
        "POST",
        "/api/diagnostics/v1/callbacks",
        lambda url: {"accountName": ACCOUNT, "serviceName": "Diag", "endpoint": url},
        "diagnostics",
    ),
    "location.register": Operation(
        "POST",
        f"/api/loc/v1/callbacks/{ACCOUNT}",
        lambda url: {"name": "Location", "url": url},
        "location",
    ),
    "firmware.register": Operation(
        "POST", f"/api/fota/v2/callbacks/{ACCOUNT}", lambda url: {"url": url}, "firmware"
    ),
    "firmware.update": Operation(
        "PUT", f"/api/fota/v2/callbacks/{ACCOUNT}", lambda url: {"url": url}, "firmware"
    ),
    "firmware_v3.register": Operation(
        "POST", f"/api/fota/v3/callbacks/{ACCOUNT}", lambda url: {"url": url}, "firmware_v3"
    ),
    "firmware_v3.update": Operation(
        "PUT", f"/api/fota/v3/callbacks/{ACCOUNT}", lambda url: {"url": url}, "firmware_v3"
    ),
    "connectivity.register": Operation(
        "POST",
        f"/api/m2m/v1/callbacks/{ACCOUNT}",
        lambda url: {"name": "CarrierService", "url": url},
        "connectivity",
    ),
    "hyper_precise.register": Operation(
        "POST",
        f"/api/hyper-precise/v1/callbacks?accountNumber={ACCOUNT}",
        lambda url: {"aname": ACCOUNT, "name": "hpl", "url": url},
        "hyper_precise",
    ),
}
"""The eight operations that carry a JSON body."""

JSON_ROUTES = [
    *((op.method, op.path) for op in REGISTERING.values()),
    ("POST", "/api/m2m/v1/session/login"),
    ("POST", "/sandbox/emit"),
    ("PUT", "/sandbox/faults"),
    ("POST", "/sandbox/expire"),
]
"""Every route that parses a JSON body: the operations, the login, the admin routes."""

BOMBS = {
    "arrays": "[" * 100_000,
    "objects": '{"a":' * 100_000,
    "arrays-then-garbage": "[" * 100_000 + "]" * 10 + "x",
    "one-level-too-deep": "[" * 65 + "]" * 65,
}

BAD_URLS = [
    "http://listener.test/hook\r\nX-Injected: 1",
    "http://listener.test/hook\n",
    "http://listener.test/ho ok",
    "http://listener.test/\tx",
    "http://listener.test/\x00",
    "http://listener.test/\x7f",
    "http://listener.test/\x85",
    "http://listener.test/\u2028",
    " http://listener.test/",
    "https://exa\u00a0mple.test/",
    "ftp://listener.test/",
    "listener.test/hook",
    "/hook",
    "http://",
    "http:///hook",
    "http://listener.test:99999/",
    "http://listener.test:0/",
    "http://[::1/",
]


def header_safe(url: str) -> bool:
    """Whether ``url`` can be sent as a header value at all (no CR, LF, NUL...)."""
    return url == url.strip() and all(c == "\t" or 0x20 <= ord(c) < 0x7F for c in url)


def good_url(name: str) -> str:
    return f"http://listener.test/hooks/{name}"


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Error records and records with a traceback, logged by anyone (uvicorn included)."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.ERROR or record.exc_info
    ]


def assert_error_shape(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"errorCode", "errorMessage"}
    assert body["errorCode"]
    assert body["errorMessage"]
    return dict(body)


@pytest.fixture(scope="module")
def hooks() -> Listener:
    return Listener()


@pytest.fixture(scope="module")
def server(hooks: Listener) -> Iterator[SandboxServer]:
    sandbox = Sandbox(require_auth=False, delivery_transport=httpx.ASGITransport(hooks.app()))
    with sandbox.serve() as running:
        yield running


@pytest.fixture
async def web(
    server: SandboxServer, ssl_context: ssl.SSLContext
) -> AsyncIterator[httpx.AsyncClient]:
    """Plain HTTP to the served sandbox, which starts empty."""
    server.sandbox.reset()
    async with httpx.AsyncClient(base_url=server.url, timeout=5, verify=ssl_context) as client:
        yield client


class RawConnection:
    """One HTTP/1.1 connection driven by hand, to send part of a body and stop."""

    def __init__(self, stream: SocketStream) -> None:
        self.stream = stream
        self.h11 = h11.Connection(h11.CLIENT)

    async def start(self, method: str, path: str, headers: dict[str, str]) -> None:
        request = h11.Request(
            method=method, target=path, headers=[("Host", "127.0.0.1"), *headers.items()]
        )
        await self.stream.send(self.h11.send(request) or b"")

    async def send_body(self, data: bytes) -> None:
        await self.stream.send(self.h11.send(h11.Data(data=data)) or b"")

    async def finish(self) -> None:
        await self.stream.send(self.h11.send(h11.EndOfMessage()) or b"")

    async def response(self) -> tuple[int, bytes]:
        """The status and body of the answer, however much of the request was sent."""
        status, body = 0, b""
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                self.h11.receive_data(await self.stream.receive())
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                return status, body


@pytest.fixture
async def raw(server: SandboxServer) -> AsyncIterator[RawConnection]:
    async with await anyio.connect_tcp("127.0.0.1", server.port) as stream:
        yield RawConnection(stream)


# Nesting bombs and malformed JSON


@pytest.mark.parametrize("bomb", BOMBS.values(), ids=BOMBS.keys())
@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
async def test_a_nesting_bomb_is_a_400(
    web: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    bomb: str,
) -> None:
    answer = await web.request(
        method, path, content=bomb, headers={"Content-Type": "application/json"}
    )

    assert_error_shape(answer, 400)
    if not path.endswith("/login"):  # login answers every unusable body alike
        assert "nested deeper than 64 levels" in answer.json()["errorMessage"]
    assert (await web.get("/sandbox/registrations")).json() == []
    assert tracebacks(caplog) == []


@pytest.mark.parametrize(
    "body",
    [
        "[" * 64 + "]" * 64,  # as deep as allowed: refused for its shape, not its depth
        '{"url": "' + "[" * 5_000 + '"}',  # brackets in strings are no nesting
        '{"url": "\\"' + "{" * 5_000 + '"}',
    ],
)
async def test_depth_counts_only_real_nesting(
    web: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, body: str
) -> None:
    answer = await web.post(f"/api/fota/v2/callbacks/{ACCOUNT}", content=body)

    message = assert_error_shape(answer, 400)["errorMessage"]
    assert "nested" not in message
    assert tracebacks(caplog) == []


@pytest.mark.parametrize(
    "body",
    [b'{"url": "http://a.test/', b"\xff\xfe[\x00]\x00", b'{"url": 1e99999999}', b"1" * 5000],
    ids=["truncated", "utf-16", "huge-exponent", "too-many-digits"],
)
async def test_malformed_json_is_a_400(
    web: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    answer = await web.put(f"/api/fota/v3/callbacks/{ACCOUNT}", content=body)

    assert_error_shape(answer, 400)
    assert tracebacks(caplog) == []


# Body size


async def test_a_declared_oversized_body_is_refused_before_it_is_sent(
    raw: RawConnection, caplog: pytest.LogCaptureFixture
) -> None:
    await raw.start(
        "POST",
        f"/api/loc/v1/callbacks/{ACCOUNT}",
        {"Content-Type": "application/json", "Content-Length": str(300 * MIB)},
    )
    with anyio.fail_after(5):
        status, body = await raw.response()  # not one byte of the body sent

    assert status == 413
    assert json.loads(body) == {
        "errorCode": "REQUEST_TOO_LARGE",
        "errorMessage": f"Request body is larger than {DEFAULT_LIMIT} bytes",
    }
    assert tracebacks(caplog) == []


@pytest.mark.parametrize(("method", "path"), [*JSON_ROUTES, ("POST", "/api/ts/v1/oauth2/token")])
async def test_a_streamed_oversized_body_is_cut_off_at_the_limit(
    raw: RawConnection, caplog: pytest.LogCaptureFixture, method: str, path: str
) -> None:
    # Chunked, so no length tells the sandbox in advance: it must count as it reads.
    # The client credentials let the token route get as far as reading its form.
    await raw.start(method, path, {"Transfer-Encoding": "chunked", "Authorization": BASIC})
    chunk = b" " * (64 * 1024)
    for _ in range(DEFAULT_LIMIT // len(chunk) + 1):
        await raw.send_body(chunk)
    with anyio.fail_after(5):
        status, body = await raw.response()  # the body is never finished

    assert status == 413
    assert json.loads(body)["errorCode"] == "REQUEST_TOO_LARGE"
    assert tracebacks(caplog) == []


def resident_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
async def test_an_oversized_upload_does_not_grow_the_server(
    web: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    size = 64 * MIB
    chunk = b" " * (256 * 1024)

    async def upload() -> AsyncIterator[bytes]:
        for _ in range(size // len(chunk)):
            yield chunk  # the same bytes each time: the client holds one chunk

    await web.get("/sandbox/registrations")  # connection and imports warmed up
    baseline = peak = resident_bytes()
    done = threading.Event()

    def sample() -> None:
        # The server runs in this process, on its own thread: its memory is ours.
        nonlocal peak
        while not done.is_set():
            peak = max(peak, resident_bytes())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        with anyio.fail_after(8):
            answer = await web.post(f"/api/loc/v1/callbacks/{ACCOUNT}", content=upload())
    finally:
        done.set()
        sampler.join()

    assert_error_shape(answer, 413)
    assert peak - baseline < size // 4, f"grew {(peak - baseline) / MIB:.1f} MiB"
    assert tracebacks(caplog) == []


async def test_the_body_limit_is_configurable() -> None:
    sandbox = Sandbox(require_auth=False, max_body_size=1024)
    small = {"name": "Location", "url": good_url("small")}
    big = {"name": "Location", "url": good_url("x" * 2048)}
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url="http://sandbox.test"
    ) as http:
        refused = await http.post(f"/api/loc/v1/callbacks/{ACCOUNT}", json=big)
        taken = await http.post(f"/api/loc/v1/callbacks/{ACCOUNT}", json=small)

    assert_error_shape(refused, 413)
    assert "larger than 1024 bytes" in refused.json()["errorMessage"]
    assert taken.status_code == 200
    assert sandbox.max_body_size == 1024


@pytest.mark.parametrize("size", [-1, 1.5, "1MiB", True])
def test_a_bad_body_limit_is_refused(size: Any) -> None:
    with pytest.raises(ValueError, match="max_body_size"):
        Sandbox(max_body_size=size)


# Listener URLs


@pytest.mark.parametrize("name", REGISTERING)
async def test_bad_listener_urls_are_refused(
    web: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, hooks: Listener, name: str
) -> None:
    op = REGISTERING[name]
    if op.method == "PUT":  # an update needs a listener to update
        first = await web.post(op.path, json=op.body(good_url(name)))
        assert first.status_code == 200

    for url in BAD_URLS:
        answer = await web.request(op.method, op.path, json=op.body(url))
        message = assert_error_shape(answer, 400)["errorMessage"]
        assert "Invalid callback URL" in message, (url, message)

    if op.method == "POST":
        assert (await web.request(op.method, op.path, json=op.body(good_url(name)))).is_success
    registered = (await web.get("/sandbox/registrations")).json()
    assert [r["url"] for r in registered] == [good_url(name)]
    delivered = len(hooks.received)
    emitted = await web.post("/sandbox/emit", json={"family": op.family, "account": ACCOUNT})
    assert emitted.status_code == 200, emitted.text
    assert [d["ok"] for d in emitted.json()["deliveries"]] == [True]
    assert hooks.received[delivered].path == f"/hooks/{name}"
    assert tracebacks(caplog) == []


async def test_bad_listener_urls_in_hyper_precise_headers_are_refused(
    web: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    path = REGISTERING["hyper_precise.register"].path
    sendable = [url for url in BAD_URLS if header_safe(url)]
    assert len(sendable) >= 8

    for url in sendable:
        answer = await web.post(path, headers={"name": "hpl", "url": url})
        message = assert_error_shape(answer, 400)["errorMessage"]
        assert "Invalid callback URL" in message, (url, message)

    assert (await web.post(path, headers={"name": "hpl", "url": good_url("hpl")})).is_success
    emitted = await web.post("/sandbox/emit", json={"family": "hyper_precise", "account": ACCOUNT})
    assert [d["ok"] for d in emitted.json()["deliveries"]] == [True]
    assert tracebacks(caplog) == []


# Serving others meanwhile


async def test_another_client_is_served_during_a_slow_upload(
    raw: RawConnection, web: httpx.AsyncClient
) -> None:
    body = json.dumps({"name": "Location", "url": good_url("slow")}).encode()
    body += b" " * (512 * 1024 - len(body))  # valid JSON, just long
    await raw.start(
        "POST",
        f"/api/loc/v1/callbacks/{ACCOUNT}",
        {"Content-Type": "application/json", "Content-Length": str(len(body))},
    )
    await raw.send_body(body[: 100 * 1024])  # ... and the upload stalls

    with anyio.fail_after(2):
        other = await web.post(f"/api/fota/v2/callbacks/{ACCOUNT}", json={"url": good_url("f")})
        listed = await web.get("/sandbox/registrations")
    await raw.send_body(body[100 * 1024 :])
    await raw.finish()
    with anyio.fail_after(2):
        status, _ = await raw.response()

    assert other.status_code == 200
    assert [r["family"] for r in listed.json()] == ["firmware"]
    assert status == 200


async def test_another_client_is_served_during_a_huge_upload(
    server: SandboxServer, web: httpx.AsyncClient, ssl_context: ssl.SSLContext
) -> None:
    chunk = b" " * (64 * 1024)
    started, finished = anyio.Event(), anyio.Event()
    answers: list[httpx.Response] = []

    async def upload() -> AsyncIterator[bytes]:
        for index in range(512):  # 32 MiB, paced so that it is in flight for a while
            yield chunk
            if index == 0:
                started.set()
            await anyio.sleep(0.001)
        finished.set()

    async def huge() -> None:
        async with httpx.AsyncClient(
            base_url=server.url, timeout=5, verify=ssl_context
        ) as uploader:
            answers.append(
                await uploader.put(f"/api/fota/v3/callbacks/{ACCOUNT}", content=upload())
            )

    with anyio.fail_after(8):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(huge)
            await started.wait()
            for index in range(5):
                with anyio.fail_after(1):
                    served = await web.post(
                        f"/api/loc/v1/callbacks/{ACCOUNT}",
                        json={"name": "Location", "url": good_url(str(index))},
                    )
                assert served.status_code == 200
            assert not finished.is_set(), "the upload ended before the other client was served"

    (answer,) = answers
    assert_error_shape(answer, 413)
