"""Import time: ``import thingspace_callbacks`` against importing its dependencies
(httpx, pydantic, anyio, tenacity) alone, each in a fresh interpreter.

Printed: the median wall time of each (fresh processes, interleaved) and, measured
inside one process, what importing the SDK adds once its dependencies are loaded.
Target: at most 50 ms above the dependencies.

    python -m benchmarks.bench_import                 # 21 runs of each
    python -m benchmarks.bench_import --quick
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from ._common import machine

DEPENDENCIES = "import httpx, pydantic, anyio, tenacity"
SDK = "import thingspace_callbacks"
PYDANTIC_MODEL = "class M(pydantic.BaseModel):\n    a: int\n"
"""``import pydantic`` is lazy: the model machinery (most of pydantic's import time)
loads with the first model. Any program that uses pydantic pays for it."""
INCREMENT = f"import time\n{DEPENDENCIES}\nt = time.perf_counter()\n{SDK}"
INCREMENT_WITH_MODELS = (
    f"import time\n{DEPENDENCIES}\n{PYDANTIC_MODEL}t = time.perf_counter()\n{SDK}"
)
TARGET_MS = 50


def _wall(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def _in_process(code: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nprint(time.perf_counter() - t)"],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--quick", action="store_true", help="a tiny smoke run (3 runs)")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    print(f"# import: {runs} fresh interpreters each; {machine()}")
    _wall(SDK)  # warm the file cache and the bytecode
    deps: list[float] = []
    sdk: list[float] = []
    increments: list[float] = []
    with_models: list[float] = []
    for _ in range(runs):
        deps.append(_wall(DEPENDENCIES))
        sdk.append(_wall(SDK))
        increments.append(_in_process(INCREMENT))
        with_models.append(_in_process(INCREMENT_WITH_MODELS))
    dep_ms, sdk_ms = statistics.median(deps) * 1000, statistics.median(sdk) * 1000
    print(f"python -c '{DEPENDENCIES}': {dep_ms:6.1f} ms (median)")
    print(f"python -c '{SDK}': {sdk_ms:6.1f} ms (median)")
    print(
        f"difference {sdk_ms - dep_ms:+.1f} ms; in one process, the SDK's import after its "
        f"dependencies: {statistics.median(increments) * 1000:.1f} ms   "
        f"(target <= +{TARGET_MS} ms)"
    )
    print(
        "the SDK's import once pydantic's model machinery is loaded (any pydantic program): "
        f"{statistics.median(with_models) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
