"""Retries, deadlines and attempt counts through the one request path (respx)."""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Mapping

import anyio
import httpx
import pytest
import respx

from thingspace_callbacks import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
    AsyncThingSpaceClient,
    Auth,
    AuthContext,
    BadRequestError,
    InternalServerError,
    InvalidArgumentError,
    RateLimiter,
    RateLimitError,
    ResponseTooLargeError,
    RetryPolicy,
    ThingSpaceAuth,
)

ACCOUNT = "0252012345-00001"
LIST_PATH = f"/loc/v1/callbacks/{ACCOUNT}"
HOOK = "https://example.com/hooks/location"
NO_WAIT = RetryPolicy(initial_backoff=0, max_backoff=0)


@pytest.fixture
async def fast(mock_api: respx.MockRouter) -> AsyncIterator[AsyncThingSpaceClient]:
    """A client with fixed tokens whose backoff waits are zero."""
    async with AsyncThingSpaceClient(
        retry_policy=NO_WAIT, auth=ThingSpaceAuth(access_token="test-access", m2m_token="test-m2m")
    ) as c:
        yield c


def replies(*statuses: int, **headers: str) -> list[httpx.Response]:
    return [
        httpx.Response(
            status,
            json=[] if status < 400 else {"errorCode": "E", "errorMessage": "m"},
            headers={k.replace("_", "-"): v for k, v in headers.items()},
        )
        for status in statuses
    ]


async def test_retries_until_success(
    fast: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.get(LIST_PATH).mock(side_effect=replies(503, 503, 200))
    assert await fast.location.list(ACCOUNT) == []
    assert route.call_count == 3


async def test_gives_up_after_max_retries_and_counts_attempts(
    fast: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.get(LIST_PATH).mock(
        side_effect=[httpx.Response(503, text="down", headers={"x-request-id": "r-9"})] * 3
    )
    with pytest.raises(InternalServerError) as caught:
        await fast.location.list(ACCOUNT)
    assert route.call_count == 3
    exc = caught.value
    assert exc.attempts == 3
    assert "after 3 attempts" in str(exc)
    assert exc.status_code == 503
    assert exc.headers["x-request-id"] == "r-9"
    assert exc.body == "down"


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 521, 522, 524])
async def test_each_retryable_status_is_retried(
    status: int, fast: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.get(LIST_PATH).mock(side_effect=replies(status, 200))
    assert await fast.location.list(ACCOUNT) == []
    assert route.call_count == 2


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 422, 501])
async def test_other_error_statuses_are_sent_once(
    status: int, fast: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.get(LIST_PATH).mock(side_effect=replies(status, 200))
    with pytest.raises(Exception) as caught:  # noqa: PT011 - the class depends on status
        await fast.location.list(ACCOUNT)
    assert getattr(caught.value, "status_code", None) == status
    assert getattr(caught.value, "attempts", None) == 1
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.ConnectError("refused"), APIConnectionError),
        (httpx.RemoteProtocolError("peer closed"), APIConnectionError),
        (httpx.ReadTimeout("slow"), APITimeoutError),
    ],
    ids=["connect", "protocol", "timeout"],
)
async def test_transport_failures_are_retried(
    failure: Exception,
    error: type[APIConnectionError],
    fast: AsyncThingSpaceClient,
    mock_api: respx.MockRouter,
) -> None:
    route = mock_api.get(LIST_PATH).mock(side_effect=[failure, httpx.Response(200, json=[])])
    assert await fast.location.list(ACCOUNT) == []
    assert route.call_count == 2

    route.reset()
    route.mock(side_effect=failure)
    with pytest.raises(error) as caught:
        await fast.location.list(ACCOUNT)
    assert type(caught.value) is error
    assert caught.value.attempts == 3
    assert "after 3 attempts" in str(caught.value)
    assert route.call_count == 3


async def test_every_method_is_retried(
    fast: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    # POST too: a registration sets the (account, service) listener, so it is safe twice.
    path = f"/fota/v2/callbacks/{ACCOUNT}"
    body = {"url": HOOK}
    routes = {
        method: mock_api.route(method=method, path=path).mock(
            side_effect=[httpx.Response(503), httpx.Response(200, json=body)]
        )
        for method in ("GET", "POST", "PUT")
    }
    routes["DELETE"] = mock_api.delete(path).mock(
        side_effect=[httpx.Response(502), httpx.Response(200, json={"success": True})]
    )
    await fast.firmware.get(ACCOUNT)
    await fast.firmware.register(ACCOUNT, url=HOOK)
    await fast.firmware.update(ACCOUNT, url=HOOK)
    await fast.firmware.unregister(ACCOUNT)
    assert {method: route.call_count for method, route in routes.items()} == {
        "GET": 2,
        "POST": 2,
        "PUT": 2,
        "DELETE": 2,
    }


async def test_max_retries_per_call_and_per_client(mock_api: respx.MockRouter) -> None:
    route = mock_api.get(LIST_PATH).mock(return_value=httpx.Response(503))
    async with AsyncThingSpaceClient(max_retries=0, retry_policy=NO_WAIT) as client:
        assert client.max_retries == 0
        with pytest.raises(InternalServerError) as caught:
            await client.location.list(ACCOUNT)
        assert route.call_count == 1
        assert caught.value.attempts == 1
        assert "attempts" not in str(caught.value)

        route.reset()
        with pytest.raises(InternalServerError):
            await client.location.list(ACCOUNT, max_retries=4)
        assert route.call_count == 5


async def test_max_retries_zero_turns_off_retries_for_one_post(
    fast: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.post(LIST_PATH).mock(return_value=httpx.Response(503))
    with pytest.raises(InternalServerError):
        await fast.location.register(ACCOUNT, service="Location", url=HOOK, max_retries=0)
    assert route.call_count == 1


async def test_with_options_copy_shares_pool_auth_and_closed_state(
    fast: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.get(LIST_PATH).mock(return_value=httpx.Response(503))
    _ = fast.location  # a cached sub-client on the original must not leak into the copy
    once = fast.with_options(max_retries=0, timeout=3.0, deadline=9)
    assert once.http_client is fast.http_client
    assert once.auth is fast.auth
    assert once.max_retries == 0
    assert fast.max_retries == 2
    assert once.timeout == httpx.Timeout(3.0)
    assert fast.timeout == httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=10.0)

    with pytest.raises(InternalServerError):
        await once.location.list(ACCOUNT)
    assert route.call_count == 1
    with pytest.raises(InternalServerError):
        await fast.location.list(ACCOUNT)
    assert route.call_count == 4

    await once.aclose()
    assert fast.is_closed
    with pytest.raises(RuntimeError, match="closed"):
        await fast.location.list(ACCOUNT)


async def test_with_options_keeps_what_was_not_passed(fast: AsyncThingSpaceClient) -> None:
    copy = fast.with_options(deadline=5)
    assert copy.max_retries == fast.max_retries
    assert copy.timeout == fast.timeout
    # Only the deadline (and the retry budget it shortens) differs.
    assert copy._pipeline.options == dataclasses.replace(fast._pipeline.options, deadline=5.0)
    assert copy._pipeline.options.budget == 5.0
    with pytest.raises(InvalidArgumentError):
        fast.with_options(max_retries=-1)


async def test_a_copy_of_a_copy_keeps_every_setting_it_was_not_given(
    mock_api: respx.MockRouter,
) -> None:
    policy = RetryPolicy(initial_backoff=0, max_backoff=0, budget=30)
    limiter = RateLimiter(1000)
    route = mock_api.get(LIST_PATH).mock(
        side_effect=[httpx.Response(503)] * 2 + [httpx.Response(200, json=["x" * 2000])]
    )
    async with AsyncThingSpaceClient(
        auth=ThingSpaceAuth(access_token="test-access"),
        timeout=4.0,
        max_retries=1,
        retry_policy=policy,
        deadline=50,
        max_response_size=1000,
        default_headers={"X-Tenant": "t1"},
        rate_limit=limiter,
    ) as client:
        copy = client.with_options(extra_headers={"X-Copy": "c"}).with_options(deadline=60)
        assert (copy.timeout, copy.max_retries, copy.deadline) == (httpx.Timeout(4.0), 1, 60)
        with pytest.raises(InternalServerError) as caught:
            await copy.location.list(ACCOUNT)
        assert caught.value.attempts == 2
        with pytest.raises(ResponseTooLargeError):
            await copy.location.list(ACCOUNT)
        for call in route.calls:
            assert (call.request.headers["x-tenant"], call.request.headers["x-copy"]) == ("t1", "c")
            assert call.request.extensions["timeout"] == dict.fromkeys(
                ("connect", "read", "write", "pool"), 4.0
            )
        assert copy._pipeline.rate_limiter is limiter
        assert copy._pipeline.options.retry_policy is policy
        assert copy._pipeline.options.budget == 30
        assert copy.http_client is client.http_client
    assert copy.is_closed


async def test_retry_after_longer_than_the_cap_is_not_retried(
    fast: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.get(LIST_PATH).mock(
        return_value=httpx.Response(429, headers={"Retry-After": "3600"})
    )
    with pytest.raises(RateLimitError) as caught:
        await fast.location.list(ACCOUNT)
    assert route.call_count == 1
    assert caught.value.headers["retry-after"] == "3600"


async def test_budget_stops_retrying_before_a_wait_that_would_pass_it(
    mock_api: respx.MockRouter,
) -> None:
    route = mock_api.get(LIST_PATH).mock(
        return_value=httpx.Response(503, headers={"Retry-After": "30"})
    )
    started = time.monotonic()
    async with AsyncThingSpaceClient(retry_policy=RetryPolicy(budget=10)) as client:
        with pytest.raises(InternalServerError) as caught:
            await client.location.list(ACCOUNT)
    assert time.monotonic() - started < 5  # it did not sleep the 30 s
    assert route.call_count == 1
    assert caught.value.attempts == 1


async def test_budget_counts_the_time_the_first_attempt_took(
    mock_api: respx.MockRouter,
) -> None:
    # A 0.4 s first attempt and a 0.3 s wait end past a 0.6 s budget: no retry, even
    # though the wait alone would fit.
    async def slow_503(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(0.4)
        return httpx.Response(503, headers={"Retry-After": "0.3"})

    route = mock_api.get(LIST_PATH).mock(side_effect=slow_503)
    policy = RetryPolicy(budget=0.6, initial_backoff=0.3, max_backoff=0.3)
    async with AsyncThingSpaceClient(
        retry_policy=policy, auth=ThingSpaceAuth(access_token="test-access")
    ) as client:
        with pytest.raises(InternalServerError) as caught:
            await client.location.list(ACCOUNT)
    assert route.call_count == 1
    assert caught.value.attempts == 1


async def test_deadline_also_bounds_the_waits(
    fast: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    # Sleeping 30 s into a 2 s deadline would only turn a useful 503 into a timeout.
    route = mock_api.get(LIST_PATH).mock(
        return_value=httpx.Response(503, headers={"Retry-After": "30"})
    )
    started = time.monotonic()
    with pytest.raises(InternalServerError) as caught:
        await fast.location.list(ACCOUNT, deadline=2)
    assert time.monotonic() - started < 1.5
    assert route.call_count == 1
    assert caught.value.attempts == 1


async def test_deadline_covers_the_whole_call(
    fast: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(10)
        return httpx.Response(200, json=[])

    mock_api.get(LIST_PATH).mock(side_effect=slow)
    started = time.monotonic()
    with pytest.raises(APITimeoutError, match=r"deadline of 0\.2 s") as caught:
        await fast.location.list(ACCOUNT, deadline=0.2)
    assert time.monotonic() - started < 3
    assert caught.value.attempts == 1
    assert caught.value.request.url.path.endswith(ACCOUNT)


async def test_client_deadline_and_per_call_none(mock_api: respx.MockRouter) -> None:
    calls = 0

    async def slow_once(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        await anyio.sleep(0.3)
        return httpx.Response(200, json=[])

    mock_api.get(LIST_PATH).mock(side_effect=slow_once)
    async with AsyncThingSpaceClient(deadline=0.05) as client:
        with pytest.raises(APITimeoutError):
            await client.location.list(ACCOUNT)
        assert await client.location.list(ACCOUNT, deadline=None) == []
    assert calls == 2


@pytest.mark.parametrize(
    "options",
    [{"max_retries": -1}, {"max_retries": 1.5}, {"deadline": 0}, {"deadline": float("nan")}],
)
async def test_bad_options_fail_before_sending(
    options: dict[str, float], fast: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.get(LIST_PATH).mock(return_value=httpx.Response(200, json=[]))
    with pytest.raises(InvalidArgumentError):
        await fast.location.list(ACCOUNT, **options)  # type: ignore[arg-type]
    assert route.call_count == 0


@pytest.mark.parametrize("kwargs", [{"max_retries": -1}, {"max_retries": True}, {"deadline": -1.0}])
def test_bad_client_arguments(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidArgumentError):
        AsyncThingSpaceClient(**kwargs)  # type: ignore[arg-type]


async def test_each_retry_is_logged_without_secrets(
    fast: AsyncThingSpaceClient, mock_api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    mock_api.get(LIST_PATH).mock(
        side_effect=[
            httpx.Response(503, text="test-access"),
            httpx.ConnectError("refused"),
            httpx.Response(200, json=[]),
        ]
    )
    with caplog.at_level(logging.INFO, logger="thingspace_callbacks"):
        await fast.location.list(ACCOUNT, extra_headers={"X-Trace": "t"})
    retries = [r for r in caplog.records if hasattr(r, "retry_attempt")]
    assert [vars(r)["retry_attempt"] for r in retries] == [1, 2]
    assert [vars(r)["retry_reason"] for r in retries] == [
        "503 Service Unavailable",
        "ConnectError",
    ]
    assert all(vars(r)["retry_wait"] == 0 for r in retries)
    assert all(r.name == "thingspace_callbacks" and r.levelno == logging.INFO for r in retries)
    assert "attempt 1 of 3 failed (503 Service Unavailable)" in retries[0].getMessage()
    assert LIST_PATH in retries[0].getMessage()
    text = caplog.text
    assert "test-access" not in text
    assert "test-m2m" not in text


async def test_retry_after_is_the_wait(
    fast: AsyncThingSpaceClient, mock_api: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    mock_api.get(LIST_PATH).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After-Ms": "50"}),
            httpx.Response(200, json=[]),
        ]
    )
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="thingspace_callbacks"):
        await fast.location.list(ACCOUNT)
    assert time.monotonic() - started >= 0.045
    (record,) = [r for r in caplog.records if hasattr(r, "retry_wait")]
    assert vars(record)["retry_wait"] == pytest.approx(0.05)


class RenewingAuth(Auth):
    """Refuses its first token once (401), then hands out a renewed one."""

    def __init__(self) -> None:
        self.token = "old"
        self.renewals = 0

    async def auth_headers(self, context: AuthContext) -> Mapping[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def should_replay(
        self, context: AuthContext, response: httpx.Response, sent: Mapping[str, str]
    ) -> bool:
        if response.status_code == 401 and sent["Authorization"] == "Bearer old":
            self.token = "new"
            self.renewals += 1
            return True
        return False


async def test_auth_replay_is_not_a_retry(mock_api: respx.MockRouter) -> None:
    auth = RenewingAuth()
    route = mock_api.get(LIST_PATH).mock(side_effect=replies(401, 503, 503, 200))
    async with AsyncThingSpaceClient(auth=auth, retry_policy=NO_WAIT) as client:
        # Two retries allowed: the replay after renewal does not use one up.
        assert await client.location.list(ACCOUNT) == []
    assert route.call_count == 4
    assert auth.renewals == 1
    assert [c.request.headers["Authorization"] for c in route.calls] == [
        "Bearer old",
        "Bearer new",
        "Bearer new",
        "Bearer new",
    ]


async def test_auth_replay_works_with_retries_off(mock_api: respx.MockRouter) -> None:
    auth = RenewingAuth()
    route = mock_api.get(LIST_PATH).mock(side_effect=replies(401, 503))
    async with AsyncThingSpaceClient(auth=auth, max_retries=0) as client:
        with pytest.raises(InternalServerError) as caught:
            await client.location.list(ACCOUNT)
    assert route.call_count == 2
    assert caught.value.attempts == 1


async def test_bad_body_after_a_retry_is_a_validation_error(
    fast: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.get(LIST_PATH).mock(
        side_effect=[httpx.Response(503), httpx.Response(200, text="<html>maintenance</html>")]
    )
    with pytest.raises(APIResponseValidationError) as caught:
        await fast.location.list(ACCOUNT)
    assert route.call_count == 2  # a 2xx is an answer: it is never retried
    assert caught.value.status_code == 200
    assert caught.value.body == "<html>maintenance</html>"


async def test_non_json_error_keeps_the_raw_text(
    fast: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.get(LIST_PATH).mock(return_value=httpx.Response(400, text="Bad things happened"))
    with pytest.raises(BadRequestError) as caught:
        await fast.location.list(ACCOUNT)
    assert caught.value.body == "Bad things happened"
    assert caught.value.error_message == "Bad things happened"
    assert "Bad things happened" in str(caught.value)


async def test_unexpected_exceptions_are_not_retried(mock_api: respx.MockRouter) -> None:
    route = mock_api.get(LIST_PATH).mock(side_effect=RuntimeError("bug in a hook"))
    async with AsyncThingSpaceClient(retry_policy=NO_WAIT) as client:
        with pytest.raises(RuntimeError, match="bug in a hook"):
            await client.location.list(ACCOUNT)
    assert route.call_count == 1
