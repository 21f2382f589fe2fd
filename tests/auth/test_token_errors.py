"""The token endpoint failing: typed errors carrying the provider's code and message,
with no secret in them, nor in the request they keep."""

from __future__ import annotations

import base64
import traceback

import httpx
import pytest

from thingspace_callbacks import APIConnectionError, AuthenticationError

from ._support import (
    ACCOUNT,
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    ThingSpace,
    bearer_only,
    make_auth,
    make_client,
)

pytestmark = pytest.mark.anyio

SECRETS = (
    CLIENT_SECRET,
    PASSWORD,
    base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode(),
)


def assert_no_secret(error: BaseException) -> None:
    shown = "".join(traceback.format_exception(error)) + repr(error) + str(error)
    request = getattr(error, "request", None)
    if isinstance(request, httpx.Request):
        shown += repr(dict(request.headers)) + request.content.decode()
        assert "authorization" not in request.headers
    for secret in SECRETS:
        assert secret not in shown


@pytest.mark.parametrize(
    ("answer", "code", "message"),
    [
        (
            httpx.Response(
                400,
                json={
                    "error": "invalid_client",
                    "error_description": "Client authentication failed",
                },
            ),
            "invalid_client",
            "Client authentication failed",
        ),
        (
            httpx.Response(
                401, json={"fault": {"code": "900902", "message": "Missing Credentials"}}
            ),
            "900902",
            "Missing Credentials",
        ),
        (httpx.Response(500, text="Internal Server Error"), None, "Internal Server Error"),
    ],
    ids=["400-invalid_client", "401", "500"],
)
async def test_token_endpoint_failures_raise_authentication_error(
    thingspace: ThingSpace, answer: httpx.Response, code: str | None, message: str
) -> None:
    thingspace.token_failures.append(answer)
    async with make_client(make_auth()) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.location.list(ACCOUNT)
    error = caught.value
    assert error.status_code == answer.status_code
    assert error.error_code == code
    assert error.error_message == message
    if answer.status_code < 500:
        # Refused: remembered, and said so.
        assert str(error).startswith("OAuth token request refused for client id ")
        assert "not retried until" in str(error)
    else:
        assert str(error).startswith("OAuth token request failed: ")
    assert error.request.url.path == "/api/ts/v1/oauth2/token"
    assert_no_secret(error)
    assert thingspace.login_route.call_count == 0
    assert thingspace.list_route.call_count == 0
    # The token request itself was well formed.
    sent = thingspace.token_route.calls[0].request
    assert sent.headers["Authorization"] == f"Basic {SECRETS[2]}"
    assert sent.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert sent.read() == b"grant_type=client_credentials"


async def test_a_token_answer_without_a_token_raises(thingspace: ThingSpace) -> None:
    thingspace.token_failures.append(httpx.Response(200, json={"accessToken": "misnamed"}))
    async with make_client(bearer_only()) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.location.list(ACCOUNT)
    assert "no access_token" in str(caught.value)
    # The answer might have held a credential under another name: it is not kept.
    assert "misnamed" not in repr(caught.value.body) + caught.value.response.text


async def test_a_login_failure_keeps_no_password(thingspace: ThingSpace) -> None:
    thingspace.login_failures.append(
        httpx.Response(401, json={"errorCode": "UnAuthorized", "errorMessage": "Bad login"})
    )
    async with make_client(make_auth()) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.location.list(ACCOUNT)
    assert caught.value.error_code == "UnAuthorized"
    assert caught.value.request.url.path == "/api/m2m/v1/session/login"
    assert_no_secret(caught.value)


async def test_a_connection_failure_at_the_token_endpoint_is_a_connection_error(
    thingspace: ThingSpace,
) -> None:
    thingspace.token_route.mock(side_effect=httpx.ConnectError("refused"))
    async with make_client(bearer_only()) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.location.list(ACCOUNT)
    assert caught.value.request.url.path == "/api/ts/v1/oauth2/token"
    assert_no_secret(caught.value)


async def test_scope_is_sent(thingspace: ThingSpace) -> None:
    async with make_client(bearer_only(scope=["discovery:read", "ts.mtas"])) as client:
        await client.location.list(ACCOUNT)
    body = thingspace.token_route.calls[0].request.read()
    assert body == b"grant_type=client_credentials&scope=discovery%3Aread+ts.mtas"
