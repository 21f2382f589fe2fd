"""Desired state at scale, against a local server answering in 20 ms, 100 in flight:

- **plan**: N accounts x 2 families (Device Location and Hyper Precise Location, every
  listener as declared), beside a bare ``fan_out`` of the same 2N reads through the
  same client, and a second bare ``fan_out`` as the noise floor; the three take turns
  in rounds. Printed: wall time of each, the plan's ratio to the bare reads, the floor.
- **memory**: the peak of Python allocations (``tracemalloc``) while planning 1,000 and
  10,000 accounts, and its growth between the two.
- **apply**: 1,000 changed listeners (each re-read, then registered) beside ``bulk``'s
  engine, a ``fan_out`` of the same 1,000 registrations: wall time, and the ratio per
  request (an apply sends two per change: the re-read and the change); then the same
  apply with ``recheck=False`` (``--no-recheck``: the plan's reads trusted, one
  request per change).

``--quick`` is a smoke run for CI.

    python -m benchmarks.bench_plan                  # 10,000 accounts x 2 families
    python -m benchmarks.bench_plan --quick
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable

import anyio

from thingspace_callbacks import AsyncThingSpaceClient, ThingSpaceAuth
from thingspace_callbacks._transport import fast_transport_available
from thingspace_callbacks.state import Listener, State, apply, plan

from ._common import LISTENER_URL, TOKEN, accounts, machine
from ._server import serve_in_subprocess

LISTED = json.dumps([{"name": "Location", "url": LISTENER_URL}]).encode()
"""What every read answers: one listener, as the state declares it."""
FAMILIES = ("location", "hyper_precise")
MOVED = "https://listener-v2.example.com/hooks/location"


def state_of(count: int, url: str = LISTENER_URL, families: tuple[str, ...] = FAMILIES) -> State:
    return State(
        listeners=tuple(Listener(name, url, service="Location") for name in families),
        accounts=tuple(accounts(count)),
    )


async def bare_reads(client: AsyncThingSpaceClient, state: State, concurrency: int) -> int:
    """The reads a plan makes, as a bare fan-out; how many failed."""

    async def read(pair: tuple[str, str]) -> object:
        account, name = pair
        return await getattr(client, name).list(account)

    report = await client.fan_out(state.reads(), read, concurrency=concurrency).collect()
    return len(report.failed)


async def planned(client: AsyncThingSpaceClient, state: State, concurrency: int) -> int:
    made = await plan(client, state, concurrency=concurrency)
    assert made.exit_code == 0, made.counts
    return 0


async def timed(step: Callable[[], Awaitable[int]]) -> float:
    gc.collect()
    started = time.perf_counter()
    failures = await step()
    assert failures == 0, f"{failures} failed"
    return time.perf_counter() - started


async def plan_rounds(
    client: AsyncThingSpaceClient, count: int, concurrency: int, rounds: int
) -> dict[str, list[float]]:
    state = state_of(count)
    steps: dict[str, Callable[[], Awaitable[int]]] = {
        "plan": functools.partial(planned, client, state, concurrency),
        "bare fan_out": functools.partial(bare_reads, client, state, concurrency),
        "bare fan_out again": functools.partial(bare_reads, client, state, concurrency),
    }
    walls: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for turn in range(rounds):
        for name in names[turn % 3 :] + names[: turn % 3]:
            walls[name].append(await timed(steps[name]))
    return walls


async def peak_memory(client: AsyncThingSpaceClient, count: int, concurrency: int) -> int:
    """The peak of Python allocations while planning ``count`` accounts, in bytes."""
    state = state_of(count)
    gc.collect()
    tracemalloc.start()
    try:
        made = await plan(client, state, concurrency=concurrency)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(made) == count * len(FAMILIES)
    return peak


async def apply_vs_bulk(
    client: AsyncThingSpaceClient, count: int, concurrency: int
) -> tuple[float, float, float]:
    made = await plan(client, state_of(count, MOVED, ("location",)), concurrency=concurrency)
    assert made.counts["change"] == count
    applied = await timed(lambda: _applied(client, made, concurrency, recheck=True))
    trusted = await timed(lambda: _applied(client, made, concurrency, recheck=False))
    register = functools.partial(client.location.register, service="Location", url=MOVED)

    async def bulk() -> int:
        report = await client.fan_out(accounts(count), register, concurrency=concurrency).collect()
        return len(report.failed)

    return applied, trusted, await timed(bulk)


async def _applied(
    client: AsyncThingSpaceClient, made: object, concurrency: int, *, recheck: bool
) -> int:
    report = await apply(client, made, concurrency=concurrency, recheck=recheck)  # type: ignore[arg-type]
    return len(report.failed) + len(report.conflicts)


async def run(args: argparse.Namespace, base_url: str) -> None:
    # The fast transport when installed, as the command line uses it.
    async with AsyncThingSpaceClient(
        base_url=base_url, auth=ThingSpaceAuth(access_token=TOKEN), speedups=args.fast
    ) as client:
        await bare_reads(client, state_of(args.concurrency), args.concurrency)  # connections
        walls = await plan_rounds(client, args.accounts, args.concurrency, args.rounds)
        reads = args.accounts * len(FAMILIES)
        for name, times in walls.items():
            best = min(times)
            print(
                f"{name:20} {statistics.median(times):7.2f} s median, {best:7.2f} s best "
                f"({reads / best:6.0f} reads/s)",
                flush=True,
            )
        ratio = statistics.median(walls["plan"]) / statistics.median(walls["bare fan_out"])
        floor = statistics.median(walls["bare fan_out again"]) / statistics.median(
            walls["bare fan_out"]
        )
        print(f"plan / bare fan_out: {ratio:.3f}x (noise floor {floor:.3f}x); target <= 1.2x")

        small, large = args.memory
        low = await peak_memory(client, small, args.concurrency)
        high = await peak_memory(client, large, args.concurrency)
        print(
            f"peak allocations: {low / 2**20:.1f} MB planning {small:,} accounts, "
            f"{high / 2**20:.1f} MB planning {large:,}: growth {(high - low) / 2**20:.1f} MB "
            f"({(high - low) / (large - small) / len(FAMILIES):.0f} bytes per entry); "
            "target < 100 MB",
            flush=True,
        )

        applied, trusted, bulk = await apply_vs_bulk(client, args.changes, args.concurrency)
        print(
            f"apply of {args.changes:,} changes {applied:.2f} s, bulk (fan_out) of the same "
            f"registrations {bulk:.2f} s: {applied / bulk:.2f}x wall, "
            f"{applied / bulk / 2:.2f}x per request (a change is a re-read and a register)"
        )
        print(
            f"apply --no-recheck of {args.changes:,} changes {trusted:.2f} s: "
            f"{trusted / bulk:.2f}x bulk's wall (a change is a register)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.02, help="server delay, seconds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--changes", type=int, default=1_000)
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run")
    parser.add_argument(
        "--transport",
        choices=["default", "fast"],
        default="fast" if fast_transport_available() else "default",
        help="httpx's own, or the speedups extra's (default when installed)",
    )
    args = parser.parse_args()
    args.fast = args.transport == "fast"
    args.memory = (1_000, 10_000)
    if args.quick:
        args.accounts, args.rounds, args.changes, args.memory = 300, 3, 100, (100, 1_000)
    print(
        f"# desired state: plan of {args.accounts:,} accounts x {len(FAMILIES)} families in "
        f"{args.rounds} rounds, {args.concurrency} in flight, server latency "
        f"{args.latency * 1000:g} ms, {args.transport} transport; {machine()}"
    )
    with serve_in_subprocess(args.latency, get_body=LISTED) as server:
        anyio.run(run, args, f"{server.url}/api")


if __name__ == "__main__":
    main()
