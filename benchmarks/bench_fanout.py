"""Fan-out throughput: N registrations against a local server answering after a fixed
delay, at a fixed concurrency, through four clients:

- the SDK's ``fan_out`` on httpx's default transport (the client's own),
- the SDK's ``fan_out`` on the fast transport (``speedups=True``, the ``speedups`` extra),
- bare ``httpx.AsyncClient`` (default transport),
- bare httpx on httpx-aiohttp's transport.

The bare clients run the same worker pool, send the same request and parse the same
JSON answer. Printed: requests/s, client CPU per request (``time.process_time`` of this
process only; the server runs in its own process) and the ratios the issue sets targets
for. ``--quick`` is a smoke run for CI.

    python -m benchmarks.bench_fanout                 # 10,000 requests, 20 ms, 100 at once
    python -m benchmarks.bench_fanout --quick
"""

from __future__ import annotations

import argparse
import functools
import gc
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

import anyio

from thingspace_callbacks import AsyncThingSpaceClient, ThingSpaceAuth

from ._common import LISTENER_URL, TOKEN, accounts, bare_client, bare_register, machine
from ._server import Server, serve_in_subprocess


@dataclass
class Figures:
    name: str
    requests: int
    wall: float
    cpu: float
    server_cpu: float
    failures: int

    @property
    def rate(self) -> float:
        return self.requests / self.wall

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.requests * 1000


Run = Callable[[Iterator[str]], Awaitable[int]]
"""Registers every account given; returns how many failed."""


async def _measure(name: str, server: Server, run: Run, count: int, warmup: int) -> Figures:
    await run(accounts(warmup))
    gc.collect()
    server_cpu = server.cpu_seconds()
    wall, cpu = time.perf_counter(), time.process_time()
    failures = await run(accounts(count))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Figures(name, count, wall, cpu, server.cpu_seconds() - server_cpu, failures)


async def sdk_scenario(
    server: Server, *, fast: bool, count: int, concurrency: int, warmup: int
) -> Figures:
    # The SDK's own httpx client, as users have it (100 connections, as the bare one).
    async with AsyncThingSpaceClient(
        base_url=f"{server.url}/api", speedups=fast, auth=ThingSpaceAuth(access_token=TOKEN)
    ) as client:
        register = functools.partial(client.location.register, service="Location", url=LISTENER_URL)

        async def run(batch: Iterator[str]) -> int:
            failures = 0
            async with client.fan_out(batch, register, concurrency=concurrency) as results:
                async for result in results:
                    if not result.ok:
                        failures += 1
            return failures

        name = "SDK fan_out, fast transport" if fast else "SDK fan_out, default transport"
        figures = await _measure(name, server, run, count, warmup)
    return figures


async def bare_scenario(
    server: Server, *, fast: bool, count: int, concurrency: int, warmup: int
) -> Figures:
    api_root = f"{server.url}/api"
    async with bare_client(fast=fast) as client:

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

        name = "bare httpx, fast transport" if fast else "bare httpx, default transport"
        return await _measure(name, server, run, count, warmup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.02, help="server delay, seconds")
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (300 requests)")
    parser.add_argument(
        "--only", choices=["sdk-default", "sdk-fast", "bare-default", "bare-fast"], nargs="*"
    )
    args = parser.parse_args()
    count = 300 if args.quick else args.requests
    warmup = min(count, 2 * args.concurrency)
    scenarios = {
        "sdk-default": functools.partial(sdk_scenario, fast=False),
        "sdk-fast": functools.partial(sdk_scenario, fast=True),
        "bare-default": functools.partial(bare_scenario, fast=False),
        "bare-fast": functools.partial(bare_scenario, fast=True),
    }
    chosen = args.only or list(scenarios)
    print(f"# fan-out: {count} registrations, {args.concurrency} in flight, ")
    print(f"# server latency {args.latency * 1000:g} ms; {machine()}")
    results: dict[str, Figures] = {}
    with serve_in_subprocess(args.latency) as server:
        for key in chosen:
            results[key] = anyio.run(
                functools.partial(
                    scenarios[key],
                    server,
                    count=count,
                    concurrency=args.concurrency,
                    warmup=warmup,
                )
            )
            figures = results[key]
            print(
                f"{figures.name:32} {figures.rate:8.0f} req/s  "
                f"{figures.cpu_ms:6.3f} ms CPU/req  "
                f"(server {figures.server_cpu / figures.requests * 1000:.3f} ms CPU/req, "
                f"{figures.failures} failed)",
                flush=True,
            )
    _ratios(results)


def _ratios(results: dict[str, Figures]) -> None:
    def ratio(a: str, b: str, target: str) -> None:
        if a in results and b in results:
            x, y = results[a], results[b]
            print(
                f"{x.name} / {y.name}: {x.rate / y.rate:.2f}x req/s, "
                f"{x.cpu_ms / y.cpu_ms:.2f}x CPU/req   (target {target})"
            )

    ratio("sdk-fast", "bare-fast", "<= 1.05x CPU/req")
    ratio("sdk-default", "bare-default", "<= 1.02x CPU/req")
    ratio("sdk-fast", "bare-default", ">= 2.5x req/s")


if __name__ == "__main__":
    main()
