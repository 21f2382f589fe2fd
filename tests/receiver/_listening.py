"""``thingspace-callbacks listen`` in a subprocess on a free 127.0.0.1 port, and a handler
module whose handler never returns, for the tests of a listener that stays available."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from . import _messages as msg

STUCK_HANDLER = textwrap.dedent(
    """
    import os

    import anyio

    LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "handler.log")


    def note(what):
        with open(LOG, "a") as log:
            log.write(what + "\\n")


    async def handle(message):
        note("start")
        try:
            await anyio.sleep_forever()
        except BaseException:
            note("cancelled")
            raise
    """
)
"""A handler that never returns, writing ``start`` and ``cancelled`` lines to
``handler.log`` beside it."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Listening:
    process: subprocess.Popen[str]
    port: int
    directory: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def handler_log(self) -> list[str]:
        log = self.directory / "handler.log"
        return log.read_text().split() if log.exists() else []

    def wait_for_log(self, count: int, line: str, within: float) -> list[str]:
        """Poll ``handler.log`` until ``line`` appears ``count`` times."""
        deadline = time.monotonic() + within
        while self.handler_log().count(line) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no {count} x {line!r} within {within} s: {self.handler_log()}"
                )
            time.sleep(0.02)
        return self.handler_log()


def stuck_handler_module(directory: Path) -> str:
    """Write the stuck handler into ``directory``; its ``--handler`` reference."""
    (directory / "stuck_handler.py").write_text(STUCK_HANDLER)
    return "stuck_handler:handle"


@contextlib.contextmanager
def listening(
    directory: Path, arguments: Sequence[str] = (), *, startup: float = 30.0
) -> Iterator[Listening]:
    """Run ``listen`` (with the test credentials) in ``directory`` until the block ends."""
    port = free_port()
    env = {
        **os.environ,
        "THINGSPACE_CALLBACK_USERNAME": msg.USERNAME,
        "THINGSPACE_CALLBACK_PASSWORD": msg.PASSWORD,
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    with (directory / "listen.log").open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "thingspace_callbacks.cli.listen",
                "--port",
                str(port),
                "--log-level",
                "warning",
                *arguments,
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
            env=env,
            cwd=directory,
        )
    try:
        deadline = time.monotonic() + startup
        while True:
            if process.poll() is not None:
                raise RuntimeError((directory / "listen.log").read_text())
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=0.5)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield Listening(process, port, directory)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def raw_post(port: int, body: bytes, path: str = "/CarrierService") -> socket.socket:
    """Send a whole POST on a new connection, and return the connection unread."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: listener\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    sock.sendall(head.encode() + body)
    return sock


def read_status(sock: socket.socket) -> int | None:
    """The status of the answer on ``sock``, or ``None`` if it closed without one."""
    data = b""
    while b"\r\n" not in data:
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        data += chunk
    return int(data.split(b" ", 2)[1])
