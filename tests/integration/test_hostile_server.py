"""Against a broken or hostile server on a real socket: no call hangs or fills the
memory, only a 2xx is a result, and no credential leaves the configured origin."""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator

import anyio
import httpx
import pytest

from thingspace_callbacks import (
    APITimeoutError,
    AsyncThingSpaceClient,
    AuthenticationError,
    RedirectError,
    ResponseTooLargeError,
    ThingSpaceAuth,
    ThingSpaceError,
)

from ._hostile import HostileServer, hostile_server

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

ACCOUNT = "0252012345-00001"
TOKENS = ThingSpaceAuth(access_token="bearer-secret", m2m_token="session-secret")


@pytest.fixture(scope="module")
def server() -> Iterator[HostileServer]:
    with hostile_server() as running:
        yield running


@pytest.fixture(scope="module")
def other_host() -> Iterator[HostileServer]:
    """A second origin that redirects point at: it must never hear from the SDK."""
    with hostile_server() as running:
        yield running


def _client(
    server: HostileServer,
    behaviour: str,
    *,
    timeout: float = 10.0,
    speedups: bool = False,
    max_response_size: int | None = 4 * 1024 * 1024,
    http_client: httpx.AsyncClient | None = None,
) -> AsyncThingSpaceClient:
    return AsyncThingSpaceClient(
        base_url=f"{server.url}/api/{behaviour}",
        auth=TOKENS,
        max_retries=0,
        timeout=timeout,
        speedups=speedups,
        max_response_size=max_response_size,
        http_client=http_client,
    )


TRANSPORTS = [pytest.param(False, id="httpx"), pytest.param(True, id="speedups")]


@pytest.mark.parametrize("speedups", TRANSPORTS)
async def test_an_endless_body_stops_at_the_size_limit(
    server: HostileServer, speedups: bool
) -> None:
    before = _peak_rss_mib()
    async with _client(server, "endless", speedups=speedups) as client:
        with anyio.fail_after(20), pytest.raises(ResponseTooLargeError) as caught:
            await client.location.list(ACCOUNT)
    assert caught.value.limit == 4 * 1024 * 1024
    assert caught.value.status_code == 200
    assert caught.value.body is None
    # Nothing past the limit was kept: the process grew by a few MiB, not by gigabytes.
    assert _peak_rss_mib() - before < 64


@pytest.mark.parametrize("speedups", TRANSPORTS)
async def test_a_trickled_body_times_out_after_the_timeout_per_attempt(
    server: HostileServer, speedups: bool
) -> None:
    async with _client(server, "trickle", timeout=1.5, speedups=speedups) as client:
        started = time.monotonic()
        with anyio.fail_after(20), pytest.raises(APITimeoutError) as caught:
            await client.location.list(ACCOUNT, max_retries=1)
    elapsed = time.monotonic() - started
    # Two attempts of about 1.5 s each (and a short backoff): never the whole trickle.
    assert 2.9 < elapsed < 6.0
    assert caught.value.attempts == 2
    assert "longer than 1.5 s" in str(caught.value)


@pytest.mark.parametrize("behaviour", ["huge", "huge-chunked"])
async def test_a_huge_valid_body_is_refused_not_buffered(
    server: HostileServer, behaviour: str
) -> None:
    before = _peak_rss_mib()
    async with _client(server, behaviour) as client:
        with pytest.raises(ResponseTooLargeError, match="larger than the limit"):
            await client.location.list(ACCOUNT)
    assert _peak_rss_mib() - before < 64


async def test_the_size_limit_is_settable_per_client_and_per_copy(server: HostileServer) -> None:
    async with _client(server, "plain", max_response_size=1) as client:
        with pytest.raises(ResponseTooLargeError):
            await client.location.list(ACCOUNT)
        assert await client.with_options(max_response_size=None).location.list(ACCOUNT) == []
        assert await client.location.list(ACCOUNT, max_response_size=2) == []


@pytest.mark.parametrize("status", ["301", "302", "303", "307", "308"])
async def test_every_redirect_is_an_error_naming_status_and_location(
    server: HostileServer, status: str
) -> None:
    async with _client(server, f"redirect-{status}") as client:
        # Both would have "succeeded" before: an empty list, and {"success": true}.
        with pytest.raises(RedirectError) as listed:
            await client.connectivity.list(ACCOUNT)
        with pytest.raises(RedirectError) as removed:
            await client.location.unregister(ACCOUNT, service="Location")
    for caught in (listed, removed):
        assert caught.value.status_code == int(status)
        assert caught.value.location is not None
        assert caught.value.location.startswith(server.url)
        assert status in str(caught.value)
        assert caught.value.location in str(caught.value)


async def test_a_redirect_loop_through_a_following_client_is_one_typed_error(
    server: HostileServer,
) -> None:
    async with httpx.AsyncClient(follow_redirects=True) as http_client:
        client = _client(server, "redirect-302", http_client=http_client)
        with pytest.raises(RedirectError):
            await client.location.list(ACCOUNT)


@pytest.mark.parametrize("status", ["301", "302", "307", "308"])
async def test_credentials_never_follow_a_redirect_to_another_host(
    server: HostileServer, other_host: HostileServer, status: str
) -> None:
    server.redirect_to = other_host.url
    other_host.received.clear()
    try:
        async with httpx.AsyncClient(follow_redirects=True) as http_client:
            client = _client(server, f"redirect-{status}", http_client=http_client)
            with pytest.raises(RedirectError) as caught:
                await client.location.register(
                    ACCOUNT, service="Location", url="https://listener.example.com/h"
                )
    finally:
        server.redirect_to = ""
    assert other_host.received == []  # no request at all, so no token either
    assert caught.value.location is not None
    assert caught.value.location.startswith(other_host.url)
    sent = server.received[-1]
    assert (sent.headers["authorization"], sent.headers["vz-m2m-token"]) == (
        "Bearer bearer-secret",
        "session-secret",
    )
    assert "secret" not in str(caught.value)
    assert "secret" not in repr(caught.value.request.headers)


async def test_a_redirecting_token_endpoint_is_an_error_and_its_token_is_never_used(
    server: HostileServer, other_host: HostileServer
) -> None:
    server.redirect_to = other_host.url
    other_host.received.clear()
    try:
        async with httpx.AsyncClient(follow_redirects=True) as http_client:
            client = AsyncThingSpaceClient(
                base_url=f"{server.url}/api/redirect-307",
                client_id="app-key",
                client_secret="app-secret",
                http_client=http_client,
                max_retries=0,
            )
            with pytest.raises(AuthenticationError, match="307"):
                await client.location.list(ACCOUNT)
    finally:
        server.redirect_to = ""
    assert other_host.received == []  # the client credentials went nowhere else
    assert not any(r.headers.get("authorization") == "Bearer stolen-token" for r in server.received)


async def test_every_failure_is_ours(server: HostileServer) -> None:
    async with _client(server, "endless", timeout=0.5, max_response_size=None) as client:
        with pytest.raises(ThingSpaceError):
            await client.location.list(ACCOUNT)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
