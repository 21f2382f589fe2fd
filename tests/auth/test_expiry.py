"""Renewing ahead of expiry: the bearer token before its hour ends, the session before it
idles out; driven by an injected clock, no sleeping."""

from __future__ import annotations

import logging

import anyio
import httpx
import pytest

from ._support import ACCOUNT, FakeClock, ThingSpace, make_auth, make_client

pytestmark = pytest.mark.anyio


async def test_a_token_close_to_expiry_is_renewed_once(
    thingspace: ThingSpace, clock: FakeClock
) -> None:
    thingspace.delay = 0.01
    async with make_client(make_auth(clock, refresh_margin=60)) as client:
        await client.location.list(ACCOUNT)
        clock.advance(3600 - 61)  # not yet within the margin
        await client.location.list(ACCOUNT)
        assert thingspace.token_route.call_count == 1

        clock.advance(2)  # 59 s left: renew, once, however many calls need it
        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(client.location.list, ACCOUNT)
        assert thingspace.token_route.call_count == 2
        assert (
            thingspace.sent(thingspace.list_route, "Authorization")[-20:]
            == ["Bearer access-2"] * 20
        )
    # The session idled for most of that hour, so it was renewed too, once.
    assert thingspace.login_route.call_count == 2


async def test_the_same_token_handed_out_again_is_not_asked_for_on_every_call(
    thingspace: ThingSpace, clock: FakeClock
) -> None:
    # Within its hour ThingSpace hands out the same token again, with less time left.
    answers = [
        httpx.Response(200, json={"access_token": "same", "expires_in": 3600}),
        httpx.Response(200, json={"access_token": "same", "expires_in": 50}),
        httpx.Response(200, json={"access_token": "fresh", "expires_in": 3600}),
    ]
    thingspace.token_route.mock(side_effect=answers)
    async with make_client(make_auth(clock, refresh_margin=60)) as client:
        await client.location.list(ACCOUNT)
        clock.advance(3550)
        await client.location.list(ACCOUNT)  # renews early, gets "same" with 50 s left
        assert thingspace.token_route.call_count == 2
        for _ in range(10):
            clock.advance(2)
            await client.location.list(ACCOUNT)
        assert thingspace.token_route.call_count == 2
        clock.advance(30)  # past halfway to its lapse: ask again
        await client.location.list(ACCOUNT)
        assert thingspace.token_route.call_count == 3
        assert thingspace.sent(thingspace.list_route, "Authorization")[-1] == "Bearer fresh"


async def test_an_idle_session_is_renewed_once_and_a_used_one_is_kept(
    thingspace: ThingSpace, clock: FakeClock
) -> None:
    thingspace.delay = 0.01
    thingspace.expires_in = 10 * 3600  # keep the bearer token out of the picture
    async with make_client(make_auth(clock, refresh_margin=60)) as client:
        # Used every 10 minutes for two hours: ThingSpace keeps it alive, so do we.
        for _ in range(12):
            await client.location.list(ACCOUNT)
            clock.advance(600)
        assert thingspace.login_route.call_count == 1

        clock.advance(19 * 60 + 1 - 600)  # idle for 19 min 1 s: within the margin of 20 min
        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(client.location.list, ACCOUNT)
        assert thingspace.login_route.call_count == 2
        assert thingspace.sent(thingspace.list_route, "VZ-M2M-Token")[-20:] == ["session-2"] * 20
    assert thingspace.token_route.call_count == 1


async def test_a_failed_early_renewal_keeps_the_valid_token(
    thingspace: ThingSpace, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    async with make_client(make_auth(clock, refresh_margin=60)) as client:
        await client.location.list(ACCOUNT)
        clock.advance(3600 - 30)
        thingspace.token_failures.append(httpx.Response(500, text="gateway down"))
        with caplog.at_level(logging.WARNING, logger="thingspace_callbacks"):
            assert await client.location.list(ACCOUNT) == []
        assert thingspace.token_route.call_count == 2
        assert thingspace.sent(thingspace.list_route, "Authorization")[-1] == "Bearer access-1"
        assert "renewing the access_token early failed" in caplog.text

        # It waits a little before asking again, then renews.
        await client.location.list(ACCOUNT)
        assert thingspace.token_route.call_count == 2
        clock.advance(11)
        await client.location.list(ACCOUNT)
        assert thingspace.token_route.call_count == 3
        assert thingspace.sent(thingspace.list_route, "Authorization")[-1] == "Bearer access-2"
