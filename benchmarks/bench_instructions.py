"""Per-call cost in CPU instructions, counted by valgrind, SDK vs bare httpx on the same
transport: the same comparison as ``bench_overhead.py``, but a count that does not move
with the machine's load (timing a 2-core shared machine varies by more than the few
percent being measured).

Each client makes ``--calls`` sequential registrations against the local server
(its own process, not counted); the figure per call is the difference between a run
of ``--calls`` and a run of ``--calls // 4`` calls, divided by the difference in calls,
so start-up and warm-up cancel out. Needs valgrind (Debian's ``valgrind`` package).

``--fan-out`` counts ``bench_fanout.py``'s comparison instead: the SDK's ``fan_out`` and
bare httpx's hand-written pool of workers, 100 requests in flight on the fast transport
against a server answering in 20 ms (the difference between runs of ``--calls`` and
``--calls // 5`` requests; 2,500 by default, about 6 minutes).

    python -m benchmarks.bench_instructions               # 400 calls per client
    python -m benchmarks.bench_instructions --quick       # 40 (smoke run)
    python -m benchmarks.bench_instructions --fan-out     # fan-out, 2,500 requests
"""

from __future__ import annotations

import argparse
import functools
import shutil
from concurrent.futures import ThreadPoolExecutor

import anyio

from thingspace_callbacks import AsyncThingSpaceClient, ThingSpaceAuth
from thingspace_callbacks._transport import fast_transport_available

from ._common import (
    LISTENER_URL,
    TOKEN,
    accounts,
    bare_client,
    bare_register,
    instructions,
    machine,
)
from ._server import serve_in_subprocess
from .bench_fanout import bare_run, sdk_run

FAN_OUT_CONCURRENCY = 100

TARGETS = {"fast": 1.05, "default": 1.02}


async def _calls(kind: str, api_root: str, fast: bool, count: int) -> None:
    async with (
        AsyncThingSpaceClient(
            base_url=api_root, speedups=fast, auth=ThingSpaceAuth(access_token=TOKEN)
        ) as client,
        bare_client(fast=fast) as bare,
    ):
        if kind.endswith("fan-out"):
            run = (
                sdk_run(client, FAN_OUT_CONCURRENCY)
                if kind == "sdk fan-out"
                else bare_run(bare, api_root, FAN_OUT_CONCURRENCY)
            )
            await run(accounts(2 * FAN_OUT_CONCURRENCY))  # opens the connections
            if await run(accounts(count)):
                raise RuntimeError("requests failed")
            return
        call = (
            functools.partial(client.location.register, service="Location", url=LISTENER_URL)
            if kind == "sdk"
            else functools.partial(bare_register, bare, api_root)
        )
        for account in accounts(30 + count):  # the first 30 open the connection
            await call(account)


def _count(kind: str, api_root: str, transport: str, calls: int) -> int:
    """Instructions of one process making ``calls`` calls (plus start-up)."""
    return instructions(
        "benchmarks.bench_instructions", "--run", kind, api_root, transport, str(calls)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, help="per client (default 400; 2,500 with --fan-out)")
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (40 calls)")
    parser.add_argument("--fan-out", action="store_true", help="count fan-out, not single calls")
    parser.add_argument("--run", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:  # one measured process, started under valgrind by _count
        kind, api_root, transport, calls = args.run
        anyio.run(_calls, kind, api_root, transport == "fast", int(calls))
        return
    if shutil.which("valgrind") is None:
        print("# instructions: valgrind is not installed (apt-get install valgrind); skipped")
        return
    if args.fan_out:
        _fan_out(args.calls or (200 if args.quick else 2_500))
        return
    calls = 40 if args.quick else (args.calls or 400)
    low = calls // 4
    print(f"# instructions: {calls} sequential calls per client, counted by valgrind; {machine()}")
    transports = ["default", "fast"] if fast_transport_available() else ["default"]
    with serve_in_subprocess(0.0) as server:
        api_root = f"{server.url}/api"
        for transport in transports:
            per_call = {
                kind: (
                    _count(kind, api_root, transport, calls)
                    - _count(kind, api_root, transport, low)
                )
                / (calls - low)
                for kind in ("sdk", "bare")
            }
            _print(transport, per_call["sdk"], per_call["bare"], "call")


def _fan_out(calls: int) -> None:
    if not fast_transport_available():
        print("# instructions: fan-out needs the speedups extra; skipped")
        return
    low = calls // 5
    print(
        f"# instructions: fan-out of {calls} requests per client, {FAN_OUT_CONCURRENCY} in "
        f"flight, server latency 20 ms, counted by valgrind; {machine()}"
    )
    with serve_in_subprocess(0.02) as server, ThreadPoolExecutor(2) as pool:
        api_root = f"{server.url}/api"
        per_request = {}
        for kind in ("sdk fan-out", "bare fan-out"):
            # Two processes at once (one per core): a count does not depend on timing.
            high_count, low_count = pool.map(
                lambda n, kind=kind: _count(kind, api_root, "fast", n), (calls, low)
            )
            per_request[kind] = (high_count - low_count) / (calls - low)
        _print("fast", per_request["sdk fan-out"], per_request["bare fan-out"], "request")


def _print(transport: str, sdk: float, bare: float, unit: str) -> None:
    print(
        f"{transport + ' transport':18} SDK {sdk / 1000:8.1f}k instr/{unit}, "
        f"bare httpx {bare / 1000:8.1f}k: {sdk / bare:.3f}x   "
        f"(target <= {TARGETS[transport]:.2f}x)",
        flush=True,
    )


if __name__ == "__main__":
    main()
