"""Per-call overhead: one registration at a time against a local server that answers
at once, CPU per call of the SDK vs bare httpx on the same transport.

Target: the SDK costs at most 1.05x the CPU of bare httpx on the fast transport and
1.02x on the default one. Both clients send the same
request and parse the same answer (the SDK also validates the arguments and the
answer's model). ``--quick`` is a smoke run; ``--profile`` prints the SDK's top
functions by own time.

    python -m benchmarks.bench_overhead               # 12,000 calls per client
    python -m benchmarks.bench_overhead --quick
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import gc
import pstats
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio

from thingspace_callbacks import AsyncThingSpaceClient, ThingSpaceAuth
from thingspace_callbacks._transport import fast_transport_available

from ._common import LISTENER_URL, TOKEN, accounts, bare_client, bare_register, machine
from ._server import Server, serve_in_subprocess

ROUNDS = 60
"""The clients take turns in short rounds, each going first in its turn, so a change in
machine load hits all alike; a ratio is the median of the rounds' ratios, which a round
disturbed by other work cannot move."""


@dataclass(frozen=True)
class Ratios:
    """One client's CPU per round over another's, round by round."""

    rounds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.rounds)

    def __str__(self) -> str:
        first, _, third = statistics.quantiles(self.rounds, n=4)
        return f"{self.median:.3f}x (middle half of the rounds {first:.3f}-{third:.3f}x)"


@dataclass(frozen=True)
class Comparison:
    """CPU seconds per call in the median round of the SDK and of bare httpx; the SDK's
    ratio to bare httpx, and that of a second, identical bare client: the ratio that
    means "no difference" on this machine now, so the noise floor of the first."""

    sdk: float
    bare: float
    ratio: Ratios
    same: Ratios


async def compare(
    server: Server, *, fast: bool, count: int, rounds: int, profile: bool
) -> Comparison:
    """The SDK and two bare httpx clients on the same transport, taking turns."""
    api_root = f"{server.url}/api"
    # The SDK builds its own httpx client, as users do: with `speedups` it sends
    # through aiohttp, otherwise through httpx's own transport (as the bare client).
    async with (
        AsyncThingSpaceClient(
            base_url=api_root, speedups=fast, auth=ThingSpaceAuth(access_token=TOKEN)
        ) as client,
        bare_client(fast=fast) as bare,
        bare_client(fast=fast) as bare_again,
    ):
        calls: dict[str, Callable[[str], Awaitable[object]]] = {
            "sdk": functools.partial(
                client.location.register, service="Location", url=LISTENER_URL
            ),
            "bare": functools.partial(bare_register, bare, api_root),
            "bare again": functools.partial(bare_register, bare_again, api_root),
        }
        cpu: dict[str, list[float]] = {name: [] for name in calls}
        for call in calls.values():
            for account in accounts(min(count, 200)):
                await call(account)
        names = list(calls)
        for turn in range(rounds):
            for name in names[turn % 3 :] + names[: turn % 3]:
                gc.collect()
                started = time.process_time()
                for account in accounts(count // rounds):
                    await calls[name](account)
                cpu[name].append(time.process_time() - started)
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for account in accounts(count):
                await calls["sdk"](account)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    per_round = count // rounds

    def over_bare(name: str) -> Ratios:
        return Ratios(sorted(a / b for a, b in zip(cpu[name], cpu["bare"], strict=True)))

    return Comparison(
        sdk=statistics.median(cpu["sdk"]) / per_round,
        bare=statistics.median(cpu["bare"]) / per_round,
        ratio=over_bare("sdk"),
        same=over_bare("bare again"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=12000, help="per client")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (100 calls)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    count, rounds = (100, 10) if args.quick else (args.calls, args.rounds)
    print(f"# overhead: {count} sequential calls, no server latency; {machine()}")
    transports = [False, True] if fast_transport_available() else [False]
    with serve_in_subprocess(0.0) as server:
        for fast in transports:
            result = anyio.run(
                functools.partial(
                    compare, server, fast=fast, count=count, rounds=rounds, profile=args.profile
                )
            )
            name = "fast transport" if fast else "default transport"
            target = "1.05x" if fast else "1.02x"
            print(
                f"{name}: SDK {result.sdk * 1e6:.1f} us CPU/call, bare httpx "
                f"{result.bare * 1e6:.1f} us CPU/call\n"
                f"  SDK / bare httpx:  {result.ratio}   (target <= {target})\n"
                f"  bare / bare httpx: {result.same}   (no difference, as measured here)",
                flush=True,
            )


if __name__ == "__main__":
    main()
