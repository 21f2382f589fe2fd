"""Worker processes (``_worker.py``) started and driven together, as a deployment's
processes would run."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import tempfile
import time
from pathlib import Path
from typing import Any

from typing_extensions import Self

from . import _worker

CREDENTIALS = {
    "client_id": "fleet-app-key",
    "client_secret": "fleet-client-secret-8Hq2",
    "username": "fleet-user",
    "password": "fleet-password-Vb71",
}

_FORKS = multiprocessing.get_context("forkserver")
# The forkserver imports the worker (the SDK, httpx, redis) once; each worker is forked
# from it, a process of its own that does not import them all again.
_FORKS.set_forkserver_preload([_worker.__name__])


class Worker:
    """One worker process, driven over a pipe; a test waits for an answer with a
    timeout. Its log is kept in a file until it exits, then in :attr:`log`."""

    def __init__(self, settings: dict[str, Any]) -> None:
        handle, path = tempfile.mkstemp(prefix="fleet-worker-", suffix=".log")
        with open(handle, "w"):
            pass
        self._log_path: Path | None = Path(path)
        self._log = ""
        self._commands, theirs = _FORKS.Pipe()
        self.process = _FORKS.Process(
            target=_worker.run, args=(settings, theirs, path), daemon=True
        )
        self.process.start()
        theirs.close()

    def send(self, command: str) -> None:
        self._commands.send(command)

    def answer(self, timeout: float = 20.0) -> str:
        if not self._commands.poll(timeout):
            raise AssertionError(f"no answer within {timeout} s; log:\n{self.log}")
        try:
            answer: str = self._commands.recv()
        except EOFError:
            self.process.join(5)
            raise AssertionError(
                f"the worker exited ({self.process.exitcode}); log:\n{self.log}"
            ) from None
        return answer

    @property
    def log(self) -> str:
        if self._log_path is None:
            return self._log
        return self._log_path.read_text(errors="replace").rstrip("\n")

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)

    def quit(self) -> None:
        """Ask it to exit (kill it after 10 s), then keep its log."""
        if self.process.is_alive():
            with contextlib.suppress(OSError):  # it exited meanwhile
                self.send("quit")
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self._commands.close()
        if self._log_path is not None:
            self._log = self.log
            self._log_path.unlink()
            self._log_path = None


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
