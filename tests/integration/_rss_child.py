"""Run in a child process by ``test_compressed_answers.py``: one call whose answer is a
compression bomb, with this process's peak memory measured around it alone.

    python -m tests.integration._rss_child BASE_URL WARM_ACCOUNT BOMB_ACCOUNT SPEEDUPS

Prints one JSON line: the exception's class name (or ``null``), which transport sent
the call, the resident size just before the call and the peak during it (KiB).
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys

from thingspace_callbacks import AsyncThingSpaceClient, ThingSpaceAuth


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def _reset_peak() -> bool:
    """Make VmHWM restart from the current resident size (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


async def main(base_url: str, warm: str, bomb: str, speedups: bool) -> dict[str, object]:
    async with AsyncThingSpaceClient(
        base_url=base_url,
        auth=ThingSpaceAuth(access_token="rss-access"),
        max_retries=0,
        speedups=speedups,
    ) as client:
        # Everything that lasts (modules, connection, the answer's validator, a
        # decoder) is built before the measure starts.
        assert await client.location.list(warm) == []
        transport = getattr(client.http_client._transport, "selected", None) or "httpx"
        gc.collect()
        baseline = _status("VmRSS") if _reset_peak() else _status("VmHWM")
        error: str | None = None
        try:
            await client.location.list(bomb)
        except Exception as exc:  # what the call raised is the result
            error = type(exc).__name__
        peak = _status("VmHWM")
    return {"error": error, "transport": transport, "baseline_kib": baseline, "peak_kib": peak}


if __name__ == "__main__":
    url, warm_account, bomb_account, fast = sys.argv[1:5]
    print(json.dumps(asyncio.run(main(url, warm_account, bomb_account, fast == "1"))))
