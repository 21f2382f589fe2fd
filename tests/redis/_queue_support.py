"""What the queue tests share: ``thingspace-callbacks worker`` and ``bulk --queue`` run as
real processes against the served sandbox and a real ``redis-server``, and a look at
everything Redis holds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from ._fleet import CREDENTIALS

HOOK = "https://listener.example.com/hooks/location"

_started: list[subprocess.Popen[Any]] = []


def spawn(command: list[str], **options: Any) -> subprocess.Popen[Any]:
    """``subprocess.Popen``, remembered for :func:`reap`."""
    process = subprocess.Popen(command, **options)
    _started.append(process)
    return process


def reap() -> None:
    """Kill what a test started and left running: a test that failed midway must not
    leave a bulk run or a worker polling Redis for the rest of the session."""
    while _started:
        process = _started.pop()
        if process.poll() is None:
            process.kill()
            process.wait()


def environment(base_url: str, **extra: str) -> dict[str, str]:
    """The environment of a worker or bulk process: the sandbox's credentials and API
    root, nothing inherited that would change them or the output."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("THINGSPACE") and name != "COLUMNS"
    }
    env.update(
        THINGSPACE_BASE_URL=base_url,
        THINGSPACE_CLIENT_ID=CREDENTIALS["client_id"],
        THINGSPACE_CLIENT_SECRET=CREDENTIALS["client_secret"],
        THINGSPACE_USERNAME=CREDENTIALS["username"],
        THINGSPACE_PASSWORD=CREDENTIALS["password"],
        **extra,
    )
    return env


class WorkerProcess:
    """``python -m thingspace_callbacks worker``, its stderr in a file."""

    def __init__(self, log: Path, env: dict[str, str], *args: str) -> None:
        self.log_path = log
        command = [sys.executable, "-m", "thingspace_callbacks", "worker", *args]
        with log.open("wb") as stderr:
            self.process = spawn(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 20.0) -> None:
        """Return once it has connected to Redis."""
        wait_until(lambda: "worker: running jobs" in self.log, timeout, f"a worker:\n{self.log}")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        """SIGTERM, as a supervisor stops it; its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_workers(
    tmp_path: Path, env: dict[str, str], count: int, *args: str
) -> list[WorkerProcess]:
    workers = [WorkerProcess(tmp_path / f"worker-{n}.log", env, *args) for n in range(count)]
    for worker in workers:
        worker.wait_ready()
    return workers


class ArqProcess:
    """``python -m arq SETTINGS`` (a user's own worker), run from the repository root."""

    def __init__(self, log: Path, env: dict[str, str], settings: str) -> None:
        self.log_path = log
        root = Path(__file__).parents[2]
        with log.open("wb") as output:
            self.process = spawn(
                [sys.executable, "-m", "arq", settings],
                cwd=root, env=env, stdout=output, stderr=output,
            )  # fmt: skip
        wait_until(lambda: "Starting worker" in self.log, 20, f"arq to start:\n{self.log}")

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def bulk_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "thingspace_callbacks", "bulk", *args]


def register_args(accounts: Path, results: Path, queue: str, *extra: str) -> list[str]:
    return [
        "register", "location", str(accounts), "--service", "Location", "--url", HOOK,
        "--results", str(results), "--queue", queue, "--json", *extra,
    ]  # fmt: skip


def accounts_file(tmp_path: Path, count: int) -> tuple[Path, list[str]]:
    names = [f"0000{n:06d}-00001" for n in range(count)]
    path = tmp_path / "accounts.txt"
    path.write_text("".join(f"{name}\n" for name in names))
    return path, names


def line_count(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def one_ok_line_per_account(path: Path, names: list[str]) -> None:
    written = lines(path)
    by_account = {line["account"]: line for line in written}
    assert len(by_account) == len(written), "an account has more than one line"
    assert sorted(by_account) == sorted(names)
    failed = [line for line in written if not line["ok"]]
    assert failed == []


class BulkProcess:
    """``bulk ... --queue`` in a subprocess, read to the end by ``finish``."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.process = spawn(
            bulk_command(*args),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_for_lines(self, results: Path, count: int, timeout: float = 30.0) -> None:
        def enough() -> bool:
            assert self.process.poll() is None, self.process.communicate()
            return line_count(results) >= count

        wait_until(enough, timeout, f"{count} results lines")

    def interrupt(self) -> None:
        self.process.send_signal(signal.SIGINT)

    def finish(self, timeout: float = 60.0) -> tuple[int, dict[str, Any], str]:
        """Its exit code, its ``--json`` summary and its stderr."""
        try:
            stdout, stderr = self.process.communicate(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        return self.process.returncode, json.loads(stdout), stderr


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def everything_in(url: str) -> list[bytes]:
    """Every key and every value Redis holds, whatever their type."""
    client = redis.Redis.from_url(url)
    found: list[bytes] = []
    try:
        for key in client.scan_iter(count=1000):
            found.append(key)
            found += _values(client, key)
    finally:
        client.close()
    return found


def _values(client: redis.Redis, key: bytes) -> list[bytes]:
    # By name: redis-py types its synchronous commands for every client at once.
    def command(*args: object) -> Any:
        return client.execute_command(*args)  # type: ignore[no-untyped-call]

    kind = command("TYPE", key)
    if kind == b"string":
        return [command("GET", key) or b""]
    if kind == b"list":
        return list(command("LRANGE", key, 0, -1))
    if kind == b"zset":
        return list(command("ZRANGE", key, 0, -1))
    if kind == b"set":
        return list(command("SMEMBERS", key))
    if kind == b"hash":
        return list(command("HGETALL", key))
    return [command("DUMP", key) or b""]
