"""Shared fixtures: a respx router on the production root, clients bound to it, and the
guard that keeps sockets to the tests marked ``integration``.

Every ``async def`` test runs under anyio's pytest plugin (``anyio_mode = "auto"`` in
pyproject), on asyncio unless its directory or module asks for more: what claims to
work under trio overrides ``anyio_backend`` with ``params=["asyncio", "trio"]``.
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx

from thingspace_callbacks import AsyncThingSpaceClient, ThingSpaceAuth

# The shipped plugin is tested as users run it: in a project of their own.
pytest_plugins = ["pytester"]

BASE_URL = "https://thingspace.verizon.com/api"

INTERNET_FAMILIES = frozenset({socket.AF_INET, socket.AF_INET6})


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` starts one worker more than there are cores: many integration tests
    spend seconds waiting (a lock to lapse, a process to exit) with the core idle, which
    a spare worker fills. ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides when set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the ``slow`` tests first, then the other ``integration`` ones, the quick unit
    tests last: xdist's workers start on the long waits, and the many short tests left
    at the end even out when each worker finishes (a slow test started last would keep
    one worker busy while the others sit idle). The order within each group stays."""
    items.sort(
        key=lambda item: (
            item.get_closest_marker("slow") is None,
            item.get_closest_marker("integration") is None,
        )
    )


@pytest.fixture
def anyio_backend() -> str:
    """asyncio, unless a directory or module parametrizes its own (anyio's default
    would run every test under every installed backend)."""
    return "asyncio"


@pytest.fixture(autouse=True)
def _sockets_only_in_integration_tests(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Fail a test that connects or binds an internet socket without the ``integration``
    marker, so the marker keeps meaning "opens sockets" (``-m "not integration"`` runs
    with no network at all). Both the call and the test fail: code under test may catch
    the error and carry on."""
    if request.node.get_closest_marker("integration") is not None:
        yield
        return
    attempts: list[str] = []

    def refuse(name: str, original: Any) -> Any:
        def guarded(self: socket.socket, address: Any, *args: Any) -> Any:
            if self.family not in INTERNET_FAMILIES:
                return original(self, address, *args)
            attempts.append(f"{name}({address!r})")
            raise OSError(f"{name}({address!r}) in a test not marked integration")

        return guarded

    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, refuse(name, getattr(socket.socket, name)))
    yield
    if attempts:
        pytest.fail(
            f"{request.node.nodeid} opened sockets ({', '.join(attempts)}); "
            "mark it @pytest.mark.integration",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def _no_thingspace_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's own credentials or root must never leak into a test.
    for name in (
        "THINGSPACE_BASE_URL",
        "THINGSPACE_CLIENT_ID",
        "THINGSPACE_CLIENT_SECRET",
        "THINGSPACE_USERNAME",
        "THINGSPACE_PASSWORD",
        "THINGSPACE_ACCESS_TOKEN",
        "THINGSPACE_M2M_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _fresh_process_credentials() -> Iterator[None]:
    """Every test starts and ends with no credentials shared by the process's clients:
    clients of one test must not find the tokens another test's fake server issued
    under the same credentials and root (a logout left lingering is dropped, not
    sent)."""
    from thingspace_callbacks.testing import reset_shared_credentials

    reset_shared_credentials()
    yield
    reset_shared_credentials()


@pytest.fixture
def mock_api() -> Iterator[respx.MockRouter]:
    """A respx router for the production root; unmatched requests fail the test."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture(scope="session")
def ssl_context() -> ssl.SSLContext:
    """One TLS context for every test client: httpx builds a new one (~0.1 s) per client."""
    return httpx.create_ssl_context()


@pytest.fixture
async def client(
    mock_api: respx.MockRouter, ssl_context: ssl.SSLContext
) -> AsyncIterator[AsyncThingSpaceClient]:
    """A client with fixed tokens, talking to ``mock_api``."""
    async with (
        httpx.AsyncClient(verify=ssl_context) as http_client,
        AsyncThingSpaceClient(
            http_client=http_client,
            auth=ThingSpaceAuth(access_token="test-access", m2m_token="test-m2m"),
        ) as c,
    ):
        yield c
