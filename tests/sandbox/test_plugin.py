"""The pytest plugin shipped with the package (entry point ``pytest11``), used as a
user would: by naming its fixtures."""

from __future__ import annotations

import pytest

from thingspace_callbacks import AsyncThingSpaceClient
from thingspace_callbacks.sandbox import Sandbox, SandboxServer

ACCOUNT = "0000123456-00001"


async def test_client_fixture_is_bound_to_the_sandbox_fixture(
    thingspace_sandbox: Sandbox, thingspace_client: AsyncThingSpaceClient
) -> None:
    async with thingspace_client:
        await thingspace_client.location.register(
            ACCOUNT, service="Location", url="https://example.com/hooks"
        )

    (registration,) = thingspace_sandbox.registrations("location")
    assert registration.account == ACCOUNT
    assert thingspace_sandbox.calls["logout"] == 1


async def test_each_test_gets_a_fresh_sandbox(thingspace_sandbox: Sandbox) -> None:
    assert thingspace_sandbox.registrations() == []
    assert thingspace_sandbox.require_auth is True


@pytest.mark.thingspace_sandbox(require_auth=False, shared_secret="k")
async def test_marker_configures_the_sandbox(
    thingspace_sandbox: Sandbox, thingspace_client: AsyncThingSpaceClient
) -> None:
    raw = await thingspace_client.location.with_raw_response.register(
        ACCOUNT, service="Location", url="https://example.com/hooks"
    )

    assert thingspace_sandbox.require_auth is False
    assert raw.headers["X-ThingSpace-Shared-Secret"] == "k"
    assert thingspace_sandbox.calls["token"] == 0


async def test_server_fixture_serves_the_sandbox_on_loopback(
    thingspace_sandbox: Sandbox, thingspace_sandbox_server: SandboxServer
) -> None:
    assert thingspace_sandbox_server.base_url.startswith("http://127.0.0.1:")
    assert thingspace_sandbox_server.base_url.endswith("/api")

    async with thingspace_sandbox_server.client() as client:
        await client.firmware.register(ACCOUNT, url="https://example.com/fota")

    assert thingspace_sandbox.registrations("firmware")[0].url == "https://example.com/fota"


def test_fixtures_work_in_plain_synchronous_tests(thingspace_client: AsyncThingSpaceClient) -> None:
    assert thingspace_client.base_url == "http://sandbox.thingspace.test/api"


def test_loading_the_plugin_imports_neither_the_sandbox_nor_starlette() -> None:
    import subprocess
    import sys

    code = (
        "import sys, thingspace_callbacks.pytest_plugin;"
        "print(sorted(m for m in ('starlette', 'uvicorn', 'thingspace_callbacks.sandbox')"
        " if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == "[]"
