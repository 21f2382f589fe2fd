"""A refused credential mid-run: renewed once (single flight) and the call replayed once;
a second refusal raises AuthenticationError."""

from __future__ import annotations

import anyio
import httpx
import pytest

from thingspace_callbacks import AuthenticationError, BadRequestError

from ._support import ACCOUNT, ThingSpace, bearer_only, make_auth, make_client

pytestmark = pytest.mark.anyio

BEARER_REFUSED = {
    "fault": {
        "code": "900901",
        "message": "Invalid Credentials",
        "description": "Access failure for API: /loc/v1, version: v1",
    }
}
SESSION_EXPIRED = {
    "errorCode": "REQUEST_FAILED.SessionToken.Expired",
    "errorMessage": "Session Token Expired",
}


def answer(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body)


async def test_a_401_renews_the_bearer_token_once_and_replays_once(
    thingspace: ThingSpace,
) -> None:
    async with make_client(make_auth()) as client:
        await client.location.list(ACCOUNT)
        thingspace.operation_answers(answer(401, BEARER_REFUSED))
        assert await client.location.list(ACCOUNT) == []
    assert thingspace.token_route.call_count == 2
    assert thingspace.login_route.call_count == 1
    assert thingspace.sent(thingspace.list_route, "Authorization") == [
        "Bearer access-1",
        "Bearer access-1",
        "Bearer access-2",
    ]


async def test_a_second_401_raises_authentication_error(thingspace: ThingSpace) -> None:
    thingspace.operation_answers(answer(401, BEARER_REFUSED), answer(401, BEARER_REFUSED))
    async with make_client(make_auth()) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.location.list(ACCOUNT)
    assert caught.value.status_code == 401
    assert caught.value.error_code == "900901"
    assert thingspace.token_route.call_count == 2
    assert thingspace.list_route.call_count == 2


async def test_concurrent_401s_share_one_renewal(thingspace: ThingSpace) -> None:
    thingspace.delay = 0.01

    def refuse_first_token(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer access-1":
            return answer(401, BEARER_REFUSED)
        return httpx.Response(200, json=[])

    thingspace.list_route.mock(side_effect=refuse_first_token)
    async with make_client(make_auth()) as client, anyio.create_task_group() as tg:
        for _ in range(30):
            tg.start_soon(client.location.list, ACCOUNT)
    assert thingspace.token_route.call_count == 2
    assert thingspace.list_route.call_count == 60


async def test_an_expired_session_is_renewed_once_and_replayed(thingspace: ThingSpace) -> None:
    async with make_client(make_auth()) as client:
        await client.location.list(ACCOUNT)
        thingspace.operation_answers(answer(400, SESSION_EXPIRED))
        assert await client.location.list(ACCOUNT) == []
    assert thingspace.login_route.call_count == 2
    assert thingspace.token_route.call_count == 1
    assert thingspace.sent(thingspace.list_route, "VZ-M2M-Token") == [
        "session-1",
        "session-1",
        "session-2",
    ]


async def test_a_lapsed_token_and_session_are_both_renewed_and_replayed(
    thingspace: ThingSpace,
) -> None:
    # After a long pause the gateway refuses the bearer token first; once that is
    # renewed, the API refuses the session. Both are renewed within one call.
    async with make_client(make_auth()) as client:
        await client.location.list(ACCOUNT)
        thingspace.operation_answers(answer(401, BEARER_REFUSED), answer(400, SESSION_EXPIRED))
        assert await client.location.list(ACCOUNT) == []
    assert thingspace.token_route.call_count == 2
    assert thingspace.login_route.call_count == 2
    assert thingspace.sent(thingspace.list_route, "Authorization")[-1] == "Bearer access-2"
    assert thingspace.sent(thingspace.list_route, "VZ-M2M-Token")[-1] == "session-2"


@pytest.mark.parametrize("status", [400, 401])
async def test_a_session_refused_twice_raises_authentication_error(
    thingspace: ThingSpace, status: int
) -> None:
    thingspace.operation_answers(answer(status, SESSION_EXPIRED), answer(status, SESSION_EXPIRED))
    async with make_client(make_auth()) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.location.list(ACCOUNT)
    assert caught.value.status_code == status
    assert caught.value.error_code == "REQUEST_FAILED.SessionToken.Expired"
    assert thingspace.login_route.call_count == 2
    assert thingspace.list_route.call_count == 2


async def test_a_fixed_session_token_is_not_replayed(thingspace: ThingSpace) -> None:
    thingspace.operation_answers(answer(400, SESSION_EXPIRED))
    async with make_client(bearer_only(m2m_token="fixed-session")) as client:
        with pytest.raises(AuthenticationError):
            await client.location.list(ACCOUNT)
    assert thingspace.list_route.call_count == 1
    assert thingspace.login_route.call_count == 0
    assert thingspace.sent(thingspace.list_route, "VZ-M2M-Token") == ["fixed-session"]


async def test_other_400s_are_not_replayed(thingspace: ThingSpace) -> None:
    thingspace.operation_answers(
        answer(400, {"errorCode": "INVALID_PARAMETER", "errorMessage": "bad account"})
    )
    async with make_client(make_auth()) as client:
        with pytest.raises(BadRequestError):
            await client.location.list(ACCOUNT)
    assert thingspace.list_route.call_count == 1
    assert thingspace.token_route.call_count == 1
    assert thingspace.login_route.call_count == 1


async def test_a_refused_login_is_not_retried(thingspace: ThingSpace) -> None:
    refused = answer(
        400, {"errorCode": "REQUEST_FAILED.UnexpectedError", "errorMessage": "Invalid credentials"}
    )
    thingspace.login_failures.append(refused)
    auth = make_auth()
    async with make_client(auth) as client:
        for _ in range(3):
            with pytest.raises(AuthenticationError) as caught:
                await client.location.list(ACCOUNT)
            assert caught.value.error_message == "Invalid credentials"
            assert "not retried" in str(caught.value)
            assert "call client.auth.reset()" in str(caught.value)
        # Five refused logins lock the user: only one was sent.
        assert thingspace.login_route.call_count == 1
        assert thingspace.list_route.call_count == 0

        auth.reset()  # after fixing the credentials
        assert await client.location.list(ACCOUNT) == []
    assert thingspace.login_route.call_count == 2


async def test_a_login_refusing_the_bearer_token_renews_it_and_logs_in_again(
    thingspace: ThingSpace,
) -> None:
    thingspace.login_failures.append(answer(401, BEARER_REFUSED))
    async with make_client(make_auth()) as client:
        assert await client.location.list(ACCOUNT) == []
    assert thingspace.token_route.call_count == 2
    assert thingspace.sent(thingspace.login_route, "Authorization") == [
        "Bearer access-1",
        "Bearer access-2",
    ]


async def test_a_login_server_error_is_not_remembered(thingspace: ThingSpace) -> None:
    thingspace.login_failures.append(httpx.Response(503, text="unavailable"))
    async with make_client(make_auth()) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.location.list(ACCOUNT)
        assert caught.value.status_code == 503
        assert await client.location.list(ACCOUNT) == []
    assert thingspace.login_route.call_count == 2
