"""Worker processes (``_worker.py``) started and driven together, as a deployment's
processes would run."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from typing_extensions import Self

WORKER = Path(__file__).with_name("_worker.py")

CREDENTIALS = {
    "client_id": "fleet-app-key",
    "client_secret": "fleet-client-secret-8Hq2",
    "username": "fleet-user",
    "password": "fleet-password-Vb71",
}


class Worker:
    """One worker process; its stdout lines are read by a thread, so a test waits for an
    answer with a timeout instead of blocking on a pipe."""

    def __init__(self, settings: dict[str, Any]) -> None:
        env = {
            name: value for name, value in os.environ.items() if not name.startswith("THINGSPACE")
        }
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER), json.dumps(settings)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                self._lines.put(line.strip())
        self._lines.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        with self.process.stderr:
            for line in self.process.stderr:
                self._stderr.append(line.rstrip("\n"))

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def answer(self, timeout: float = 20.0) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no answer within {timeout} s; log:\n{self.log}") from None
        if line is None:
            raise AssertionError(f"the worker exited ({self.process.wait()}); log:\n{self.log}")
        return line

    @property
    def log(self) -> str:
        return "\n".join(self._stderr)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(5)

    def quit(self) -> None:
        """Ask it to exit (kill it after 10 s), and wait for its output to be read."""
        assert self.process.stdin is not None
        with self.process.stdin:
            if self.process.poll() is None:
                self.send("quit")
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for reader in self._readers:
            reader.join(5)


class Fleet:
    """Workers sharing one Redis. ``with Fleet(...) as fleet`` quits them all at exit."""

    def __init__(self, base_url: str, redis_url: str, **settings: Any) -> None:
        self._settings = {
            "base_url": base_url,
            "redis_url": redis_url,
            "credentials": CREDENTIALS,
            **settings,
        }
        self.workers: list[Worker] = []

    def start(self, count: int) -> list[Worker]:
        """Start ``count`` workers at once and return when each has built its client."""
        started = [Worker(self._settings) for _ in range(count)]
        self.workers += started
        for worker in started:
            assert worker.answer() == "ready", worker.log
        return started

    def calls(self, count: int, workers: list[Worker] | None = None) -> list[dict[str, Any]]:
        """Have each worker (all by default) make ``count`` concurrent calls, all at
        the same moment, and return what each reports."""
        chosen = self.workers if workers is None else workers
        for worker in chosen:
            worker.send(f"calls {count}")
        return [json.loads(worker.answer()) for worker in chosen]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for worker in self.workers:
            worker.quit()


def warnings_in(log: str, text: str) -> int:
    """How many WARNING lines of ``log`` contain ``text``."""
    return sum(1 for line in log.splitlines() if line.startswith("WARNING") and text in line)


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)
