"""Fan-out throughput: N registrations against a local server answering after a fixed
delay, at a fixed concurrency, on httpx's default transport and on the fast one
(``speedups=True``, the ``speedups`` extra), through three clients each:

- the SDK's ``fan_out``,
- bare ``httpx.AsyncClient`` on the same transport, running the same worker pool by
  hand, sending the same request and parsing the same JSON answer,
- a second, identical bare client: how far apart two clients that do not differ read on
  this machine, the noise floor of the first comparison.

The three take turns in rounds. Printed: requests/s, client CPU per request
(``time.process_time`` of this process only; the server runs in its own process) and
the ratios the issue sets targets for. ``--quick`` is a smoke run for CI.

    python -m benchmarks.bench_fanout                 # 10,000 requests per client
    python -m benchmarks.bench_fanout --transport fast
    python -m benchmarks.bench_fanout --quick
"""

from __future__ import annotations

import argparse
import functools
import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

import anyio
import httpx

from thingspace_callbacks import AsyncThingSpaceClient, ThingSpaceAuth

from ._common import LISTENER_URL, TOKEN, accounts, bare_client, bare_register, machine
from ._server import Server, serve_in_subprocess

ROUNDS = 10
"""The clients of one transport take turns in rounds, each going first in its turn, so a
change in machine load hits all alike; a CPU ratio is the median of the rounds' ratios."""


@dataclass
class Figures:
    """One client's rounds, added up, and its CPU seconds in each round."""

    name: str
    requests: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    server_cpu: float = 0.0
    failures: int = 0
    rounds: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.wall

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.requests * 1000


Run = Callable[[Iterator[str]], Awaitable[int]]
"""Registers every account given; returns how many failed."""


def sdk_run(client: AsyncThingSpaceClient, concurrency: int) -> Run:
    register = functools.partial(client.location.register, service="Location", url=LISTENER_URL)

    async def run(batch: Iterator[str]) -> int:
        failures = 0
        async with client.fan_out(batch, register, concurrency=concurrency) as results:
            async for result in results:
                if not result.ok:
                    failures += 1
        return failures

    return run


def bare_run(client: httpx.AsyncClient, api_root: str, concurrency: int) -> Run:
    """The same worker pool written by hand: ``concurrency`` tasks pulling accounts."""

    async def run(batch: Iterator[str]) -> int:
        failures = 0

        async def worker() -> None:
            nonlocal failures
            for account in batch:
                try:
                    await bare_register(client, api_root, account)
                except Exception:
                    failures += 1

        async with anyio.create_task_group() as group:
            for _ in range(concurrency):
                group.start_soon(worker)
        return failures

    return run


async def transport_rounds(
    server: Server, *, fast: bool, count: int, concurrency: int, rounds: int
) -> dict[str, Figures]:
    """The SDK's ``fan_out`` and two identical bare clients on one transport, taking
    turns for ``rounds`` rounds of ``count // rounds`` registrations each."""
    api_root = f"{server.url}/api"
    transport = "fast transport" if fast else "default transport"
    async with AsyncExitStack() as stack:
        # The SDK's own httpx client, as users have it (100 connections, as the bare one).
        client = await stack.enter_async_context(
            AsyncThingSpaceClient(
                base_url=api_root, speedups=fast, auth=ThingSpaceAuth(access_token=TOKEN)
            )
        )
        runs: dict[str, Run] = {"sdk": sdk_run(client, concurrency)}
        for key in ("bare", "bare again"):
            bare = await stack.enter_async_context(bare_client(fast=fast))
            runs[key] = bare_run(bare, api_root, concurrency)
        names = {
            "sdk": f"SDK fan_out, {transport}",
            "bare": f"bare httpx, {transport}",
            "bare again": f"bare httpx again, {transport}",
        }
        figures = {key: Figures(names[key]) for key in runs}
        for run in runs.values():
            await run(accounts(2 * concurrency))  # opens the connections
        keys = list(runs)
        per_round = count // rounds
        for turn in range(rounds):
            for key in keys[turn % 3 :] + keys[: turn % 3]:
                gc.collect()
                server_cpu = server.cpu_seconds()
                wall, cpu = time.perf_counter(), time.process_time()
                failures = await runs[key](accounts(per_round))
                wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
                figure = figures[key]
                figure.requests += per_round
                figure.wall += wall
                figure.cpu += cpu
                figure.server_cpu += server.cpu_seconds() - server_cpu
                figure.failures += failures
                figure.rounds.append(cpu)
    return figures


def cpu_ratio(a: Figures, b: Figures) -> str:
    """The median of the rounds' CPU ratios, and the middle half of them."""
    ratios = [x / y for x, y in zip(a.rounds, b.rounds, strict=True)]
    first, median, third = statistics.quantiles(ratios, n=4)
    return f"{median:.2f}x CPU/req (middle half of the rounds {first:.2f}-{third:.2f}x)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000, help="per client")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.02, help="server delay, seconds")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (300 requests)")
    parser.add_argument("--transport", choices=["default", "fast"], nargs="*")
    args = parser.parse_args()
    count, rounds = (300, 3) if args.quick else (args.requests, args.rounds)
    if rounds < 2:
        parser.error("--rounds: at least 2, to compare round by round")
    print(f"# fan-out: {count} registrations per client in {rounds} rounds, ")
    print(f"# {args.concurrency} in flight, server latency {args.latency * 1000:g} ms; {machine()}")
    chosen = args.transport or ["default", "fast"]
    results: dict[str, dict[str, Figures]] = {}
    with serve_in_subprocess(args.latency) as server:
        for transport in chosen:
            results[transport] = anyio.run(
                functools.partial(
                    transport_rounds,
                    server,
                    fast=transport == "fast",
                    count=count,
                    concurrency=args.concurrency,
                    rounds=rounds,
                )
            )
            for figures in results[transport].values():
                print(
                    f"{figures.name:38} {figures.rate:6.0f} req/s  "
                    f"{figures.cpu_ms:6.3f} ms CPU/req  "
                    f"(server {figures.server_cpu / figures.requests * 1000:.3f} ms CPU/req, "
                    f"{figures.failures} failed)",
                    flush=True,
                )
    _ratios(results)


def _ratios(results: dict[str, dict[str, Figures]]) -> None:
    targets = {"fast": "<= 1.05x", "default": "<= 1.02x"}
    for transport, figures in results.items():
        sdk, bare, again = figures["sdk"], figures["bare"], figures["bare again"]
        print(
            f"SDK / bare, {transport} transport: {sdk.rate / bare.rate:.2f}x req/s, "
            f"{cpu_ratio(sdk, bare)}   (target {targets[transport]} CPU/req)"
        )
        print(
            f"bare / bare, {transport} transport: {cpu_ratio(again, bare)}   "
            "(no difference, as measured here)"
        )
    if {"fast", "default"} <= results.keys():
        fast, default = results["fast"]["sdk"], results["default"]["bare"]
        print(
            f"SDK fan_out, fast transport / bare httpx, default transport: "
            f"{fast.rate / default.rate:.2f}x req/s   (target >= 2.5x req/s)"
        )


if __name__ == "__main__":
    main()
