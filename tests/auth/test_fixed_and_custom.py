"""Fixed tokens and a user's own Auth: no token request, no login."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import pytest

from thingspace_callbacks import (
    Auth,
    AuthContext,
    AuthenticationError,
    OAuthClientCredentials,
    ThingSpaceAuth,
)

from ._support import ACCOUNT, CLIENT_ID, CLIENT_SECRET, ThingSpace, make_client

pytestmark = pytest.mark.anyio


async def test_fixed_tokens_need_no_token_request(thingspace: ThingSpace) -> None:
    async with make_client(access_token="fixed-access", m2m_token="fixed-m2m") as client:
        await client.location.list(ACCOUNT)
    assert thingspace.token_route.call_count == 0
    assert thingspace.login_route.call_count == 0
    assert thingspace.logout_route.call_count == 0
    assert thingspace.sent(thingspace.list_route, "Authorization") == ["Bearer fixed-access"]
    assert thingspace.sent(thingspace.list_route, "VZ-M2M-Token") == ["fixed-m2m"]


async def test_fixed_tokens_from_the_environment(
    thingspace: ThingSpace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THINGSPACE_ACCESS_TOKEN", "env-access")
    monkeypatch.setenv("THINGSPACE_M2M_TOKEN", "env-m2m")
    async with make_client() as client:
        await client.location.list(ACCOUNT)
    assert thingspace.token_route.call_count == 0
    assert thingspace.sent(thingspace.list_route, "Authorization") == ["Bearer env-access"]
    assert thingspace.sent(thingspace.list_route, "VZ-M2M-Token") == ["env-m2m"]


class HeaderAuth(Auth):
    """A gateway that wants its own header."""

    def __init__(self) -> None:
        self.calls = 0

    async def auth_headers(self, context: AuthContext) -> Mapping[str, str]:
        self.calls += 1
        return {"X-Gateway-Key": "k"}


async def test_a_custom_auth_object_is_used_as_is(thingspace: ThingSpace) -> None:
    auth = HeaderAuth()
    async with make_client(auth=auth) as client:
        await client.location.list(ACCOUNT)
        await client.location.list(ACCOUNT)
    assert auth.calls == 2
    assert thingspace.token_route.call_count == 0
    assert thingspace.sent(thingspace.list_route, "X-Gateway-Key") == ["k", "k"]
    assert thingspace.sent(thingspace.list_route, "Authorization") == [None, None]


async def test_client_credentials_with_a_fixed_session_token(thingspace: ThingSpace) -> None:
    auth = ThingSpaceAuth(
        oauth=OAuthClientCredentials(CLIENT_ID, CLIENT_SECRET), m2m_token="fixed-m2m"
    )
    async with make_client(auth) as client:
        await client.location.list(ACCOUNT)
    assert thingspace.token_route.call_count == 1
    assert thingspace.login_route.call_count == 0
    assert thingspace.logout_route.call_count == 0
    assert thingspace.sent(thingspace.list_route, "VZ-M2M-Token") == ["fixed-m2m"]


async def test_nothing_is_fetched_before_the_first_call(thingspace: ThingSpace) -> None:
    async with make_client(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, username="u", password="p"
    ):
        pass
    assert thingspace.token_route.call_count == 0
    assert thingspace.login_route.call_count == 0
    assert thingspace.logout_route.call_count == 0


async def test_an_auth_error_from_an_answer_without_credentials_is_not_replayed(
    thingspace: ThingSpace,
) -> None:
    thingspace.operation_answers(httpx.Response(401, json={"errorCode": "INVALID_ACCESS"}))
    async with make_client(access_token="fixed-access", m2m_token="fixed-m2m") as client:
        with pytest.raises(AuthenticationError):
            await client.location.list(ACCOUNT)
    assert thingspace.list_route.call_count == 1
