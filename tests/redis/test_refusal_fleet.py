"""A fleet sharing a RedisTokenStore with a wrong password (or client secret) sends one
login (or token request) in all: 8 processes started together, then 8 more after
them (4 and 4 for the client secret, which takes the same path), each raising the
recorded refusal without contacting ThingSpace. Changed credentials are tried; the
record lapses in Redis and is cleared by ``client.auth.clear_refusals()`` and by
``thingspace-callbacks auth reset``; it holds no secret. Real processes, a real
``redis-server``, the sandbox on a socket (which counts the logins it answers)."""

from __future__ import annotations

import json
import time
from typing import Any

import anyio
import pytest
import redis
from click.testing import Result

from thingspace_callbacks import AsyncThingSpaceClient, AuthenticationError, ThingSpaceAuth
from thingspace_callbacks.redis import RedisTokenStore
from thingspace_callbacks.sandbox import Faults

from ..cli.conftest import invoke
from ._fleet import CREDENTIALS, Fleet
from .conftest import RedisServer, SandboxOnSocket

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(60)]

ACCOUNT = "0252012345-00001"
WRONG_PASSWORD = "wrong-password-Qx5"
WRONG_SECRET = "wrong-client-secret-Lm3"


def _refused_fleet(
    sandbox: SandboxOnSocket, redis_server: RedisServer, credentials: dict[str, str], size: int
) -> list[dict[str, Any]]:
    """``size`` processes sharing the Redis, calling at the same moment, then ``size``
    more once those exited: what each reported."""
    results: list[dict[str, Any]] = []
    for _ in range(2):
        with Fleet(sandbox.base_url, redis_server.url, credentials=credentials) as fleet:
            fleet.start(size)
            results += fleet.calls(1)
    assert len(results) == 2 * size
    return results


def _all_refused(results: list[dict[str, Any]], what: str) -> None:
    for result in results:
        assert (result["ok"], result["errors"]) == (0, ["AuthenticationError"]), result
        [message] = result["messages"]
        assert message.startswith(f"{what} refused for "), message
        assert "not retried until" in message
        assert "thingspace-callbacks auth reset" in message


def _reset(
    sandbox: SandboxOnSocket, redis_server: RedisServer, password: str, *options: str
) -> Result:
    result = invoke(
        [*options, "auth", "reset", "--store", redis_server.url],
        env={
            "THINGSPACE_BASE_URL": sandbox.base_url,
            "THINGSPACE_CLIENT_ID": CREDENTIALS["client_id"],
            "THINGSPACE_CLIENT_SECRET": CREDENTIALS["client_secret"],
            "THINGSPACE_USERNAME": CREDENTIALS["username"],
            "THINGSPACE_PASSWORD": password,
            "THINGSPACE_QUEUE": None,
        },
    )
    assert result.exit_code == 0, result.output
    return result


def _values(redis_server: RedisServer) -> dict[bytes, bytes]:
    with redis.Redis(host="127.0.0.1", port=redis_server.port) as keys:
        return {name: keys.dump(name) or b"" for name in keys.keys("*")}


def test_a_fleet_with_a_wrong_password_sends_one_login_in_all(
    sandbox: SandboxOnSocket, redis_server: RedisServer
) -> None:
    # Logins take a while: the processes arrive while the first one is in flight, and
    # wait on the store's lock for its outcome.
    sandbox.sandbox.faults = Faults(latency=0.3, include_auth=True)
    wrong = {**CREDENTIALS, "password": WRONG_PASSWORD}
    results = _refused_fleet(sandbox, redis_server, wrong, 8)
    assert sandbox.calls("login") == 1
    _all_refused(results, "M2M session login")
    assert sandbox.calls("token") == 1  # the bearer token, shared as usual
    assert sandbox.calls("location.list") == 0

    # Nothing in Redis holds the password, nor the client secret.
    values = _values(redis_server)
    assert any(name.startswith(b"thingspace:refusal:session_token:") for name in values)
    for name, value in values.items():
        for secret in (WRONG_PASSWORD, CREDENTIALS["client_secret"]):
            assert secret.encode() not in name + value, name

    sandbox.sandbox.faults = Faults()
    # An operator clears it: the next process tries (and is refused) again.
    cleared = _reset(sandbox, redis_server, WRONG_PASSWORD)
    assert "auth reset: cleared the refusal recorded for client id" in cleared.stderr
    again = _reset(sandbox, redis_server, WRONG_PASSWORD, "--json")
    assert json.loads(again.stdout) == {
        "cleared": False,
        "baseUrl": sandbox.base_url,
        "clientId": CREDENTIALS["client_id"],
        "username": CREDENTIALS["username"],
    }
    with Fleet(sandbox.base_url, redis_server.url, credentials=wrong) as fleet:
        fleet.start(1)
        assert [r["errors"] for r in fleet.calls(1)] == [["AuthenticationError"]]
    assert sandbox.calls("login") == 2

    # The password fixed: these credentials were never refused, so they are tried.
    with Fleet(sandbox.base_url, redis_server.url) as fleet:
        fleet.start(1)
        assert [r["ok"] for r in fleet.calls(1)] == [1]
    assert sandbox.calls("login") == 3


def test_a_fleet_with_a_wrong_client_secret_sends_one_token_request_in_all(
    sandbox: SandboxOnSocket, redis_server: RedisServer
) -> None:
    sandbox.sandbox.faults = Faults(latency=0.3, include_auth=True)
    wrong = {**CREDENTIALS, "client_secret": WRONG_SECRET}
    results = _refused_fleet(sandbox, redis_server, wrong, 4)
    assert sandbox.calls("token") == 1
    _all_refused(results, "OAuth token request")
    assert sandbox.calls("login") == 0
    for name, value in _values(redis_server).items():
        assert WRONG_SECRET.encode() not in name + value, name


async def test_a_refusal_lapses_in_redis_and_clear_refusals_removes_it(
    sandbox: SandboxOnSocket, redis_server: RedisServer
) -> None:
    def auth(store: RedisTokenStore, **kwargs: Any) -> ThingSpaceAuth:
        arguments: dict[str, Any] = {**CREDENTIALS, "password": WRONG_PASSWORD, **kwargs}
        return ThingSpaceAuth(**arguments, token_store=store)

    async def refused(store: RedisTokenStore, **kwargs: Any) -> AuthenticationError:
        async with AsyncThingSpaceClient(
            base_url=sandbox.base_url, auth=auth(store, **kwargs)
        ) as client:
            with pytest.raises(AuthenticationError) as caught:
                await client.location.list(ACCOUNT)
        return caught.value

    async with RedisTokenStore(redis_server.url) as store:
        # Long enough for the second client to try on a loaded machine.
        await refused(store, refusal_ttl=3.0)
        await refused(store)
        assert sandbox.calls("login") == 1
        with redis.Redis(host="127.0.0.1", port=redis_server.port) as keys:
            [name] = keys.keys("thingspace:refusal:*")
            assert 0 < keys.pttl(name) <= 3000
            # Redis forgets it after refusal_ttl: the next process tries again.
            deadline = time.monotonic() + 10
            while keys.exists(name):
                assert time.monotonic() < deadline, "the refusal never lapsed"
                await anyio.sleep(0.05)
        await refused(store)
        assert sandbox.calls("login") == 2
        # Cleared by the method, from a process that made no request.
        assert await auth(store).clear_refusals(sandbox.base_url) is True
        await refused(store)
        assert sandbox.calls("login") == 3
