"""``thingspace-callbacks listen --dedupe`` replicas, each a real subprocess on its own
port, serving a handler that notes every run in a file the test reads."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
from typing_extensions import Self

from ..receiver import _messages as msg

HANDLER = textwrap.dedent(
    """
    import os
    from pathlib import Path

    import anyio


    def _note(event):
        with Path(os.environ["DEDUPE_RUNS"]).open("a") as runs:
            runs.write(f"{event} {os.getpid()}\\n")


    async def handle(message):
        _note("start")
        await anyio.sleep(float(os.environ.get("DEDUPE_SLEEP", "0")))
        if Path(os.environ["DEDUPE_FAIL"]).exists():
            raise RuntimeError("downstream unavailable")
        _note("done")
    """
)
"""``dedupe_handler:handle``: notes ``start PID`` and ``done PID``, sleeping
``$DEDUPE_SLEEP`` seconds between, and fails while the file ``$DEDUPE_FAIL`` exists."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Handling:
    """Where the replicas' handler notes its runs, and the switch that makes it fail."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        (directory / "dedupe_handler.py").write_text(HANDLER)
        self.runs = directory / "runs.log"
        self.runs.touch()
        self.fail = directory / "fail"

    def events(self) -> list[tuple[str, int]]:
        """``(event, pid)`` for every ``start`` and ``done`` so far, in order."""
        lines = self.runs.read_text().split()
        return [(event, int(pid)) for event, pid in zip(lines[::2], lines[1::2], strict=True)]

    def starts(self) -> list[int]:
        return [pid for event, pid in self.events() if event == "start"]


class Replica:
    """``thingspace-callbacks listen --handler dedupe_handler:handle --dedupe REDIS``."""

    def __init__(
        self, handling: Handling, redis_url: str, *, claim_ttl: float, sleep: float = 0
    ) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = handling.directory / f"replica-{self.port}.log"
        env = {name: value for name, value in os.environ.items() if "THINGSPACE" not in name}
        env.update(
            THINGSPACE_CALLBACK_USERNAME=msg.USERNAME,
            THINGSPACE_CALLBACK_PASSWORD=msg.PASSWORD,
            DEDUPE_RUNS=str(handling.runs),
            DEDUPE_FAIL=str(handling.fail),
            DEDUPE_SLEEP=str(sleep),
        )
        command = [
            sys.executable, "-m", "thingspace_callbacks", "listen",
            "--port", str(self.port),
            "--handler", "dedupe_handler:handle",
            "--dedupe", redis_url,
            "--dedupe-claim-ttl", str(claim_ttl),
            "--log-level", "warning",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=handling.directory,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def log(self) -> str:
        return self.log_path.read_text()

    def wait_ready(self, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"listen exited ({self.process.returncode}):\n{self.log}")
            try:
                httpx.get(self.url, timeout=0.5)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"listen did not start:\n{self.log}") from None
                time.sleep(0.05)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Replicas:
    """``with Replicas(...) as replicas``: started together, stopped at the end."""

    def __init__(self, handling: Handling, redis_url: str, *, claim_ttl: float = 60) -> None:
        self._handling = handling
        self._redis_url = redis_url
        self._claim_ttl = claim_ttl
        self.started: list[Replica] = []

    def start(self, *sleeps: float) -> list[Replica]:
        """One replica per handler sleep given, each ready when this returns."""
        replicas = [
            Replica(self._handling, self._redis_url, claim_ttl=self._claim_ttl, sleep=sleep)
            for sleep in sleeps
        ]
        self.started += replicas
        for replica in replicas:
            replica.wait_ready()
        return replicas

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for replica in self.started:
            replica.stop()
