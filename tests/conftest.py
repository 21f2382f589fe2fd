"""Shared fixtures: a respx router on the production root, and clients bound to it.

Async tests run on pytest-asyncio (auto mode), except those marked ``anyio``: what
claims to work under trio runs under anyio's plugin on every ``anyio_backend``. Auto
mode would otherwise claim those tests too and run them on asyncio whatever backend
they ask for, so the hook below hands them back to anyio.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any

import httpx
import pytest
import respx
from pytest_asyncio.plugin import PytestAsyncioFunction

from thingspace_callbacks import AsyncThingSpaceClient, ThingSpaceAuth

BASE_URL = "https://thingspace.verizon.com/api"


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> Generator[None, Any, None]:
    outcome = yield
    result = outcome.get_result()
    if not result:
        return
    items = result if isinstance(result, list) else [result]
    restored = []
    for item in items:
        if isinstance(item, PytestAsyncioFunction) and item.get_closest_marker("anyio"):
            item = pytest.Function.from_parent(
                item.parent,
                name=item.name,
                callspec=getattr(item, "callspec", None),
                callobj=item.obj,
                fixtureinfo=item._fixtureinfo,
                originalname=item.originalname,
            )
        restored.append(item)
    outcome.force_result(restored)


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
