"""A minimal HTTP/1.1 server answering every request with the same small JSON body
after a fixed delay, run in its own process so its CPU never counts as the client's.

It speaks just enough HTTP for keep-alive clients (Content-Length bodies, no chunked
uploads) and costs a few microseconds per request, so at the request rates measured
here the server is never the bottleneck.

Run directly: ``python -m benchmarks._server --port 8123 --latency 0.02``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

BODY = b'{"accountName":"0000000000-00001","serviceName":"Location"}'


def response(body: bytes) -> bytes:
    """A 200 answer carrying the JSON ``body``."""
    return (
        b"HTTP/1.1 200 OK\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        b"\r\n" + body
    )


RESPONSE = response(BODY)


class _Protocol(asyncio.Protocol):
    def __init__(self, latency: float, get_response: bytes = RESPONSE) -> None:
        self._latency = latency
        self._get_response = get_response
        self._buffer = b""
        self._transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end].lower()
            length = 0
            marker = head.find(b"content-length:")
            if marker >= 0:
                line_end = head.find(b"\r\n", marker)
                length = int(head[marker + 15 : line_end if line_end >= 0 else None])
            total = end + 4 + length
            if len(buffer) < total:
                break
            buffer = buffer[total:]
            answer = self._get_response if head.startswith(b"get ") else RESPONSE
            if self._latency > 0:
                self._loop.call_later(self._latency, self._reply, answer)
            else:
                self._reply(answer)
        self._buffer = buffer

    def _reply(self, answer: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None


async def _serve(port: int, latency: float, get_body: bytes | None = None) -> None:
    loop = asyncio.get_running_loop()
    get_response = RESPONSE if get_body is None else response(get_body)
    server = await loop.create_server(
        lambda: _Protocol(latency, get_response),
        "127.0.0.1",
        port,
        backlog=1024,
        reuse_address=True,
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    async with server:
        await stop.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    """A running benchmark server."""

    url: str
    """Its root, ``http://127.0.0.1:N``."""
    pid: int

    def cpu_seconds(self) -> float:
        """CPU seconds the server process has used so far (Linux ``/proc``)."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks


@contextlib.contextmanager
def serve_in_subprocess(latency: float, *, get_body: bytes | None = None) -> Iterator[Server]:
    """Run the server in a child process until the block ends; ``get_body`` answers
    GET requests (reads) instead of the usual body."""
    port = free_port()
    command = [sys.executable, "-m", "benchmarks._server", "--port", str(port)]
    if get_body is not None:
        command += ["--get-body", get_body.decode()]
    process = subprocess.Popen(
        [*command, "--latency", str(latency)],
        stdout=subprocess.PIPE,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError("benchmark server did not start")
        yield Server(f"http://127.0.0.1:{port}", process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--get-body", help="the JSON answer of GET requests")
    args = parser.parse_args()
    get_body = args.get_body.encode() if args.get_body is not None else None
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, args.latency, get_body))


if __name__ == "__main__":
    main()
