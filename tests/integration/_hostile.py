"""A deliberately broken HTTP/1.1 server on 127.0.0.1, written on raw sockets so it can
misbehave in ways a framework would not let it: bodies that never end, bodies trickled
a byte at a time, huge bodies, redirects of every kind.

The path picks the behaviour (``/api/<behaviour>/...``); every request received is
recorded with its headers, so a test can check what reached this host.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = ["HostileServer", "Received", "hostile_server"]


@dataclass
class Received:
    """One request as it arrived."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HostileServer:
    url: str
    """``http://127.0.0.1:PORT``"""
    received: list[Received] = field(default_factory=list)
    redirect_to: str = ""
    """Where the ``redirect-*`` behaviours point (default: this server)."""


@contextmanager
def hostile_server() -> Iterator[HostileServer]:
    """Run the server in a background thread; yield it, and stop it on exit."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box: dict[str, object] = {}

    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: _handle(state, r, w), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        state.url = f"http://127.0.0.1:{port}"
        box["server"] = server
        started.set()
        async with server:
            await server.serve_forever()

    state = HostileServer(url="")
    thread = threading.Thread(target=lambda: _run(loop, main()), daemon=True)
    thread.start()
    assert started.wait(10), "the hostile server did not start"
    try:
        yield state
    finally:
        loop.call_soon_threadsafe(lambda: [task.cancel() for task in asyncio.all_tasks(loop)])
        thread.join(10)


def _run(loop: asyncio.AbstractEventLoop, main: object) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main)  # type: ignore[arg-type]
    except asyncio.CancelledError:
        pass
    finally:
        loop.close()


async def _handle(
    state: HostileServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            request = await _read_request(reader)
            if request is None:
                return
            state.received.append(request)
            if not await _answer(state, request, writer):
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        return
    except asyncio.CancelledError:
        return
    finally:
        writer.close()


async def _read_request(reader: asyncio.StreamReader) -> Received | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    body = await reader.readexactly(length) if length else b""
    return Received(method, path, headers, body)


def _head(status: str, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status}", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _answer(state: HostileServer, request: Received, writer: asyncio.StreamWriter) -> bool:
    """Play the behaviour named in the path; whether the connection can serve more."""
    behaviour = request.path.split("/")[2] if request.path.count("/") >= 2 else ""
    json_head = {"Content-Type": "application/json"}
    if behaviour == "endless":
        writer.write(_head("200 OK", {**json_head, "Transfer-Encoding": "chunked"}))
        writer.write(b"1\r\n[\r\n")
        chunk = b'{"name":"Location","url":"https://example.com/h"},' * 200
        while True:  # until the client hangs up
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            await writer.drain()
            await asyncio.sleep(0)
    if behaviour == "trickle":
        body = b'[{"name":"Location","url":"https://example.com/h"}]'
        writer.write(_head("200 OK", {**json_head, "Content-Length": str(len(body))}))
        for byte in body:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.5)
        return True
    if behaviour in ("huge", "huge-chunked"):
        item = b'{"name":"Location","url":"https://example.com/h"},'
        count = 50 * 1024 * 1024 // len(item)
        if behaviour == "huge":
            size = 1 + len(item) * count + 1
            writer.write(_head("200 OK", {**json_head, "Content-Length": str(size)}))
            writer.write(b"[")
            for _ in range(count // 1000):
                writer.write(item * 1000)
                await writer.drain()
            writer.write(b"]")
        else:
            writer.write(_head("200 OK", {**json_head, "Transfer-Encoding": "chunked"}))
            block = item * 1000
            for _ in range(count // 1000):
                writer.write(f"{len(block):x}\r\n".encode() + block + b"\r\n")
                await writer.drain()
            writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True
    if behaviour.startswith("redirect-"):
        status = behaviour.removeprefix("redirect-")
        reason = {"301": "Moved Permanently", "302": "Found", "303": "See Other",
                  "307": "Temporary Redirect", "308": "Permanent Redirect"}[status]  # fmt: skip
        target = (state.redirect_to or state.url) + request.path
        body = b'{"success":true}'
        writer.write(
            _head(
                f"{status} {reason}",
                {**json_head, "Location": target, "Content-Length": str(len(body))},
            )
            + body
        )
        await writer.drain()
        return True
    # Anything else, including the token endpoint of a target host: a plain answer.
    body = (
        b'{"access_token":"stolen-token","expires_in":3600}' if "oauth2" in request.path else b"[]"
    )
    writer.write(_head("200 OK", {**json_head, "Content-Length": str(len(body))}) + body)
    await writer.drain()
    return True
