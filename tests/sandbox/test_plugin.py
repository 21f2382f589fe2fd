"""The pytest plugin shipped with the package (entry point ``pytest11``), used as a
user would: by naming its fixtures, here and in a user's project run by each async
plugin a user may have (or none)."""

from __future__ import annotations

import pytest

from thingspace_callbacks import AsyncThingSpaceClient
from thingspace_callbacks.sandbox import Sandbox, SandboxServer

from .._user_project import UNRELATED_PLUGINS

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


@pytest.mark.integration
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


# -- in a user's project, under each async test runner -------------------------------------
# (With none at all, and an async test left to pytest: tests/test_docs_examples.py runs
# the sandbox guide's example so.)

USER_TESTS = """
import pytest
import sniffio

{module}


{mark}
@pytest.mark.thingspace_sandbox(require_auth=False)
async def test_async_with_the_client(thingspace_client, thingspace_sandbox):
    assert sniffio.current_async_library() in {libraries!r}
    async with thingspace_client:
        await thingspace_client.location.register(
            "0000123456-00001", service="Location", url="https://example.com/hooks"
        )
    assert [r.account for r in thingspace_sandbox.registrations()] == ["0000123456-00001"]
    assert thingspace_sandbox.calls["token"] == 0


def test_sync_with_the_sandbox(thingspace_sandbox):
    assert thingspace_sandbox.registrations() == []
"""
ON_TRIO = "@pytest.fixture\ndef anyio_backend():\n    return 'trio'"
PYTEST_ASYNCIO = ["-o", "asyncio_default_fixture_loop_scope=function"]


@pytest.mark.parametrize(
    ("options", "module", "mark", "libraries", "passed"),
    [
        pytest.param(
            [*PYTEST_ASYNCIO, "-o", "asyncio_mode=auto"],
            "",
            "",
            ["asyncio"],
            2,
            id="pytest-asyncio-auto",
        ),
        pytest.param(
            PYTEST_ASYNCIO, "", "@pytest.mark.asyncio", ["asyncio"], 2, id="pytest-asyncio-marker"
        ),
        # anyio's own anyio_backend: every backend installed, asyncio and trio here.
        pytest.param(
            ["-p", "no:asyncio", "-o", "anyio_mode=auto"],
            "",
            "",
            ["asyncio", "trio"],
            3,
            id="anyio-auto",
        ),
        pytest.param(
            ["-p", "no:asyncio"], ON_TRIO, "@pytest.mark.anyio", ["trio"], 2, id="anyio-trio"
        ),
    ],
)
def test_the_fixtures_work_under_every_async_plugin(
    pytester: pytest.Pytester,
    options: list[str],
    module: str,
    mark: str,
    libraries: list[str],
    passed: int,
) -> None:
    pytester.makepyfile(test_user=USER_TESTS.format(module=module, mark=mark, libraries=libraries))

    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", *UNRELATED_PLUGINS, "-W", "error", *options
    )  # fmt: skip

    result.assert_outcomes(passed=passed)
    assert "not natively supported" not in result.stdout.str()
