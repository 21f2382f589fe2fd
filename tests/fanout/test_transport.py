"""Transport choice: httpx's own by default (so respx sees every request); with
``speedups=True``, aiohttp under asyncio and httpx's own under trio; and aiohttp
failures mapped to precise errors."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import aiohttp
import anyio
import httpx
import pytest
import respx

from thingspace_callbacks import (
    APIConnectionError,
    APITimeoutError,
    AsyncThingSpaceClient,
    InvalidArgumentError,
    ThingSpaceAuth,
)
from thingspace_callbacks._aiohttp import _translate
from thingspace_callbacks._transport import (
    AutoTransport,
    default_ssl_context,
    fast_transport_available,
)

pytestmark = pytest.mark.anyio

LISTENER = "https://listener.example.com/hooks/location"


def selected(client: AsyncThingSpaceClient) -> str | None:
    transport = client.http_client._transport
    assert isinstance(transport, AutoTransport)
    return transport.selected


@pytest.mark.integration
async def test_the_transport_follows_the_running_library(
    api_server: str, anyio_backend: str
) -> None:
    assert fast_transport_available()
    async with AsyncThingSpaceClient(
        base_url=api_server, auth=ThingSpaceAuth(access_token="token"), speedups=True
    ) as client:
        assert selected(client) is None  # nothing chosen before the first request
        registration = await client.location.register("acct-1", service="Location", url=LISTENER)
        assert registration.account_id == "acct-1"
        assert selected(client) == ("aiohttp" if anyio_backend == "asyncio" else "httpx")
        # Many requests at once share the pool on either transport.
        async with anyio.create_task_group() as group:
            for n in range(20):
                group.start_soon(client.location.list, f"acct-{n}")
    assert client.http_client.is_closed


@pytest.mark.integration
async def test_clients_share_one_tls_context(api_server: str, anyio_backend: str) -> None:
    # Loading the CA bundle costs ~0.1 s; a process pays it once, not per client.
    contexts = []
    for _ in range(2):
        async with AsyncThingSpaceClient(
            base_url=api_server, auth=ThingSpaceAuth(access_token="token"), speedups=True
        ) as client:
            await client.location.list("acct-tls")
            transport = client.http_client._transport
            assert isinstance(transport, AutoTransport)
            chosen: Any = transport._transport
            contexts.append(
                chosen.ssl_context  # httpx-aiohttp keeps it here
                if selected(client) == "aiohttp"
                else chosen._pool._ssl_context
            )
    assert contexts[0] is contexts[1] is default_ssl_context()


@pytest.mark.integration
def test_a_client_built_outside_any_event_loop_works_under_both(api_server: str) -> None:
    for backend in ("asyncio", "trio"):
        client = AsyncThingSpaceClient(
            base_url=api_server, auth=ThingSpaceAuth(access_token="token"), speedups=True
        )

        async def use(client: AsyncThingSpaceClient = client, backend: str = backend) -> None:
            async with client:
                listeners = await client.location.list("acct-outside")
                assert [listener.url for listener in listeners] == [
                    "https://listener.example.com/hooks"
                ]
                assert selected(client) == ("aiohttp" if backend == "asyncio" else "httpx")

        anyio.run(use, backend=backend)


async def test_by_default_httpx_transport_so_respx_sees_every_request(
    anyio_backend: str,
) -> None:
    with respx.mock(base_url="https://thingspace.verizon.com/api") as router:
        route = router.get("/loc/v1/callbacks/acct").respond(json=[])
        async with AsyncThingSpaceClient(auth=ThingSpaceAuth(access_token="token")) as client:
            assert await client.location.list("acct") == []
            assert isinstance(client.http_client._transport, httpx.AsyncHTTPTransport)
        assert route.call_count == 1


@pytest.mark.integration
async def test_default_transport_shares_the_tls_context(api_server: str) -> None:
    async with AsyncThingSpaceClient(
        base_url=api_server, auth=ThingSpaceAuth(access_token="token")
    ) as client:
        assert await client.location.list("acct") is not None
        transport: Any = client.http_client._transport
        assert transport._pool._ssl_context is default_ssl_context()


def test_speedups_without_the_extra_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("thingspace_callbacks._connect.fast_transport_available", lambda: False)
    with pytest.raises(InvalidArgumentError, match=r"thingspace-callbacks\[speedups\]"):
        AsyncThingSpaceClient(speedups=True)


def test_speedups_with_a_client_of_your_own_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="http_client"):
        AsyncThingSpaceClient(speedups=True, http_client=httpx.AsyncClient())


# -- aiohttp failures, through the SDK (asyncio only: aiohttp needs it) -----------------


@pytest.fixture
def refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: connecting is refused


@pytest.fixture
def hanging_up_port() -> Iterator[int]:
    """A server that reads each request and closes the connection without answering."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.recv(65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    server.close()


@pytest.mark.integration
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_refused_connection_is_a_connection_error_not_a_timeout(refused_port: int) -> None:
    async with AsyncThingSpaceClient(
        base_url=f"http://127.0.0.1:{refused_port}/api",
        max_retries=0,
        speedups=True,
        auth=ThingSpaceAuth(access_token="token"),
    ) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.location.list("acct")
        assert selected(client) == "aiohttp"
    assert not isinstance(caught.value, APITimeoutError)
    assert "ConnectError" in caught.value.message


@pytest.mark.integration
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_server_hanging_up_is_a_connection_error(hanging_up_port: int) -> None:
    async with AsyncThingSpaceClient(
        base_url=f"http://127.0.0.1:{hanging_up_port}/api",
        max_retries=0,
        speedups=True,
        auth=ThingSpaceAuth(access_token="token"),
    ) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.location.list("acct")
        assert selected(client) == "aiohttp"
    assert not isinstance(caught.value, APITimeoutError)
    assert "RemoteProtocolError" in caught.value.message


@pytest.mark.integration
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_slow_answer_is_a_timeout(api_server: str) -> None:
    async with AsyncThingSpaceClient(
        base_url=api_server,
        max_retries=0,
        timeout=0.2,
        auth=ThingSpaceAuth(access_token="token"),
        speedups=True,
    ) as client:
        with pytest.raises(APITimeoutError):
            await client.location.register("slow-1", service="Location", url=LISTENER)
        assert selected(client) == "aiohttp"


def test_aiohttp_failures_map_to_the_most_specific_httpx_error() -> None:
    key = aiohttp.client_reqrep.ConnectionKey("127.0.0.1", 1, False, True, None, None, None)
    refused = aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "refused"))
    assert _translate(refused) is httpx.ConnectError
    assert _translate(aiohttp.ConnectionTimeoutError()) is httpx.ConnectTimeout
    assert _translate(aiohttp.SocketTimeoutError()) is httpx.ReadTimeout
    assert _translate(TimeoutError()) is httpx.ReadTimeout
    assert _translate(aiohttp.ServerDisconnectedError()) is httpx.RemoteProtocolError
    assert _translate(aiohttp.ClientPayloadError()) is httpx.ReadError
    assert _translate(aiohttp.ClientOSError()) is httpx.ReadError
    assert _translate(aiohttp.InvalidURL("x")) is httpx.UnsupportedProtocol
    assert _translate(aiohttp.ClientError()) is httpx.NetworkError
