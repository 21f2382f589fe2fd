"""Per-call overhead: one registration at a time against a local server that answers
at once, CPU per call of the SDK vs bare httpx on the same transport.

Target: the SDK costs at most 1.05x the CPU of bare httpx on the fast transport and
1.02x on the default one. Both clients send the same
request and parse the same answer (the SDK also validates the arguments and the
answer's model). ``--quick`` is a smoke run; ``--profile`` prints the SDK's top
functions by own time.

    python -m benchmarks.bench_overhead               # 3,000 calls per client
    python -m benchmarks.bench_overhead --quick
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import pstats
import time
from collections.abc import Awaitable, Callable

import anyio

from thingspace_callbacks import AsyncThingSpaceClient, ThingSpaceAuth
from thingspace_callbacks._transport import fast_transport_available

from ._common import LISTENER_URL, TOKEN, accounts, bare_client, bare_register, machine
from ._server import Server, serve_in_subprocess

ROUNDS = 6
"""The two clients take turns, so a change in machine load hits both alike."""


async def compare(server: Server, *, fast: bool, count: int, profile: bool) -> tuple[float, float]:
    """CPU seconds per call: (SDK, bare httpx), on the same transport."""
    api_root = f"{server.url}/api"
    # The SDK builds its own httpx client, as users do: with `speedups` it sends
    # through aiohttp, otherwise through httpx's own transport (as the bare client).
    async with (
        AsyncThingSpaceClient(
            base_url=api_root, speedups=fast, auth=ThingSpaceAuth(access_token=TOKEN)
        ) as client,
        bare_client(fast=fast) as bare,
    ):
        calls: dict[str, Callable[[str], Awaitable[object]]] = {
            "sdk": functools.partial(
                client.location.register, service="Location", url=LISTENER_URL
            ),
            "bare": functools.partial(bare_register, bare, api_root),
        }
        cpu = dict.fromkeys(calls, 0.0)
        for call in calls.values():
            for account in accounts(min(count, 200)):
                await call(account)
        for _ in range(ROUNDS):
            for name, call in calls.items():
                gc.collect()
                started = time.process_time()
                for account in accounts(count // ROUNDS):
                    await call(account)
                cpu[name] += time.process_time() - started
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for account in accounts(count):
                await calls["sdk"](account)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    per_call = count // ROUNDS * ROUNDS
    return cpu["sdk"] / per_call, cpu["bare"] / per_call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (100 calls)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    count = 100 if args.quick else args.calls
    print(f"# overhead: {count} sequential calls, no server latency; {machine()}")
    transports = [False, True] if fast_transport_available() else [False]
    with serve_in_subprocess(0.0) as server:
        for fast in transports:
            sdk, plain = anyio.run(
                functools.partial(compare, server, fast=fast, count=count, profile=args.profile)
            )
            name = "fast transport" if fast else "default transport"
            target = "1.05x" if fast else "1.02x"
            print(
                f"{name:18} SDK {sdk * 1e6:7.1f} us CPU/call, bare httpx {plain * 1e6:7.1f} "
                f"us CPU/call: {sdk / plain:.3f}x   (target <= {target})",
                flush=True,
            )


if __name__ == "__main__":
    main()
