"""Closing the client logs out the session it opened; token stores share tokens; the
on_token hook sees each new one."""

from __future__ import annotations

import logging

import httpx
import pytest

from thingspace_callbacks import MemoryTokenStore, Token, TokenStore

from ._support import ACCOUNT, CLIENT_ID, USERNAME, FakeClock, ThingSpace, make_auth, make_client

pytestmark = pytest.mark.anyio


async def test_closing_logs_out_the_session_it_opened(thingspace: ThingSpace) -> None:
    client = make_client(make_auth())
    async with client:
        await client.location.list(ACCOUNT)
    await client.aclose()  # twice: still one logout
    assert thingspace.logout_route.call_count == 1
    logout = thingspace.logout_route.calls[0].request
    assert logout.headers["VZ-M2M-Token"] == "session-1"
    assert logout.headers["Authorization"] == "Bearer access-1"


async def test_logout_on_close_false_keeps_the_session(thingspace: ThingSpace) -> None:
    async with make_client(make_auth(logout_on_close=False)) as client:
        await client.location.list(ACCOUNT)
    assert thingspace.logout_route.call_count == 0


async def test_a_failed_logout_does_not_raise(
    thingspace: ThingSpace, caplog: pytest.LogCaptureFixture
) -> None:
    thingspace.logout_route.mock(return_value=httpx.Response(500, text="down"))
    with caplog.at_level(logging.WARNING, logger="thingspace_callbacks"):
        async with make_client(make_auth()) as client:
            await client.location.list(ACCOUNT)
    assert thingspace.logout_route.call_count == 1
    assert "logout answered 500" in caplog.text


async def test_a_shared_store_shares_tokens_and_only_the_opener_logs_out(
    thingspace: ThingSpace, clock: FakeClock
) -> None:
    store = MemoryTokenStore()
    first = make_client(make_auth(clock, token_store=store))
    second = make_client(make_auth(clock, token_store=store))
    async with first, second:
        await first.location.list(ACCOUNT)
        await second.location.list(ACCOUNT)
        assert thingspace.token_route.call_count == 1
        assert thingspace.login_route.call_count == 1
        assert thingspace.sent(thingspace.list_route, "VZ-M2M-Token") == ["session-1"] * 2
        await second.aclose()
        # The second client found the session in the store: it is not its to end.
        assert thingspace.logout_route.call_count == 0
    assert thingspace.logout_route.call_count == 1
    assert await store.load(f"session_token:{first.base_url}:{USERNAME}") is None


async def test_a_stored_token_that_was_refused_is_not_reused(
    thingspace: ThingSpace, clock: FakeClock
) -> None:
    store = MemoryTokenStore()
    refused = httpx.Response(401, json={"fault": {"code": "900901", "message": "Invalid"}})
    thingspace.operation_answers(refused)
    async with make_client(make_auth(clock, token_store=store)) as client:
        assert await client.location.list(ACCOUNT) == []
    assert thingspace.token_route.call_count == 2
    key = f"access_token:{client.base_url}:{CLIENT_ID}"
    stored = await store.load(key)
    assert stored is not None
    assert stored.value.get_secret_value() == "access-2"
    assert stored.expires_at == clock.now + 3600


class BrokenStore(TokenStore):
    async def load(self, key: str) -> Token | None:
        raise ConnectionError("redis down")

    async def save(self, key: str, token: Token) -> None:
        raise ConnectionError("redis down")


async def test_a_failing_store_is_bypassed(
    thingspace: ThingSpace, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="thingspace_callbacks"):
        async with make_client(make_auth(token_store=BrokenStore())) as client:
            assert await client.location.list(ACCOUNT) == []
    assert "token store failed to load the access_token (ConnectionError)" in caplog.text


async def test_on_token_sees_each_new_token(thingspace: ThingSpace) -> None:
    seen: list[tuple[str, str]] = []

    async def on_token(token: Token) -> None:
        seen.append((token.kind, token.value.get_secret_value()))

    refused = httpx.Response(401, json={"fault": {"code": "900901", "message": "Invalid"}})
    thingspace.operation_answers(refused)
    async with make_client(make_auth(on_token=on_token)) as client:
        await client.location.list(ACCOUNT)
    assert seen == [
        ("access_token", "access-1"),
        ("session_token", "session-1"),
        ("access_token", "access-2"),
    ]


async def test_a_failing_on_token_hook_does_not_break_calls(thingspace: ThingSpace) -> None:
    def on_token(token: Token) -> None:
        raise RuntimeError("observer bug")

    async with make_client(make_auth(on_token=on_token)) as client:
        assert await client.location.list(ACCOUNT) == []


class ForgetfulStore(TokenStore):
    """Keeps nothing, so only the credential's own cache holds tokens."""

    async def load(self, key: str) -> Token | None:
        return None

    async def save(self, key: str, token: Token) -> None:
        pass


async def test_reset_forgets_the_tokens_obtained(thingspace: ThingSpace) -> None:
    auth = make_auth(token_store=ForgetfulStore())
    async with make_client(auth) as client:
        await client.location.list(ACCOUNT)
        auth.reset()
        await client.location.list(ACCOUNT)
    assert thingspace.token_route.call_count == 2
    assert thingspace.login_route.call_count == 2
    assert thingspace.sent(thingspace.list_route, "Authorization") == [
        "Bearer access-1",
        "Bearer access-2",
    ]
    assert thingspace.sent(thingspace.list_route, "VZ-M2M-Token") == ["session-1", "session-2"]
    # The session opened after the reset is still this object's to log out.
    assert thingspace.sent(thingspace.logout_route, "VZ-M2M-Token") == ["session-2"]


async def test_reset_reuses_valid_tokens_a_store_holds(
    thingspace: ThingSpace, clock: FakeClock
) -> None:
    store = MemoryTokenStore()
    auth = make_auth(clock, token_store=store)
    async with make_client(auth) as client:
        await client.location.list(ACCOUNT)
        auth.reset()
        await client.location.list(ACCOUNT)
    assert thingspace.token_route.call_count == 1
    assert thingspace.login_route.call_count == 1


def test_tokens_round_trip_through_dicts() -> None:
    token = Token(kind="session_token", value="s3cr3t", expires_at=12.5)  # type: ignore[arg-type]
    data = token.to_dict()
    assert data == {"kind": "session_token", "value": "s3cr3t", "expires_at": 12.5, "scope": None}
    assert Token.from_dict(data) == token
    with pytest.raises(ValueError, match="unknown token kind"):
        Token.from_dict({**data, "kind": "cookie"})
