"""Memory: a fan-out over many accounts read from a generator keeps its memory bounded
by the concurrency, not by the number of accounts.

The SDK's ``fan_out`` registers N accounts (default 100,000) through the full request
path, answered in process by an ``httpx.MockTransport`` (no sockets, so the run is
quick and only the SDK and fan-out are measured). Printed: the peak RSS growth over
the run (Linux ``VmHWM``, reset after warm-up). Target: at most 64 MB.

    python -m benchmarks.bench_memory                 # 100,000 accounts
    python -m benchmarks.bench_memory --quick
"""

from __future__ import annotations

import argparse
import functools
import gc
import time

import anyio
import httpx

from thingspace_callbacks import AsyncThingSpaceClient, ThingSpaceAuth

from ._common import LISTENER_URL, TOKEN, accounts, machine
from ._server import BODY

TARGET_MB = 64


def _status(field: str) -> int:
    """A ``/proc/self/status`` memory figure, in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> bool:
    """Make VmHWM restart from the current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def _answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=BODY, headers={"Content-Type": "application/json"})


async def measure(count: int, concurrency: int) -> tuple[float, float, float, int]:
    """(baseline MiB, peak growth MiB, seconds, failures)."""
    http_client = httpx.AsyncClient(transport=httpx.MockTransport(_answer))
    async with AsyncThingSpaceClient(
        base_url="https://bench.invalid/api",
        http_client=http_client,
        auth=ThingSpaceAuth(access_token=TOKEN),
    ) as client:
        register = functools.partial(client.location.register, service="Location", url=LISTENER_URL)
        await client.fan_out(accounts(2_000), register, concurrency=concurrency).collect()
        gc.collect()
        baseline = _status("VmRSS")
        sampled_peak = baseline
        exact = _reset_peak()
        failures = 0
        started = time.perf_counter()
        async with client.fan_out(accounts(count), register, concurrency=concurrency) as results:
            async for result in results:
                if not result.ok:
                    failures += 1
                if result.index % 5_000 == 0:
                    sampled_peak = max(sampled_peak, _status("VmRSS"))
        elapsed = time.perf_counter() - started
        peak = _status("VmHWM") if exact else sampled_peak
    await http_client.aclose()
    return baseline / 1024, (peak - baseline) / 1024, elapsed, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (2,000)")
    args = parser.parse_args()
    count = 2_000 if args.quick else args.accounts
    print(f"# memory: fan-out over {count} accounts from a generator; {machine()}")
    baseline, growth, elapsed, failures = anyio.run(
        functools.partial(measure, count, args.concurrency)
    )
    print(
        f"baseline RSS {baseline:.1f} MiB, peak growth {growth:.1f} MiB over {count} accounts "
        f"({count / elapsed:.0f}/s, {failures} failed)   (target <= {TARGET_MB} MB)"
    )


if __name__ == "__main__":
    main()
