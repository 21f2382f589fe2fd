"""Without OpenTelemetry's API nothing of it is imported and nothing changes; with the
API but no SDK, importing the package still imports none of it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

WITHOUT_THE_API = textwrap.dedent(
    """
    import sys

    sys.modules["opentelemetry"] = None  # as if opentelemetry-api were not installed

    import anyio

    from thingspace_callbacks._telemetry import instruments_for
    from thingspace_callbacks.receiver import Receiver
    from thingspace_callbacks.sandbox import Sandbox


    async def main():
        async with Sandbox().client() as client:
            await client.location.register("0252012345-00001", service="Location",
                                           url="https://hooks.example.com/location")
            report = await client.fan_out(["0252012345-00001"], client.location.list).collect()
            assert len(report.succeeded) == 1
        Receiver(verify=[])


    anyio.run(main)
    assert instruments_for(None) is None
    loaded = sorted(name for name, module in sys.modules.items()
                    if name.startswith("opentelemetry") and module is not None)
    print(loaded)
    """
)

IMPORT_ONLY = textwrap.dedent(
    """
    import sys

    import thingspace_callbacks
    from thingspace_callbacks import AsyncThingSpaceClient
    from thingspace_callbacks.telemetry import Telemetry

    print(sorted(name for name in sys.modules if name.startswith("opentelemetry")))
    """
)


def run(program: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_without_the_api_calls_fan_outs_and_receivers_work_and_import_none_of_it() -> None:
    assert run(WITHOUT_THE_API) == "[]"


def test_importing_the_package_imports_none_of_opentelemetry() -> None:
    assert run(IMPORT_ONLY) == "[]"
