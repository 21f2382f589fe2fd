"""Import time: what a program pays, in a fresh interpreter, to import the SDK, to build
a client, and to make its first call, next to its dependencies alone.

Every figure is the median wall time of ``python -c CODE`` in fresh interpreters (the
commands take turns, so machine load hits them alike), interpreter start-up included.
Bytecode is compiled once, into a temporary cache, as for an installed package (pip
compiles it at install): with ``PYTHONDONTWRITEBYTECODE`` set, every run would compile
the SDK's sources again and measure the compiler.

Target (issue #6): ``import thingspace_callbacks`` at most 50 ms above
``import httpx, pydantic, anyio, tenacity``.

    python -m benchmarks.bench_import                 # 21 runs of each
    python -m benchmarks.bench_import --quick
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from ._common import machine

TARGET_MS = 50

DEPENDENCIES = "import httpx, pydantic, anyio, tenacity"
SDK = "import thingspace_callbacks"
CLIENT = "from thingspace_callbacks import AsyncThingSpaceClient; AsyncThingSpaceClient()"
CLIENT_WITH_CREDENTIALS = (
    "from thingspace_callbacks import AsyncThingSpaceClient; AsyncThingSpaceClient("
    "client_id='id', client_secret='secret', username='user', password='password')"
)

_MOCK = """\
import asyncio
import httpx
ANSWER = b'[{"name": "Location", "url": "https://example.com/hooks"}]'
def answer(request):
    return httpx.Response(200, content=ANSWER, headers={"Content-Type": "application/json"})
"""

FIRST_CALL = (
    _MOCK
    + """\
from thingspace_callbacks import AsyncThingSpaceClient, ThingSpaceAuth
async def main():
    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    auth = ThingSpaceAuth(access_token="a", m2m_token="m")
    async with AsyncThingSpaceClient(http_client=http, auth=auth) as client:
        await client.location.list("0252012345-00001")
asyncio.run(main())
"""
)
"""The SDK's first call, answered in process: imports, client, the Location models and
their validator, one request through the pipeline, the answer parsed."""

BARE_FIRST_CALL = (
    _MOCK
    + """\
import pydantic
class LocationCallback(pydantic.BaseModel):
    name: str
    url: str
async def main():
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
        response = await http.get(
            "https://thingspace.verizon.com/api/loc/v1/callbacks/0252012345-00001",
            headers={"Authorization": "Bearer a", "VZ-M2M-Token": "m"},
        )
        response.raise_for_status()
        pydantic.TypeAdapter(list[LocationCallback]).validate_json(response.content)
asyncio.run(main())
"""
)
"""The same call written by hand with httpx and one pydantic model."""

COMMANDS = {
    "deps": DEPENDENCIES,
    "import": SDK,
    "client": CLIENT,
    "client_credentials": CLIENT_WITH_CREDENTIALS,
    "bare_first_call": BARE_FIRST_CALL,
    "first_call": FIRST_CALL,
}


def _environment(pycache: str) -> dict[str, str]:
    # THINGSPACE_* credentials would change what `AsyncThingSpaceClient()` builds.
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("THINGSPACE_") and name != "PYTHONDONTWRITEBYTECODE"
    }
    env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def _wall(code: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (3 runs)")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    print(f"# import: {runs} fresh interpreters each; {machine()}")
    times: dict[str, list[float]] = {key: [] for key in COMMANDS}
    with tempfile.TemporaryDirectory(prefix="bench-import-pycache-") as pycache:
        env = _environment(pycache)
        for code in COMMANDS.values():
            _wall(code, env)  # warm the file cache and compile the bytecode
        for _ in range(runs):
            for key, code in COMMANDS.items():
                times[key].append(_wall(code, env))
    ms = {key: statistics.median(values) * 1000 for key, values in times.items()}
    deps = ms["deps"]
    rows = [
        ("import httpx, pydantic, anyio, tenacity", "deps", None),
        ("import thingspace_callbacks", "import", f"(target <= +{TARGET_MS} ms)"),
        ("... AsyncThingSpaceClient()  (no credentials)", "client", ""),
        ("... AsyncThingSpaceClient(client_id=..., username=...)", "client_credentials", ""),
    ]
    print(f"{'python -c ...':58} {'median':>9} {'vs deps':>10}")
    for label, key, note in rows:
        delta = "" if note is None else f"{ms[key] - deps:+8.1f} ms {note}"
        print(f"{label:58} {ms[key]:6.1f} ms {delta}")
    print(
        f"{'first call, by hand (httpx + one pydantic model)':58} {ms['bare_first_call']:6.1f} ms"
    )
    print(
        f"{'first call, SDK (import, client, list(), parse)':58} {ms['first_call']:6.1f} ms "
        f"{ms['first_call'] - ms['bare_first_call']:+8.1f} ms vs by hand"
    )


if __name__ == "__main__":
    main()
