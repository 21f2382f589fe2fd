"""Only a 2xx is a result, answers are bounded in size, and every failure httpx can
raise on a request comes out as one of ours (the real-socket cases are in
``tests/integration/test_hostile_server.py``)."""

from __future__ import annotations

import httpx
import pytest
import respx

from thingspace_callbacks import (
    APIConnectionError,
    APIStatusError,
    AsyncThingSpaceClient,
    InvalidArgumentError,
    RedirectError,
    ResponseTooLargeError,
    ThingSpaceAuth,
    ThingSpaceClient,
    ThingSpaceError,
)
from thingspace_callbacks._errors import make_status_error, status_error_class
from thingspace_callbacks._send import attempt_time_limit

ACCOUNT = "0252012345-00001"
LIST = f"/loc/v1/callbacks/{ACCOUNT}"


@pytest.mark.parametrize("status", [300, 301, 302, 303, 304, 307, 308])
def test_every_3xx_maps_to_a_redirect_error(status: int) -> None:
    assert status_error_class(status) is RedirectError


async def test_a_redirect_names_where_it_pointed_without_credentials(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.get(LIST).respond(
        302, headers={"Location": "https://user:pw@portal.example/login"}, json=[]
    )
    with pytest.raises(RedirectError) as caught:
        await client.location.list(ACCOUNT)
    assert caught.value.location == "https://***@portal.example/login"
    assert "302 Found: redirected to https://***@portal.example/login" in str(caught.value)
    assert "pw" not in str(caught.value)
    assert isinstance(caught.value, APIStatusError)


def test_a_redirect_without_location_says_so() -> None:
    error = make_status_error(httpx.Response(303, request=httpx.Request("GET", "https://x/")))
    assert isinstance(error, RedirectError)
    assert error.location is None
    assert "without a Location" in str(error)


@pytest.mark.parametrize("status", [200, 201, 202, 204])
async def test_any_2xx_is_a_result(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, status: int
) -> None:
    mock_api.get(f"/m2m/v1/callbacks/{ACCOUNT}").respond(status)
    assert await client.connectivity.list(ACCOUNT) == []


async def test_an_oversize_answer_is_refused_and_not_retried(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.get(LIST).respond(200, content=b"[" + b" " * 998 + b"]")
    with pytest.raises(ResponseTooLargeError) as caught:
        await client.location.list(ACCOUNT, max_response_size=10)
    assert route.call_count == 1
    assert (caught.value.limit, caught.value.status_code) == (10, 200)
    assert caught.value.headers["content-length"] == "1000"
    assert caught.value.response.content == b""  # nothing of the body is kept


async def test_the_limit_counts_the_decoded_body(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    import gzip

    bomb = gzip.compress(b"[" + b" " * 100_000 + b"]")
    mock_api.get(LIST).respond(200, content=bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(ResponseTooLargeError):
        await client.location.list(ACCOUNT, max_response_size=50_000)
    assert await client.location.list(ACCOUNT, max_response_size=200_000) == []


@pytest.mark.parametrize("value", [0, -1, 1.5, "4MB", True])
async def test_a_bad_size_limit_is_refused_before_sending(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, value: object
) -> None:
    route = mock_api.get(LIST).respond(json=[])
    with pytest.raises(InvalidArgumentError, match="max_response_size"):
        await client.location.list(ACCOUNT, max_response_size=value)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="max_response_size"):
        AsyncThingSpaceClient(max_response_size=value)  # type: ignore[arg-type]
    assert route.call_count == 0


BAD_TIMEOUTS = [
    pytest.param(-1, "'timeout' must be a finite number of seconds > 0, got -1", id="negative"),
    pytest.param(0, "'timeout' must be a finite number of seconds > 0, got 0", id="zero"),
    pytest.param("x", "'timeout' must be a finite number of seconds > 0, got 'x'", id="text"),
    pytest.param(True, "'timeout' must be a finite number of seconds > 0, got True", id="bool"),
    pytest.param(float("nan"), "'timeout' must be a finite number of seconds", id="nan"),
    pytest.param(
        httpx.Timeout(5.0, connect=-1),
        "'timeout.connect' must be a finite number of seconds > 0, got -1",
        id="phase-negative",
    ),
    pytest.param(
        httpx.Timeout(None, read="soon"),  # type: ignore[arg-type]
        "'timeout.read' must be a finite number of seconds > 0, got 'soon'",
        id="phase-text",
    ),
    pytest.param(
        httpx.Timeout(5.0, pool=0), "'timeout.pool' must be a finite number", id="phase-zero"
    ),
]


@pytest.mark.parametrize(("value", "message"), BAD_TIMEOUTS)
async def test_a_bad_timeout_is_refused_before_sending(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, value: object, message: str
) -> None:
    # Unchecked, httpx takes it: every call would fail as a timeout, or with a bare
    # TypeError at the first request.
    route = mock_api.get(LIST).respond(json=[])
    with pytest.raises(InvalidArgumentError) as caught:
        AsyncThingSpaceClient(timeout=value)  # type: ignore[arg-type]
    assert message in str(caught.value)
    with pytest.raises(InvalidArgumentError, match="'timeout"):
        await client.location.list(ACCOUNT, timeout=value)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="'timeout"):
        client.with_options(timeout=value)  # type: ignore[arg-type]
    assert route.call_count == 0


@pytest.mark.parametrize(("value", "message"), BAD_TIMEOUTS[:1] + BAD_TIMEOUTS[-3:-1])
def test_the_sync_client_refuses_a_bad_timeout_before_sending(
    mock_api: respx.MockRouter, value: object, message: str
) -> None:
    route = mock_api.get(LIST).respond(json=[])
    with pytest.raises(InvalidArgumentError, match=message):
        ThingSpaceClient(timeout=value)  # type: ignore[arg-type]
    auth = ThingSpaceAuth(access_token="test-access", m2m_token="test-m2m")
    with ThingSpaceClient(auth=auth) as client:
        with pytest.raises(InvalidArgumentError, match="'timeout"):
            client.location.list(ACCOUNT, timeout=value)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError, match="'timeout"):
            client.with_options(timeout=value)  # type: ignore[arg-type]
        assert client.location.list(ACCOUNT, timeout=2) == []
    assert route.call_count == 1


@pytest.mark.parametrize(
    "value", [None, 2, 2.5, httpx.Timeout(None), httpx.Timeout(5.0, connect=None, read=60)]
)
async def test_a_good_timeout_is_taken_as_given(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, value: float | httpx.Timeout | None
) -> None:
    mock_api.get(LIST).respond(json=[])
    expected = value if isinstance(value, httpx.Timeout) else httpx.Timeout(value)
    assert client.with_options(timeout=value).timeout == expected
    assert await client.location.list(ACCOUNT, timeout=value) == []


@pytest.mark.parametrize(
    "raised",
    [
        httpx.DecodingError("bad gzip"),
        httpx.TooManyRedirects("loop"),
        httpx.RemoteProtocolError("garbage"),
        httpx.ReadError("reset"),
    ],
    ids=lambda exc: type(exc).__name__,
)
async def test_every_httpx_failure_is_a_thingspace_error(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, raised: Exception
) -> None:
    mock_api.get(LIST).mock(side_effect=raised)
    with pytest.raises(ThingSpaceError) as caught:
        await client.location.list(ACCOUNT, max_retries=0)
    assert isinstance(caught.value, APIConnectionError)
    assert caught.value.__cause__ is raised
    assert "thingspace.verizon.com:443" in str(caught.value)


async def test_an_invalid_url_is_a_request_validation_error(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.get(LIST).mock(side_effect=httpx.InvalidURL("bad"))
    with pytest.raises(InvalidArgumentError, match="invalid request URL"):
        await client.location.list(ACCOUNT)


@pytest.mark.parametrize(
    ("timeout", "limit"),
    [
        (httpx.Timeout(3.0), 3.0),
        (httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=10.0), 30.0),
        (httpx.Timeout(None, read=7.0), 7.0),
        (httpx.Timeout(None), None),
    ],
)
def test_an_attempt_takes_at_most_the_longest_phase(
    timeout: httpx.Timeout, limit: float | None
) -> None:
    assert attempt_time_limit(timeout) == limit
