"""A real ``redis-server`` for each test, on a free port in a temporary directory, that a
test can stop and start again; and the sandbox on a socket, recording when each
operation arrives."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send
from typing_extensions import Self

from thingspace_callbacks.sandbox import API_ROOT, Sandbox

from .._servers import serve
from ._fleet import CREDENTIALS
from ._queue_support import reap

REDIS_SERVER = shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """``redis-server`` on 127.0.0.1, without persistence: a restart starts empty."""

    def __init__(self, executable: str, directory: Path) -> None:
        self._executable = executable
        self.directory = directory
        self.port = _free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Start it and return once it answers PING."""
        assert self._process is None, "already running"
        with (self.directory / "redis.log").open("ab") as log:
            self._process = subprocess.Popen(
                [
                    self._executable,
                    "--port", str(self.port),
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", str(self.directory),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not self.ping():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop it (at once: it keeps nothing anyway). Calling it again does nothing."""
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@pytest.fixture(autouse=True)
def _reaped() -> Iterator[None]:
    """Whatever processes a test started through ``_queue_support`` end with it."""
    yield
    reap()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A running ``redis-server`` of this test's own."""
    if REDIS_SERVER is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs it: its absence is a broken setup
        pytest.skip(message)
    server = RedisServer(REDIS_SERVER, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_outage(
    redis_server: RedisServer,
) -> Callable[[], contextlib.AbstractContextManager[None]]:
    """``with redis_outage():`` stops Redis for the block, then starts it again, empty,
    on the same port."""

    @contextlib.contextmanager
    def outage() -> Iterator[None]:
        redis_server.stop()
        try:
            yield
        finally:
            redis_server.start()

    return outage


class Arrivals:
    """ASGI middleware noting when each request for an operation path arrives."""

    def __init__(self, app: ASGIApp, path: str) -> None:
        self._app = app
        self._path = path
        self._lock = threading.Lock()
        self.times: list[float] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._path in scope.get("path", ""):
            with self._lock:
                self.times.append(time.monotonic())
        await self._app(scope, receive, send)

    def since(self, start: float) -> list[float]:
        return self.between(start, float("inf"))

    def between(self, start: float, end: float) -> list[float]:
        with self._lock:
            return [t for t in self.times if start <= t < end]


class SandboxOnSocket:
    """The sandbox served on 127.0.0.1, with the arrival times of Location calls."""

    def __init__(self) -> None:
        self.sandbox = Sandbox(
            client_id=CREDENTIALS["client_id"],
            client_secret=CREDENTIALS["client_secret"],
            username=CREDENTIALS["username"],
            password=CREDENTIALS["password"],
        )
        self.arrivals = Arrivals(self.sandbox.app, "/loc/v1/callbacks/")
        self._stack = contextlib.ExitStack()
        self.base_url = ""

    def calls(self, name: str) -> int:
        return self.sandbox.calls[name]

    def __enter__(self) -> Self:
        self.base_url = self._stack.enter_context(serve(self.arrivals)) + API_ROOT
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stack.close()


@pytest.fixture
def sandbox() -> Iterator[SandboxOnSocket]:
    with SandboxOnSocket() as served:
        yield served
