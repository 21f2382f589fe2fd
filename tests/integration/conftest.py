"""Integration fixtures: the suite's real server (:func:`tests._servers.serve`) running
a fault app.

``fault_server`` is shared by the whole session (started once, stopped at the end) and
reset before each test.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from thingspace_callbacks import AsyncThingSpaceClient, RetryPolicy, ThingSpaceAuth
from thingspace_callbacks._constants import DEFAULT_TIMEOUT

from .._servers import serve
from ._server import FaultServer

FAST_BACKOFF = RetryPolicy(initial_backoff=0.01, max_backoff=0.05)
"""Real (short) backoff waits, so retries cross the socket quickly."""


@pytest.fixture(scope="session")
def _fault_server_running() -> Iterator[FaultServer]:
    app = FaultServer()
    with serve(app) as url:
        app.url = url
        yield app


@pytest.fixture
def fault_server(_fault_server_running: FaultServer) -> Iterator[FaultServer]:
    """The fault server, with nothing planned and nothing seen."""
    _fault_server_running.reset()
    yield _fault_server_running
    _fault_server_running.reset()


@pytest.fixture(scope="session")
def _ssl_context() -> ssl.SSLContext:
    # Building one per httpx client costs ~0.1 s; the tests only talk plain HTTP anyway.
    return httpx.create_ssl_context()


@pytest.fixture
async def live_client(fault_server: FaultServer) -> AsyncIterator[AsyncThingSpaceClient]:
    """A client with its default transport talking to ``fault_server``, with fixed
    tokens and short backoff waits."""
    async with AsyncThingSpaceClient(
        base_url=fault_server.url,
        retry_policy=FAST_BACKOFF,
        auth=ThingSpaceAuth(access_token="it-access", m2m_token="it-m2m"),
    ) as client:
        yield client


@pytest.fixture(params=["default-transport", "httpx-transport"])
async def each_transport_client(
    request: pytest.FixtureRequest, fault_server: FaultServer, _ssl_context: ssl.SSLContext
) -> AsyncIterator[AsyncThingSpaceClient]:
    """Like ``live_client``, once with the client's own transport (aiohttp under asyncio
    when the ``speedups`` extra is installed) and once with httpx's (httpcore)."""
    http_client = (
        httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, verify=_ssl_context)
        if request.param == "httpx-transport"
        else None
    )
    async with AsyncThingSpaceClient(
        base_url=fault_server.url,
        retry_policy=FAST_BACKOFF,
        http_client=http_client,
        auth=ThingSpaceAuth(access_token="it-access", m2m_token="it-m2m"),
    ) as client:
        yield client
    if http_client is not None:
        await http_client.aclose()
