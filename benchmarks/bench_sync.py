"""The synchronous client (``ThingSpaceClient``): its cost per call beside bare
``httpx.Client``, its throughput from many threads beside Verizon's official SDK, and
short-lived clients beside a client per call as it cost before credentials were shared
by the process.

Targets:

- one call at a time, no server latency: the sync client's CPU per call <= 1.3x bare
  ``httpx.Client``'s (both send the same request and parse the same answer);
- 2,000 calls from 100 threads against a server answering in 20 ms: >= 1.5x the
  requests per second of the official SDK (``sdksio-verizon-apis-sdk``, sync, with 100
  threads), which runs in an environment of its own, never this project's;
- 1,000 short-lived clients in a row, one call each, against the sandbox (which counts
  logins): >= 5x faster than a client per call with credentials of its own (a token
  request, a login and a logout each, as before), with one login in all.

The official SDK is installed by this script into ``--official-venv`` (default
``~/.cache/thingspace-callbacks/official-sdk``) on first use, with
``python -m venv DIR && DIR/bin/pip install sdksio-verizon-apis-sdk``; ``--quick``
skips it (a smoke run for CI).

    python -m benchmarks.bench_sync
    python -m benchmarks.bench_sync --quick
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from thingspace_callbacks import (
    AsyncThingSpaceClient,
    MemoryTokenStore,
    ThingSpaceAuth,
    ThingSpaceClient,
)
from thingspace_callbacks._auth.process import PROCESS_CREDENTIALS
from thingspace_callbacks._transport import fast_transport_available

from ._common import BODY, LISTENER_URL, TOKEN, accounts, machine
from ._server import free_port, serve_in_subprocess

OFFICIAL_PACKAGE = "sdksio-verizon-apis-sdk"
DEFAULT_OFFICIAL_VENV = Path.home() / ".cache" / "thingspace-callbacks" / "official-sdk"
ROUNDS = 20
"""The sync client and bare httpx take turns in rounds (each going first in its turn),
so that a change in the machine's load hits both; a ratio is the median of the
rounds'."""


# -- one call at a time -------------------------------------------------------------------


def one_at_a_time(
    api_root: str, count: int, rounds: int, *, speedups: bool
) -> tuple[float, float, list[float]]:
    """CPU seconds per call of the sync client and of bare ``httpx.Client`` (medians of
    the rounds), and the rounds' ratios."""
    limits = httpx.Limits(max_connections=10, max_keepalive_connections=10)
    with (
        ThingSpaceClient(
            base_url=api_root, auth=ThingSpaceAuth(access_token=TOKEN), speedups=speedups
        ) as client,
        httpx.Client(limits=limits) as bare,
    ):

        def sdk(account: str) -> object:
            return client.location.register(account, service="Location", url=LISTENER_URL)

        def plain(account: str) -> object:
            response = bare.post(
                f"{api_root}/loc/v1/callbacks/{account}",
                json=BODY,
                headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"},
            )
            response.raise_for_status()
            return response.json()

        calls: dict[str, Callable[[str], object]] = {"sdk": sdk, "bare": plain}
        for call in calls.values():
            for account in accounts(min(count, 200)):
                call(account)
        cpu: dict[str, list[float]] = {name: [] for name in calls}
        names = list(calls)
        for turn in range(rounds):
            for name in names[turn % 2 :] + names[: turn % 2]:
                gc.collect()
                started = time.process_time()  # every thread's: the loop's included
                for account in accounts(count // rounds):
                    calls[name](account)
                cpu[name].append(time.process_time() - started)
    per_round = count // rounds
    ratios = sorted(a / b for a, b in zip(cpu["sdk"], cpu["bare"], strict=True))
    return (
        statistics.median(cpu["sdk"]) / per_round,
        statistics.median(cpu["bare"]) / per_round,
        ratios,
    )


# -- many threads -------------------------------------------------------------------------


def from_threads(call: Callable[[str], object], count: int, threads: int) -> float:
    """Requests per second of ``count`` calls made by ``threads`` threads."""
    numbers = iter(accounts(count))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                account = next(numbers, None)
            if account is None:
                return
            call(account)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(work) for _ in range(threads)]:
            future.result()
    return count / (time.perf_counter() - started)


def threads_sync_client(api_root: str, count: int, threads: int, *, speedups: bool) -> float:
    with ThingSpaceClient(
        base_url=api_root, auth=ThingSpaceAuth(access_token=TOKEN), speedups=speedups
    ) as client:

        def call(account: str) -> object:
            return client.location.register(account, service="Location", url=LISTENER_URL)

        from_threads(call, min(count, threads * 2), threads)  # warm-up: the connections
        return from_threads(call, count, threads)


def threads_bare(api_root: str, count: int, threads: int) -> float:
    limits = httpx.Limits(max_connections=threads, max_keepalive_connections=threads)
    with httpx.Client(limits=limits) as bare:

        def call(account: str) -> object:
            response = bare.post(
                f"{api_root}/loc/v1/callbacks/{account}",
                json=BODY,
                headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"},
            )
            response.raise_for_status()
            return response.json()

        from_threads(call, min(count, threads * 2), threads)
        return from_threads(call, count, threads)


def official_python(venv: Path) -> Path | None:
    """The Python of the environment holding the official SDK, installing it there
    first if needed; ``None`` (and why, printed) when pip cannot get it."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import verizon.verizon_client"]
    if python.exists() and subprocess.run(probe, capture_output=True, check=False).returncode == 0:
        return python
    print(f"# installing {OFFICIAL_PACKAGE} into {venv} (once)", flush=True)
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", OFFICIAL_PACKAGE],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(f"# could not install {OFFICIAL_PACKAGE}: {done.stderr.strip()[-500:]}")
            return None
    return python


def threads_official(python: Path, api_root: str, count: int, threads: int) -> float:
    script = Path(__file__).with_name("_official.py")
    done = subprocess.run(
        [str(python), str(script), api_root, str(count), str(threads)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return float(figures["calls"]) / float(figures["seconds"])


# -- short-lived clients -----------------------------------------------------------------

_SANDBOX = """
import json, sys
from thingspace_callbacks.sandbox import Sandbox
sandbox = Sandbox()
with sandbox.serve(port=int(sys.argv[1])) as server:
    print(server.base_url, flush=True)
    sys.stdin.readline()
    print(json.dumps(dict(sandbox.calls)), flush=True)
"""


@contextlib.contextmanager
def sandbox_in_subprocess() -> Iterator[tuple[str, Callable[[], dict[str, int]]]]:
    """The sandbox served by a child process (its CPU is not the client's); yields its
    API root and a function that stops it and returns its call counts."""
    process = subprocess.Popen(
        [sys.executable, "-c", _SANDBOX, str(free_port())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    stdin, stdout = process.stdin, process.stdout

    def stop() -> dict[str, int]:
        stdin.write("\n")
        stdin.flush()
        counts: dict[str, int] = json.loads(stdout.readline())
        process.wait(timeout=30)
        return counts

    try:
        yield stdout.readline().strip(), stop
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def short_lived(count: int) -> tuple[float, float, dict[str, int], dict[str, int]]:
    """Seconds per client: sync clients made and closed one per call now, and async
    clients with credentials of their own, one per call in ``asyncio.run`` (what a
    client per call cost before); and the sandbox's call counts of each run."""
    credentials: dict[str, Any] = {
        "client_id": "sandbox-client-id",
        "client_secret": "sandbox-client-secret",
        "username": "sandbox-user",
        "password": "sandbox-password",
    }
    account = "0000123456-00001"

    with sandbox_in_subprocess() as (api_root, stop):
        started = time.perf_counter()
        for _ in range(count):
            with ThingSpaceClient(base_url=api_root, **credentials) as client:
                client.location.list(account)
        now = (time.perf_counter() - started) / count
        now_counts = stop()
    # The session lingers for a next client; this sandbox is gone, so drop it unsent.
    PROCESS_CREDENTIALS.reset()

    async def before_one() -> None:
        async with AsyncThingSpaceClient(
            base_url=api_root, token_store=MemoryTokenStore(), **credentials
        ) as client:
            await client.location.list(account)

    with sandbox_in_subprocess() as (api_root, stop):
        started = time.perf_counter()
        for _ in range(count):
            asyncio.run(before_one())
        before = (time.perf_counter() - started) / count
        before_counts = stop()
    return now, before, now_counts, before_counts


def _sandbox_credentials_match() -> None:
    from thingspace_callbacks.sandbox import Sandbox

    assert set(Sandbox().credential_kwargs().values()) == {
        "sandbox-client-id",
        "sandbox-client-secret",
        "sandbox-user",
        "sandbox-password",
    }


def _transport(speedups: bool) -> str:
    return "speedups=True (aiohttp)" if speedups else "default transport (httpx)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=6000, help="one at a time, per client")
    parser.add_argument("--thread-calls", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=100)
    parser.add_argument("--clients", type=int, default=1000, help="short-lived clients")
    parser.add_argument("--official-venv", type=Path, default=DEFAULT_OFFICIAL_VENV)
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: small sizes, no official SDK"
    )
    args = parser.parse_args()
    _sandbox_credentials_match()
    if args.quick:
        calls, rounds, thread_calls, clients = 200, 4, 200, 20
    else:
        calls, rounds, thread_calls, clients = args.calls, ROUNDS, args.thread_calls, args.clients
    print(f"# sync client; {machine()}", flush=True)

    transports = [False, True] if fast_transport_available() else [False]
    with serve_in_subprocess(0.0) as server:
        for speedups in transports:
            sdk, bare, ratios = one_at_a_time(f"{server.url}/api", calls, rounds, speedups=speedups)
            first, _, third = statistics.quantiles(ratios, n=4)
            print(
                f"one call at a time ({calls} calls each), {_transport(speedups)}: sync client "
                f"{sdk * 1e6:.0f} us CPU/call, bare httpx.Client {bare * 1e6:.0f} us CPU/call\n"
                f"  sync client / bare httpx.Client: {statistics.median(ratios):.2f}x "
                f"(middle half of the rounds {first:.2f}-{third:.2f}x)   (target <= 1.3x)",
                flush=True,
            )

    with serve_in_subprocess(0.02) as server:
        api_root = f"{server.url}/api"
        print(f"{thread_calls} calls from {args.threads} threads, server answering in 20 ms:")
        ours = {
            speedups: threads_sync_client(api_root, thread_calls, args.threads, speedups=speedups)
            for speedups in transports
        }
        plain = threads_bare(api_root, thread_calls, args.threads)
        for speedups, rate in ours.items():
            print(f"  sync client, {_transport(speedups)}: {rate:.0f} req/s", flush=True)
        print(f"  bare httpx.Client: {plain:.0f} req/s", flush=True)
        if not args.quick:
            python = official_python(args.official_venv)
            if python is not None:
                official = threads_official(python, api_root, thread_calls, args.threads)
                best = max(ours.values())
                print(
                    f"  official SDK ({OFFICIAL_PACKAGE}): {official:.0f} req/s; best sync "
                    f"client / official SDK: {best / official:.2f}x   (target >= 1.5x)",
                    flush=True,
                )

    now, before, now_counts, before_counts = short_lived(clients)
    print(
        f"{clients} short-lived clients in a row, one call each (sandbox in a process):\n"
        f"  sync client now {now * 1e3:.2f} ms/client "
        f"({now_counts.get('token', 0)} token request, {now_counts.get('login', 0)} login); "
        f"a client per call with its own credentials {before * 1e3:.2f} ms/client "
        f"({before_counts.get('token', 0)} token requests, "
        f"{before_counts.get('login', 0)} logins)\n"
        f"  speed-up: {before / now:.1f}x   (target >= 5x)",
        flush=True,
    )


if __name__ == "__main__":
    os.environ.pop("THINGSPACE_BASE_URL", None)
    main()
