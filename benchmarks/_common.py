"""What the benchmark scripts share: the request every client sends, the bare httpx
clients they are compared with, and figure formatting."""

from __future__ import annotations

import platform
import re
import subprocess
import sys
from collections.abc import Iterator

import httpx

ACCOUNT_FORMAT = "{:010d}-00001"
LISTENER_URL = "https://listener.example.com/hooks/location"
BODY = {"name": "Location", "url": LISTENER_URL}
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)
TOKEN = "bench-token"


def accounts(count: int) -> Iterator[str]:
    """``count`` distinct account names, generated lazily."""
    for number in range(count):
        yield ACCOUNT_FORMAT.format(number)


def bare_client(*, fast: bool) -> httpx.AsyncClient:
    """A plain ``httpx.AsyncClient``, on httpx's transport or on httpx-aiohttp's."""
    if fast:
        import httpx_aiohttp

        return httpx_aiohttp.HttpxAiohttpClient(limits=LIMITS)
    return httpx.AsyncClient(limits=LIMITS)


async def bare_register(client: httpx.AsyncClient, api_root: str, account: str) -> object:
    """What a hand-written client does for one registration: POST the JSON body with
    the bearer token, fail on an error status, parse the JSON answer."""
    response = await client.post(
        f"{api_root}/loc/v1/callbacks/{account}",
        json=BODY,
        headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"},
    )
    response.raise_for_status()
    return response.json()


def machine() -> str:
    """One line describing where the figures were taken."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import os

    return (
        f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, httpx {httpx.__version__}"
    )


def instructions(module: str, *arguments: str) -> int:
    """The CPU instructions (user space, counted by valgrind's callgrind) of one
    ``python -m MODULE ARGUMENTS...`` process, start-up included."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        module,
        *arguments,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stderr
    found = re.search(r"Collected : (\d+)", output)
    if found is None:
        raise RuntimeError(f"valgrind printed no count:\n{output[-2000:]}")
    return int(found.group(1))
