"""Queued fan-out throughput: N registrations enqueued as arq jobs of ``--chunk-size``
accounts (the Python API of ``bulk --queue``) and run by 1, then 3, ``thingspace-callbacks
worker`` processes, each at the same concurrency, against a local server answering
after a fixed delay.

The work is latency-bound (a worker at concurrency C against a server answering in L
seconds does at most C / L calls a second), so 3 workers should come close to 3x one.
Printed per run: accounts/s, that ratio, the Redis commands per account (``INFO
commandstats`` before and after, all clients: enqueuing, workers, results; pipelined
commands share a round trip, so round trips are fewer), the workers' CPU per account
beside that of an in-process ``client.fan_out`` of the same registrations at the same
concurrency (a subprocess against the same server, measured in the same run: their
ratio is the queue's overhead), and the workers' peak memory (``VmHWM``) over their
memory once ready.

Needs ``redis-server`` on the PATH (a private one is started on a free port).

    python -m benchmarks.bench_workers                 # 100,000 accounts, 200 ms, 50 at once
    python -m benchmarks.bench_workers --accounts 20000
    python -m benchmarks.bench_workers --quick         # 200 accounts, for CI
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import anyio
import redis

from thingspace_callbacks.redis import QueuedFanOut, queue_pool

from ._common import LISTENER_URL, TOKEN, accounts, machine
from ._server import free_port, serve_in_subprocess

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Figures:
    workers: int
    accounts: int
    wall: float
    failures: int
    commands: int
    worker_cpu: float
    worker_rss: tuple[float, float]
    """MB of the largest worker once ready, and its peak by the end."""

    @property
    def rate(self) -> float:
        return self.accounts / self.wall


def _memory_mb(pid: int, field: str) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A private ``redis-server`` on a free port, without persistence: its URL."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise SystemExit("bench_workers needs redis-server (apt-get install redis-server)")
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        process = subprocess.Popen(
            [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", directory],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"redis://127.0.0.1:{port}/0"
        try:
            _wait(lambda: _answers(url), "redis-server to start")
            yield url
        finally:
            process.terminate()
            process.wait(10)


def _answers(url: str) -> bool:
    client = redis.Redis.from_url(url)
    try:
        return bool(client.ping())
    except redis.ConnectionError:
        return False
    finally:
        client.close()


def _wait(condition: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not callable(condition) or not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _commands(url: str) -> int:
    """Commands Redis has run since it started (or since CONFIG RESETSTAT)."""
    client = redis.Redis.from_url(url)
    try:
        stats = cast("dict[str, dict[str, int]]", client.info("commandstats"))
    finally:
        client.close()
    return sum(int(entry["calls"]) for entry in stats.values())


@contextlib.contextmanager
def workers(count: int, api_root: str, url: str, concurrency: int) -> Iterator[list[int]]:
    """``count`` worker processes, ready: their pids."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("THINGSPACE")}
    command = [
        sys.executable, "-m", "thingspace_callbacks", "--base-url", api_root,
        "--access-token", TOKEN, "worker", "--queue", url, "-c", str(concurrency),
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as directory:
        logs = [Path(directory) / f"worker-{n}.log" for n in range(count)]
        processes = []
        for log in logs:
            with log.open("wb") as stderr:
                processes.append(subprocess.Popen(command, env=env, cwd=ROOT, stderr=stderr))
        try:
            for log in logs:
                _wait(lambda log=log: "worker: running jobs" in log.read_text(), "a worker")
            yield [process.pid for process in processes]
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(30)


_IN_PROCESS = """
import anyio, functools, sys, time
from thingspace_callbacks import AsyncThingSpaceClient, ThingSpaceAuth
from thingspace_callbacks._transport import fast_transport_available
from benchmarks._common import LISTENER_URL, TOKEN, accounts

async def main(api_root, count, concurrency):
    # The client a worker builds: the same transport, a fixed token.
    auth = ThingSpaceAuth(access_token=TOKEN)
    speedups = fast_transport_available()
    async with AsyncThingSpaceClient(base_url=api_root, auth=auth, speedups=speedups) as client:
        register = functools.partial(
            client.location.register, service="Location", url=LISTENER_URL
        )
        await client.fan_out(accounts(200), register, concurrency=concurrency).collect()
        started = time.process_time()
        failed = 0
        async with client.fan_out(accounts(count), register, concurrency=concurrency) as run:
            async for result in run:
                failed += not result.ok
        print(time.process_time() - started, failed)

anyio.run(main, sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
"""


def in_process_cpu(count: int, api_root: str, concurrency: int) -> float:
    """CPU seconds of ``client.fan_out`` doing the same registrations in a process of its
    own (after a warm-up of 200), at the concurrency of one worker."""
    output = subprocess.run(
        [sys.executable, "-c", _IN_PROCESS, api_root, str(count), str(concurrency)],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    if int(output[1]):
        raise RuntimeError(f"the in-process fan-out failed {output[1]} accounts")
    return float(output[0])


async def _run(url: str, api_root: str, count: int, chunk_size: int) -> tuple[float, int]:
    """Enqueue ``count`` registrations while collecting their outcomes, as ``bulk
    --queue`` does: (wall seconds, failures)."""
    pool = await queue_pool(url)
    try:
        queued = QueuedFanOut(
            pool, "location.register", service="Location", url=LISTENER_URL,
            base_url=api_root, chunk_size=chunk_size,
        )  # fmt: skip
        failures = 0
        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            await group.start(queued.enqueue, accounts(count))
            async for result in queued:
                failures += 0 if result.ok else 1
        return time.perf_counter() - started, failures
    finally:
        await pool.aclose()


def measure(
    count: int, n_workers: int, api_root: str, url: str, concurrency: int, chunk_size: int
) -> Figures:
    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()
    with workers(n_workers, api_root, url, concurrency) as pids:
        ready = max(_memory_mb(pid, "VmRSS") for pid in pids)
        cpu = sum(_cpu_seconds(pid) for pid in pids)
        commands = _commands(url)
        wall, failures = anyio.run(_run, url, api_root, count, chunk_size)
        commands = _commands(url) - commands
        cpu = sum(_cpu_seconds(pid) for pid in pids) - cpu
        peak = max(_memory_mb(pid, "VmHWM") for pid in pids)
    return Figures(n_workers, count, wall, failures, commands, cpu, (ready, peak))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=50, help="accounts at once per worker")
    parser.add_argument("--latency", type=float, default=0.2, help="server delay, seconds")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--chunk-size", type=int, default=100, help="accounts per job")
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (200 accounts)")
    args = parser.parse_args()
    count = 200 if args.quick else args.accounts
    print(f"# queued fan-out: {count} registrations, {args.concurrency} at once per worker,")
    print(f"# server latency {args.latency * 1000:g} ms, {args.chunk_size} accounts per job;")
    print(f"# {machine()}; load average {os.getloadavg()[0]:.2f} at start")
    results: list[Figures] = []
    with serve_in_subprocess(args.latency) as server, redis_server() as url:
        api_root = f"{server.url}/api"
        for n_workers in args.workers:
            figures = measure(count, n_workers, api_root, url, args.concurrency, args.chunk_size)
            results.append(figures)
            # The in-process figure of the same moment, as the machine is loaded now.
            in_process = in_process_cpu(count, api_root, args.concurrency) / count
            worker_cpu = figures.worker_cpu / count
            ceiling = n_workers * args.concurrency / args.latency if args.latency else 0
            ready, peak = figures.worker_rss
            print(
                f"{n_workers} worker{'s' if n_workers > 1 else ' '} {figures.rate:8.0f} accounts/s"
                f"  (latency-bound ceiling {ceiling:.0f}/s)  {figures.wall:6.1f} s  "
                f"{figures.commands / count:5.2f} Redis commands/account  "
                f"{worker_cpu * 1000:5.2f} ms worker CPU/account vs "
                f"{in_process * 1000:5.2f} ms in-process fan_out ({worker_cpu / in_process:.2f}x)  "
                f"worker RSS {ready:.0f} MB ready, {peak:.0f} MB peak  "
                f"{figures.failures} failed",
                flush=True,
            )
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(
            f"{last.workers} workers / {first.workers}: {last.rate / first.rate:.2f}x accounts/s "
            f"(target close to {last.workers / first.workers:g}x)"
        )


if __name__ == "__main__":
    main()
