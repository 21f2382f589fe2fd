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
from contextlib import contextmanager
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
    """``-n auto`` starts two workers per core: many integration tests spend seconds
    waiting (a lock or an arq job to lapse, a process to exit) with the core idle, which
    the other worker fills (on 2 cores: about 105 s with 4 workers, 125 s with 3).
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides when set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 2 * (cores or 1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the ``slow`` tests first, then the other ``integration`` ones, the quick unit
    tests last, and deal them out to xdist's workers: its work-stealing scheduler hands
    each worker a contiguous slice of this order at the start and steals from the ends
    of the slices, so the slow tests are spread over every slice's front (in the plain
    sorted order they would all fall to the first worker, one after the other) and
    the short tests at the ends even out when each worker finishes. Every worker
    computes the same order, as xdist requires."""
    items.sort(
        key=lambda item: (
            item.get_closest_marker("slow") is None,
            item.get_closest_marker("integration") is None,
        )
    )
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    if workers > 1:
        items[:] = [item for first in range(workers) for item in items[first::workers]]


@pytest.fixture
def anyio_backend() -> str:
    """asyncio, unless a directory or module parametrizes its own (anyio's default
    would run every test under every installed backend)."""
    return "asyncio"


@contextmanager
def _sockets_refused(item: pytest.Item) -> Iterator[None]:
    """Refuse internet sockets to a test without the ``integration`` marker, so the
    marker keeps meaning "opens sockets" (``-m "not integration"`` runs with no network
    at all). Both the call and the test fail: code under test may catch the error and
    carry on."""
    if item.get_closest_marker("integration") is not None:
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

    with pytest.MonkeyPatch.context() as patch:
        for name in ("connect", "connect_ex", "bind"):
            patch.setattr(socket.socket, name, refuse(name, getattr(socket.socket, name)))
        yield
    if attempts:
        pytest.fail(
            f"{item.nodeid} opened sockets ({', '.join(attempts)}); "
            "mark it @pytest.mark.integration",
            pytrace=False,
        )


# Around each phase, not in a fixture: a module- or session-scoped fixture that a test
# sets up (a server on a port) is set up before any function-scoped fixture runs.
@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with _sockets_refused(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with _sockets_refused(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    with _sockets_refused(item):
        return (yield)


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
