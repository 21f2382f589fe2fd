"""Fixed tokens, sent as given and never renewed, and a user's own Auth."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from thingspace_callbacks import (
    Auth,
    AuthContext,
    AuthenticationError,
    InvalidArgumentError,
    ThingSpaceAuth,
)

from ._support import (
    ACCOUNT,
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    USERNAME,
    ThingSpace,
    bearer_only,
    make_client,
)

pytestmark = pytest.mark.anyio

BEARER_REFUSED = {"fault": {"code": "900901", "message": "Invalid Credentials"}}


def fixed() -> ThingSpaceAuth:
    return ThingSpaceAuth(access_token="fixed-access", m2m_token="fixed-m2m")


async def test_fixed_tokens_need_no_token_request(thingspace: ThingSpace) -> None:
    async with make_client(fixed()) as client:
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
    async with make_client(ThingSpaceAuth.from_env()) as client:
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
    async with make_client(auth) as client:
        await client.location.list(ACCOUNT)
        await client.location.list(ACCOUNT)
    assert auth.calls == 2
    assert thingspace.token_route.call_count == 0
    assert thingspace.sent(thingspace.list_route, "X-Gateway-Key") == ["k", "k"]
    assert thingspace.sent(thingspace.list_route, "Authorization") == [None, None]


async def test_client_credentials_with_a_fixed_session_token(thingspace: ThingSpace) -> None:
    async with make_client(bearer_only(m2m_token="fixed-m2m")) as client:
        await client.location.list(ACCOUNT)
    assert thingspace.token_route.call_count == 1
    assert thingspace.login_route.call_count == 0
    assert thingspace.logout_route.call_count == 0
    assert thingspace.sent(thingspace.list_route, "VZ-M2M-Token") == ["fixed-m2m"]


async def test_a_fixed_bearer_token_carries_the_login(thingspace: ThingSpace) -> None:
    auth = ThingSpaceAuth(access_token="fixed-access", username=USERNAME, password=PASSWORD)
    async with make_client(auth) as client:
        await client.location.list(ACCOUNT)
    assert thingspace.token_route.call_count == 0
    assert thingspace.sent(thingspace.login_route, "Authorization") == ["Bearer fixed-access"]
    assert thingspace.sent(thingspace.list_route, "VZ-M2M-Token") == ["session-1"]
    assert thingspace.sent(thingspace.logout_route, "Authorization") == ["Bearer fixed-access"]


async def test_a_refused_fixed_bearer_token_is_never_renewed(thingspace: ThingSpace) -> None:
    # Neither at the login (which is not remembered as the user refused) ...
    thingspace.login_failures.append(httpx.Response(401, json=BEARER_REFUSED))
    auth = ThingSpaceAuth(access_token="fixed-access", username=USERNAME, password=PASSWORD)
    async with make_client(auth) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.location.list(ACCOUNT)
        assert str(caught.value).startswith("M2M session login failed: 401")
        assert thingspace.login_route.call_count == 1
        # ... nor by an operation's answer.
        thingspace.operation_answers(httpx.Response(401, json=BEARER_REFUSED))
        with pytest.raises(AuthenticationError):
            await client.location.list(ACCOUNT)
    assert thingspace.login_route.call_count == 2
    assert thingspace.list_route.call_count == 1
    assert thingspace.token_route.call_count == 0


async def test_nothing_is_fetched_before_the_first_call(thingspace: ThingSpace) -> None:
    auth = ThingSpaceAuth(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, username="u", password="p"
    )
    async with make_client(auth):
        pass
    assert thingspace.token_route.call_count == 0
    assert thingspace.login_route.call_count == 0
    assert thingspace.logout_route.call_count == 0


async def test_an_auth_error_from_an_answer_without_credentials_is_not_replayed(
    thingspace: ThingSpace,
) -> None:
    thingspace.operation_answers(httpx.Response(401, json={"errorCode": "INVALID_ACCESS"}))
    async with make_client(fixed()) as client:
        with pytest.raises(AuthenticationError):
            await client.location.list(ACCOUNT)
    assert thingspace.list_route.call_count == 1


def test_fixed_tokens_are_held_as_secrets() -> None:
    auth = ThingSpaceAuth(access_token="fixed-access", m2m_token=SecretStr("fixed-m2m"))
    assert repr(auth) == (
        "ThingSpaceAuth(access_token=SecretStr('**********'), m2m_token=SecretStr('**********'))"
    )
    assert auth.client_id is None
    assert auth.username is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"access_token": ""}, "'access_token' must be a non-empty string"),
        ({"m2m_token": SecretStr("")}, "'m2m_token' must be a non-empty string"),
        ({"access_token": 42}, "'access_token' must be a non-empty string"),
    ],
)
def test_empty_fixed_tokens_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        ThingSpaceAuth(**kwargs)
