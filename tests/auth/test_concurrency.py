"""Hundreds of tasks on one fresh client: one token request, one login."""

from __future__ import annotations

import anyio
import httpx
import pytest

from thingspace_callbacks import AuthenticationError

from ._support import ACCOUNT, PASSWORD, USERNAME, ThingSpace, bearer_only, make_auth, make_client

pytestmark = pytest.mark.anyio


async def test_500_concurrent_calls_make_one_token_request_and_one_login(
    thingspace: ThingSpace,
) -> None:
    thingspace.delay = 0.05  # both stay in flight while every task arrives
    done = 0
    async with make_client(make_auth()) as client:

        async def call() -> None:
            nonlocal done
            assert await client.location.list(ACCOUNT) == []
            done += 1

        async with anyio.create_task_group() as tg:
            for _ in range(500):
                tg.start_soon(call)

    assert done == 500
    assert thingspace.token_route.call_count == 1
    assert thingspace.login_route.call_count == 1
    assert thingspace.list_route.call_count == 500
    assert set(thingspace.sent(thingspace.list_route, "Authorization")) == {"Bearer access-1"}
    assert set(thingspace.sent(thingspace.list_route, "VZ-M2M-Token")) == {"session-1"}
    # The login carried the bearer token and the user's credentials.
    login = thingspace.login_route.calls[0].request
    assert login.headers["Authorization"] == "Bearer access-1"
    assert login.read() == f'{{"username":"{USERNAME}","password":"{PASSWORD}"}}'.encode()


async def test_a_failed_token_request_reaches_every_waiter_and_the_next_call_retries(
    thingspace: ThingSpace,
) -> None:
    thingspace.delay = 0.02
    thingspace.token_failures.append(httpx.Response(503, json={"error": "temporarily_unavailable"}))
    errors: list[AuthenticationError] = []
    async with make_client(bearer_only()) as client:

        async def call() -> None:
            try:
                await client.location.list(ACCOUNT)
            except AuthenticationError as exc:
                errors.append(exc)

        async with anyio.create_task_group() as tg:
            for _ in range(50):
                tg.start_soon(call)

        assert thingspace.token_route.call_count == 1
        assert len(errors) == 50
        assert all(error is errors[0] for error in errors)
        assert errors[0].status_code == 503
        assert errors[0].error_code == "temporarily_unavailable"
        assert thingspace.list_route.call_count == 0

        # The failure is not remembered: the next call asks again and succeeds.
        assert await client.location.list(ACCOUNT) == []
    assert thingspace.token_route.call_count == 2
