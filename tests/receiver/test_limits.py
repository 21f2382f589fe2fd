"""Slow, oversized and idle requests over a real uvicorn socket on 127.0.0.1.

Each test talks HTTP/1.1 by hand, because the point is what a misbehaving sender sees:
a body trickled byte by byte, a body that keeps coming after its 413, a connection
left idle. Every wait is bounded by ``anyio.fail_after``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import pytest
from anyio.abc import SocketStream

from thingspace_callbacks.cli.listen import server_config
from thingspace_callbacks.receiver import CallbackMessage, Receiver

from . import _messages as msg
from .conftest import ServeApp, ServeConfig

pytestmark = [pytest.mark.integration, pytest.mark.timeout(20)]


class Recorder:
    def __init__(self) -> None:
        self.messages: list[CallbackMessage] = []

    async def __call__(self, message: CallbackMessage) -> None:
        self.messages.append(message)


def _receiver(**options: Any) -> tuple[Receiver, Recorder]:
    recorder = Recorder()
    receiver = Receiver(verify=[], **options)
    receiver.on_any()(recorder)
    return receiver, recorder


async def _connect(base_url: str) -> SocketStream:
    where = urlsplit(base_url)
    assert where.hostname == "127.0.0.1"
    assert where.port is not None
    return await anyio.connect_tcp(where.hostname, where.port)


def _head(path: str = "/CarrierService", headers: Sequence[tuple[str, str]] = ()) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: listener", *(f"{n}: {v}" for n, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass
class Answer:
    data: bytes
    """Everything read until the server ended the connection."""
    ending: str
    """``"eof"`` (closed cleanly) or ``"reset"``."""
    first_byte_at: float

    @property
    def status(self) -> int:
        return int(self.data.split(b" ", 2)[1])

    def header(self, name: str) -> str | None:
        head = self.data.partition(b"\r\n\r\n")[0].decode("latin-1")
        for line in head.split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name:
                return value.strip()
        return None


async def _read_until_closed(stream: SocketStream, answered: anyio.Event | None = None) -> Answer:
    data = b""
    first_byte_at = 0.0
    while True:
        try:
            chunk = await stream.receive()
        except anyio.EndOfStream:
            return Answer(data, "eof", first_byte_at)
        except anyio.BrokenResourceError:
            return Answer(data, "reset", first_byte_at)
        if not data:
            first_byte_at = anyio.current_time()
            if answered is not None:
                answered.set()
        data += chunk


async def _trickle_and_read(stream: SocketStream, interval: float) -> Answer:
    """Send one body byte every ``interval`` until the server answers, then read on."""
    answered = anyio.Event()
    result: list[Answer] = []

    async def read() -> None:
        result.append(await _read_until_closed(stream, answered))

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        while not answered.is_set():
            try:
                await stream.send(b"x")
            except (anyio.BrokenResourceError, OSError):
                break
            with anyio.move_on_after(interval):
                await answered.wait()
    await stream.aclose()
    return result[0]


# -- slow senders ----------------------------------------------------------------------


async def test_a_sender_trickling_its_body_gets_408_and_is_disconnected(
    serve_app: ServeApp,
) -> None:
    receiver, recorder = _receiver(body_timeout=0.5)
    async with serve_app(receiver) as base_url:
        with anyio.fail_after(5):
            stream = await _connect(base_url)
            started = anyio.current_time()
            await stream.send(_head(headers=[("Content-Length", "1000")]))
            answer = await _trickle_and_read(stream, interval=0.1)

    assert answer.status == 408
    assert answer.header("connection") == "close"
    assert b'"status": "rejected"' in answer.data
    assert answer.ending in {"eof", "reset"}  # either way, the server let go of it
    assert 0.45 <= answer.first_byte_at - started < 2.0
    assert recorder.messages == []


async def test_many_slow_senders_are_all_cut_off_while_a_normal_one_is_served(
    serve_app: ServeApp,
) -> None:
    count, limit = 200, 1.0
    receiver, recorder = _receiver(body_timeout=limit)
    answers: list[tuple[float, Answer]] = []

    async def slow_sender(base_url: str) -> None:
        stream = await _connect(base_url)
        started = anyio.current_time()
        await stream.send(_head(headers=[("Content-Length", "500")]))
        answers.append((started, await _trickle_and_read(stream, interval=0.25)))

    async with serve_app(receiver) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                for _ in range(count):
                    tg.start_soon(slow_sender, base_url)
                await anyio.sleep(0.2)
                normal = await http.post("/CarrierService", json=msg.m2m())
                served_at = anyio.current_time()

    assert normal.status_code == 200
    assert len(recorder.messages) == 1  # only the normal sender's message was handled
    assert len(answers) == count
    assert {answer.status for _, answer in answers} == {408}
    assert all(answer.ending in {"eof", "reset"} for _, answer in answers)
    # Served while every slow sender was still being waited for, not after.
    assert served_at < min(answer.first_byte_at for _, answer in answers)
    assert all(answer.first_byte_at - started >= limit - 0.05 for started, answer in answers)


# -- oversized bodies ------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_413_reaches_a_sender_that_keeps_sending(serve_app: ServeApp, chunked: bool) -> None:
    limit = 64 * 1024
    receiver, recorder = _receiver(max_body_size=limit)
    # Past uvicorn's 64 KiB read buffer and the socket buffers, so a server that closed
    # without reading the rest would reset the connection under the sender.
    body = b"x" * (limit + limit // 2)
    framing = ("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(len(body)))
    async with serve_app(receiver) as base_url:
        with anyio.fail_after(5):
            stream = await _connect(base_url)
            await stream.send(_head(headers=[framing]))
            for start in range(0, len(body), 8192):
                piece = body[start : start + 8192]
                await stream.send(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            if chunked:
                await stream.send(b"0\r\n\r\n")
            answer = await _read_until_closed(stream)
            await stream.aclose()

    assert answer.status == 413
    assert answer.header("connection") == "close"
    assert answer.ending == "eof"
    assert recorder.messages == []


# -- the server listen configures ------------------------------------------------------


async def test_listen_server_closes_idle_keep_alive_connections(serve_config: ServeConfig) -> None:
    receiver, recorder = _receiver()
    config = server_config(
        receiver, timeout_keep_alive=1, log_level="warning", configure_logging=False
    )
    body = msg.encode(msg.m2m())
    async with serve_config(config) as base_url:
        with anyio.fail_after(5):
            stream = await _connect(base_url)
            await stream.send(_head(headers=[("Content-Length", str(len(body)))]) + body)
            head = b""
            while b"\r\n\r\n" not in head:
                head += await stream.receive()
            answered = anyio.current_time()
            assert head.startswith(b"HTTP/1.1 200")
            rest = await _read_until_closed(stream)
            closed = anyio.current_time()
            await stream.aclose()

    assert rest.ending == "eof"
    assert 0.8 <= closed - answered < 3.0
    assert len(recorder.messages) == 1


async def test_listen_server_refuses_oversized_headers(
    serve_config: ServeConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="uvicorn")
    receiver, _ = _receiver()
    config = server_config(receiver, max_header_size=4096, configure_logging=False)
    async with serve_config(config) as base_url:
        with anyio.fail_after(5):
            stream = await _connect(base_url)
            # Still incomplete after 6,000 bytes: h11 stops buffering at the limit.
            await stream.send(_head(headers=[("X-Padding", "p" * 6000)]).rstrip(b"\r\n"))
            big_headers = await _read_until_closed(stream)
            await stream.aclose()

    assert big_headers.status == 400


class Gate:
    """A handler that waits until the test opens the gate."""

    def __init__(self, expected: int) -> None:
        self.open = anyio.Event()
        self.entered = 0
        self.expected = expected
        self.all_entered = anyio.Event()

    async def __call__(self, message: CallbackMessage) -> None:
        self.entered += 1
        if self.entered == self.expected:
            self.all_entered.set()
        await self.open.wait()


async def test_idle_connections_do_not_count_against_the_request_limit(
    serve_config: ServeConfig,
) -> None:
    gate = Gate(expected=2)
    receiver = Receiver(verify=[], dedupe=False)
    receiver.on_any()(gate)
    config = server_config(
        receiver, limit_concurrency=2, header_timeout=60, log_level="error", configure_logging=False
    )
    async with serve_config(config) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        with anyio.fail_after(10):
            idle = [await _connect(base_url) for _ in range(50)]
            await anyio.sleep(0.05)
            answers: list[httpx.Response] = []

            async def post() -> None:
                answers.append(await http.post("/CarrierService", json=msg.m2m()))

            async with anyio.create_task_group() as tg:
                tg.start_soon(post)
                tg.start_soon(post)
                await gate.all_entered.wait()  # two requests in flight, behind 50 idle sockets
                crowded = await http.post("/CarrierService", json=msg.m2m())
                gate.open.set()
            served = await http.post("/CarrierService", json=msg.m2m())
            for stream in idle:
                await stream.aclose()

    assert [a.status_code for a in answers] == [200, 200]
    assert crowded.status_code == 503  # the limit is requests served at once
    assert served.status_code == 200


async def test_past_max_connections_the_longest_waiting_one_makes_room(
    serve_config: ServeConfig, caplog: pytest.LogCaptureFixture
) -> None:
    receiver, recorder = _receiver()
    config = server_config(
        receiver, max_connections=10, header_timeout=60, log_level="error", configure_logging=False
    )
    async with serve_config(config) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        with anyio.fail_after(10):
            waiting = []
            for _ in range(10):
                waiting.append(await _connect(base_url))
                await anyio.sleep(0.01)  # opened in this order
            answer = await http.post("/CarrierService", json=msg.m2m())
            oldest = await _read_until_closed(waiting[0])
            for stream in waiting:
                await stream.aclose()

    assert answer.status_code == 200
    assert (oldest.data, oldest.ending) == (b"", "eof")  # closed without an answer
    assert len(recorder.messages) == 1
    assert "closing the longest waiting" in caplog.text


async def test_a_keep_alive_connection_must_send_its_next_headers_in_time(
    serve_config: ServeConfig,
) -> None:
    receiver, _ = _receiver()
    config = server_config(
        receiver, header_timeout=0.5, timeout_keep_alive=30, configure_logging=False
    )
    body = msg.encode(msg.m2m())
    request = _head(headers=[("Content-Length", str(len(body)))]) + body

    async def answered(stream: SocketStream) -> bytes:
        head = b""
        while b"\r\n\r\n" not in head:
            head += await stream.receive()
        return head

    async with serve_config(config) as base_url:
        with anyio.fail_after(10):
            stream = await _connect(base_url)
            await stream.send(request)
            first = await answered(stream)
            # Idle between requests for longer than the header limit: that is the
            # keep-alive limit's business, and the next request is served.
            await anyio.sleep(1.0)
            await stream.send(request)
            second = await answered(stream)
            # Its third request's headers never end: closed after the header limit.
            await stream.send(request[:20])
            started = anyio.current_time()
            rest = await _read_until_closed(stream)
            closed = anyio.current_time()
            await stream.aclose()

    assert first.startswith(b"HTTP/1.1 200")
    assert second.startswith(b"HTTP/1.1 200")
    assert rest.ending in {"eof", "reset"}
    assert 0.4 <= closed - started < 3.0
