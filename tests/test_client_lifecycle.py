"""``AsyncThingSpaceClient``: opening and closing, where it sends requests, and the
defaults every request carries."""

from __future__ import annotations

import pickle
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx
import pytest
import respx

from thingspace_callbacks import (
    APIResponse,
    AsyncThingSpaceClient,
    Auth,
    AuthContext,
    InvalidArgumentError,
    ThingSpaceAuth,
)

from .resources._wire import ACCESS_TOKEN, BASE_URL, M2M_TOKEN


class CountingAuth(Auth):
    """Fixed headers; counts how often the client closes it."""

    def __init__(self) -> None:
        self.closed = 0

    async def auth_headers(self, context: AuthContext) -> Mapping[str, str]:
        return {"Authorization": "Bearer counted"}

    async def aclose(self, context: AuthContext) -> None:
        self.closed += 1


# --- lifecycle -------------------------------------------------------------------------


async def test_async_with_opens_and_closes() -> None:
    async with AsyncThingSpaceClient() as client:
        assert not client.is_closed
        http_client = client.http_client
    assert client.is_closed
    assert http_client.is_closed


async def test_aclose_is_idempotent_and_closes_credentials_once() -> None:
    auth = CountingAuth()
    client = AsyncThingSpaceClient(auth=auth)
    await client.aclose()
    await client.aclose()
    assert client.is_closed
    assert auth.closed == 1


async def test_callers_http_client_is_used_and_left_open() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http_client:
        async with AsyncThingSpaceClient(http_client=http_client) as client:
            assert client.http_client is http_client
            assert await client.location.list("0252012345-00001") == []
        assert client.is_closed
        assert not http_client.is_closed
        await http_client.get("https://example.com/still-usable")
    assert [str(r.url) for r in seen] == [
        f"{BASE_URL}/loc/v1/callbacks/0252012345-00001",
        "https://example.com/still-usable",
    ]


async def test_use_after_close_raises_and_sends_nothing(mock_api: respx.MockRouter) -> None:
    route = mock_api.route().respond(200, json=[])
    client = AsyncThingSpaceClient(auth=ThingSpaceAuth(access_token=ACCESS_TOKEN))
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.location.list("a")
    with pytest.raises(RuntimeError, match="closed"):
        await client.callbacks.callbacks_account_number_get("a")
    with pytest.raises(RuntimeError, match="closed"):
        async with client:
            pass
    assert route.call_count == 0


def test_client_cannot_be_pickled() -> None:
    client = AsyncThingSpaceClient()
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(client)


def test_repr_hides_tokens() -> None:
    client = AsyncThingSpaceClient(
        auth=ThingSpaceAuth(access_token="very-secret-a", m2m_token="very-secret-m")
    )
    for text in (repr(client), repr(client.auth), str(client)):
        assert "very-secret" not in text
    assert BASE_URL in repr(client)


# --- where requests go -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "env", "expected"),
    [
        pytest.param({}, None, "https://thingspace.verizon.com/api", id="default-production"),
        pytest.param(
            {"environment": "staging"},
            None,
            "https://staging.thingspace.verizon.com/api",
            id="environment",
        ),
        pytest.param(
            {"environment": "mock"}, None, "https://mock.thingspace.verizon.com/api", id="mock"
        ),
        pytest.param({}, "http://127.0.0.1:8080/api/", "http://127.0.0.1:8080/api", id="env-var"),
        pytest.param(
            {"environment": "staging"},
            "http://127.0.0.1:8080/api",
            "https://staging.thingspace.verizon.com/api",
            id="environment-beats-env-var",
        ),
        pytest.param(
            {"base_url": "http://127.0.0.1:9000/api", "environment": "staging"},
            "http://127.0.0.1:8080/api",
            "http://127.0.0.1:9000/api",
            id="base-url-beats-everything",
        ),
    ],
)
def test_base_url_resolution(
    monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, str], env: str | None, expected: str
) -> None:
    if env is not None:
        monkeypatch.setenv("THINGSPACE_BASE_URL", env)
    assert AsyncThingSpaceClient(**kwargs).base_url == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"environment": "prod"}, "unknown environment 'prod'", id="environment"),
        pytest.param({"base_url": "ftp://example.com/api"}, r"base_url must be an http", id="ftp"),
        pytest.param({"base_url": "thingspace.verizon.com/api"}, r"base_url", id="no-scheme"),
        pytest.param(
            {"auth": CountingAuth(), "client_id": "t", "client_secret": "s"},
            r"either 'auth' or",
            id="auth-and-credentials",
        ),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidArgumentError, match=match):
        AsyncThingSpaceClient(**kwargs)  # type: ignore[arg-type]


ROOT = "http://127.0.0.1:8080/api"

# Raw calls: the answer is never parsed, only where the request went matters.
ONE_CALL_PER_FAMILY: list[
    tuple[Callable[[AsyncThingSpaceClient], Awaitable[APIResponse[Any]]], str]
]
ONE_CALL_PER_FAMILY = [
    (lambda c: c.diagnostics.with_raw_response.get("a"), "/diagnostics/v1/callbacks"),
    (lambda c: c.location.with_raw_response.list("a"), "/loc/v1/callbacks/a"),
    (lambda c: c.firmware.with_raw_response.get("a"), "/fota/v2/callbacks/a"),
    (lambda c: c.firmware_v3.with_raw_response.get("a"), "/fota/v3/callbacks/a"),
    (lambda c: c.connectivity.with_raw_response.list("a"), "/m2m/v1/callbacks/a"),
    (lambda c: c.hyper_precise.with_raw_response.list("a"), "/hyper-precise/v1/callbacks"),
]


@pytest.mark.parametrize("source", ["argument", "env-var"])
async def test_every_family_derives_from_one_root(
    monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    base_url = ROOT if source == "argument" else None
    if source == "env-var":
        monkeypatch.setenv("THINGSPACE_BASE_URL", ROOT)
    with respx.mock(base_url=ROOT, assert_all_called=False) as router:
        route = router.route().respond(200, json={})
        async with AsyncThingSpaceClient(base_url=base_url) as client:
            for call, path in ONE_CALL_PER_FAMILY:
                response = await call(client)
                assert response.status_code == 200
                url = route.calls.last.request.url
                assert str(url).startswith(ROOT + path), path
                assert url.path == "/api" + path
    assert route.call_count == len(ONE_CALL_PER_FAMILY)


# --- what every request carries --------------------------------------------------------


async def test_default_timeout_and_headers(mock_api: respx.MockRouter) -> None:
    route = mock_api.route().respond(200, json=[])
    async with AsyncThingSpaceClient(
        default_headers={"X-App": "billing"},
        auth=ThingSpaceAuth(access_token=ACCESS_TOKEN, m2m_token=M2M_TOKEN),
    ) as client:
        await client.location.list("a")
    request = route.calls.last.request
    assert request.extensions["timeout"] == {
        "connect": 5.0,
        "read": 30.0,
        "write": 30.0,
        "pool": 10.0,
    }
    assert request.headers["x-app"] == "billing"
    assert request.headers["accept"] == "application/json"
    assert request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.headers["vz-m2m-token"] == M2M_TOKEN


async def test_client_timeout_applies_to_every_request(mock_api: respx.MockRouter) -> None:
    route = mock_api.route().respond(200, json=[])
    async with AsyncThingSpaceClient(timeout=2.5) as client:
        assert client.timeout == httpx.Timeout(2.5)
        await client.location.list("a")
    assert route.calls.last.request.extensions["timeout"] == dict.fromkeys(
        ("connect", "read", "write", "pool"), 2.5
    )


async def test_no_tokens_means_no_credential_headers(mock_api: respx.MockRouter) -> None:
    route = mock_api.route().respond(200, json=[])
    async with AsyncThingSpaceClient() as client:
        await client.location.list("a")
    headers = route.calls.last.request.headers
    assert "authorization" not in headers
    assert "vz-m2m-token" not in headers


async def test_extra_headers_cannot_replace_credentials(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.route().respond(200, json=[])
    await client.location.list(
        "a", extra_headers={"Authorization": "Bearer spoofed", "Accept": "text/plain"}
    )
    headers = route.calls.last.request.headers
    assert headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert headers["accept"] == "text/plain"


async def test_sub_clients_are_created_once(client: AsyncThingSpaceClient) -> None:
    assert client.location is client.location
    assert client.firmware is not client.firmware_v3
