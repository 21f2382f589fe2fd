"""A refused login or client secret is kept in the token store, under a digest of the
credentials, and honoured by every process sharing it: one refused login for a whole
fleet, and for its restarts, until the credentials change, the record lapses or it is
cleared. Each ``ThingSpaceAuth`` here stands for a process (see test_shared_store);
the real processes are in tests/redis/test_refusal_fleet.py."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import httpx
import pytest

from thingspace_callbacks import (
    APIConnectionError,
    AsyncThingSpaceClient,
    AuthenticationError,
    InvalidArgumentError,
    MemoryTokenStore,
    Refusal,
    ThingSpaceAuth,
)

from ._support import (
    ACCOUNT,
    CLIENT_ID,
    CLIENT_SECRET,
    LOGIN_PATH,
    PASSWORD,
    TOKEN_PATH,
    USERNAME,
    FakeClock,
    ThingSpace,
    bearer_only,
    make_auth,
    make_client,
)
from .test_shared_store import MemorySharedStore

pytestmark = pytest.mark.anyio

LOGIN_REFUSED = httpx.Response(
    400,
    json={"errorCode": "REQUEST_FAILED.UnexpectedError", "errorMessage": "Invalid credentials"},
    headers={"x-request-id": "req-41"},
)
SECRET_REFUSED = httpx.Response(
    401, json={"error": "invalid_client", "error_description": "Client authentication failed"}
)


class RefusalKeepingStore(MemorySharedStore):
    """A SharedTokenStore in memory that keeps refusals too, and counts its reads."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.refusals: dict[str, Refusal] = {}
        self.failing = False

    async def load_refusal(self, key: str) -> Refusal | None:
        if self.failing:
            raise RuntimeError("store down")
        return self.refusals.get(key)

    async def save_refusal(self, key: str, refusal: Refusal) -> None:
        if self.failing:
            raise RuntimeError("store down")
        self.refusals[key] = refusal

    async def delete_refusal(self, key: str) -> bool:
        return self.refusals.pop(key, None) is not None


def _auth(clock: FakeClock, **kwargs: Any) -> ThingSpaceAuth:
    """``make_auth``'s credentials, any of them replaced by ``kwargs``."""
    arguments: dict[str, Any] = {
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "username": USERNAME,
        "password": PASSWORD,
        "clock": clock,
        **kwargs,
    }
    return ThingSpaceAuth(**arguments)


def _fleet(
    store: MemorySharedStore, count: int, clock: FakeClock, **kwargs: Any
) -> list[AsyncThingSpaceClient]:
    return [make_client(_auth(clock, token_store=store, **kwargs)) for _ in range(count)]


async def _call_each(clients: list[AsyncThingSpaceClient]) -> list[BaseException | None]:
    """One call per client, all at once; what each raised (``None``: it succeeded)."""
    outcomes: list[BaseException | None] = [None] * len(clients)

    async def one(index: int) -> None:
        try:
            await clients[index].location.list(ACCOUNT)
        except Exception as exc:
            outcomes[index] = exc

    async with anyio.create_task_group() as tg:
        for index in range(len(clients)):
            tg.start_soon(one, index)
    return outcomes


def _refused(outcomes: list[BaseException | None]) -> list[AuthenticationError]:
    assert all(isinstance(outcome, AuthenticationError) for outcome in outcomes), outcomes
    return [outcome for outcome in outcomes if isinstance(outcome, AuthenticationError)]


async def test_one_refused_login_stops_every_process_and_every_restart(
    thingspace: ThingSpace, clock: FakeClock
) -> None:
    thingspace.delay = 0.05  # the login is in flight while every process arrives
    thingspace.login_failures.append(LOGIN_REFUSED)
    store = RefusalKeepingStore()
    errors = _refused(await _call_each(_fleet(store, 8, clock)))
    # ... and 8 more processes, started after the first ones exited.
    errors += _refused(await _call_each(_fleet(store, 8, clock)))
    assert thingspace.login_route.call_count == 1
    assert thingspace.list_route.call_count == 0
    for error in errors:
        assert (error.status_code, error.error_code) == (400, "REQUEST_FAILED.UnexpectedError")
        assert error.error_message == "Invalid credentials"
        assert error.request_id == "req-41"
        assert error.request.url.path == "/api" + LOGIN_PATH
        message = str(error)
        assert message.startswith(f"M2M session login refused for user {USERNAME!r} at ")
        assert "2023-11-14 22:13:20 UTC" in message  # when (the fake clock's time)
        assert "not retried until 2023-11-14 22:43:20 UTC" in message  # 30 min later
        assert "five refused logins lock the user" in message
        assert "thingspace-callbacks auth reset" in message
        assert "client.clear_refusals()" in message
        assert PASSWORD not in message + repr(error.body)


async def test_one_refused_client_secret_stops_every_process(
    thingspace: ThingSpace, clock: FakeClock
) -> None:
    thingspace.delay = 0.05
    thingspace.token_failures.append(SECRET_REFUSED)
    store = RefusalKeepingStore()
    errors = _refused(await _call_each(_fleet(store, 8, clock)))
    errors += _refused(await _call_each(_fleet(store, 8, clock)))
    assert thingspace.token_route.call_count == 1
    assert thingspace.login_route.call_count == 0
    for error in errors:
        assert (error.status_code, error.error_code) == (401, "invalid_client")
        assert error.request.url.path == "/api" + TOKEN_PATH
        assert str(error).startswith("OAuth token request refused for client id ")
        assert CLIENT_SECRET not in str(error)


async def test_the_record_holds_no_secret(thingspace: ThingSpace, clock: FakeClock) -> None:
    thingspace.token_failures.append(SECRET_REFUSED)
    thingspace.login_failures.append(LOGIN_REFUSED)
    store = RefusalKeepingStore()
    await _call_each(_fleet(store, 1, clock))  # the client secret is refused
    await _call_each(_fleet(store, 1, clock, client_secret="fixed-secret"))  # the login
    assert len(store.refusals) == 2
    shown = repr(store.refusals)
    for secret in (PASSWORD, CLIENT_SECRET, "fixed-secret"):
        assert secret not in shown
    # The keys name the credentials (not secrets) and end with a digest.
    keys = sorted(store.refusals)
    assert keys[0].startswith("access_token:https://thingspace.verizon.com/api:app-key-7f3a:")
    assert keys[1].startswith(f"session_token:https://thingspace.verizon.com/api:{USERNAME}:")


async def test_other_credentials_are_tried(thingspace: ThingSpace, clock: FakeClock) -> None:
    thingspace.login_failures.append(LOGIN_REFUSED)
    store = RefusalKeepingStore()
    _refused(await _call_each(_fleet(store, 2, clock)))
    # The password was fixed: a new login, which succeeds.
    assert await _call_each(_fleet(store, 2, clock, password="the-right-one")) == [None, None]
    assert thingspace.login_route.call_count == 2


async def test_a_refusal_lapses_after_refusal_ttl(thingspace: ThingSpace, clock: FakeClock) -> None:
    thingspace.login_failures.append(LOGIN_REFUSED)
    store = RefusalKeepingStore()
    _refused(await _call_each(_fleet(store, 2, clock, refusal_ttl=120)))
    clock.advance(119)
    _refused(await _call_each(_fleet(store, 2, clock, refusal_ttl=120)))
    assert thingspace.login_route.call_count == 1
    clock.advance(1)
    # The store may hand back a lapsed record: the SDK goes by its expiry.
    assert len(store.refusals) == 1
    assert await _call_each(_fleet(store, 2, clock)) == [None, None]
    assert thingspace.login_route.call_count == 2


async def test_a_process_that_saw_the_refusal_tries_again_once_it_lapses(
    thingspace: ThingSpace, clock: FakeClock
) -> None:
    thingspace.login_failures.append(LOGIN_REFUSED)
    client = make_client(make_auth(clock, refusal_ttl=60))
    with pytest.raises(AuthenticationError):
        await client.location.list(ACCOUNT)
    clock.advance(59)
    with pytest.raises(AuthenticationError):
        await client.location.list(ACCOUNT)
    clock.advance(1)
    assert await client.location.list(ACCOUNT) == []
    assert thingspace.login_route.call_count == 2


async def test_clear_refusals_lets_every_process_try_again(
    thingspace: ThingSpace, clock: FakeClock
) -> None:
    thingspace.login_failures.append(LOGIN_REFUSED)
    store = RefusalKeepingStore()
    running = _fleet(store, 3, clock)
    _refused(await _call_each(running))
    # An operator, in another process that made no request, clears it.
    operator = make_auth(clock, token_store=store)
    with pytest.raises(InvalidArgumentError, match="pass the API root"):
        await operator.clear_refusals()
    assert await operator.clear_refusals("https://thingspace.verizon.com/api") is True
    assert store.refusals == {}
    assert await operator.clear_refusals("https://thingspace.verizon.com/api") is False
    # The processes still running try again (once for all), and so does a new one.
    assert await _call_each([*running, *_fleet(store, 1, clock)]) == [None] * 4
    assert thingspace.login_route.call_count == 2


async def test_clear_refusals_defaults_to_the_api_root_of_the_last_request(
    thingspace: ThingSpace, clock: FakeClock
) -> None:
    thingspace.token_failures.append(SECRET_REFUSED)
    store = RefusalKeepingStore()
    auth = make_auth(clock, token_store=store)
    client = make_client(auth)
    with pytest.raises(AuthenticationError):
        await client.location.list(ACCOUNT)
    assert await auth.clear_refusals() is True
    assert store.refusals == {}
    assert await client.location.list(ACCOUNT) == []
    assert thingspace.token_route.call_count == 2


async def test_reset_after_a_refusal_clears_it_for_every_process(
    thingspace: ThingSpace, clock: FakeClock
) -> None:
    thingspace.login_failures.append(LOGIN_REFUSED)
    store = RefusalKeepingStore()
    first, second = _fleet(store, 2, clock)
    _refused(await _call_each([first, second]))
    first.auth.reset()  # type: ignore[attr-defined]  # after fixing the user on ThingSpace
    assert await first.location.list(ACCOUNT) == []
    assert store.refusals == {}
    assert await second.location.list(ACCOUNT) == []
    assert thingspace.login_route.call_count == 2


async def test_reset_without_a_refusal_leaves_another_process_s_record(
    thingspace: ThingSpace, clock: FakeClock
) -> None:
    thingspace.login_failures.append(LOGIN_REFUSED)
    store = RefusalKeepingStore()
    _refused(await _call_each(_fleet(store, 1, clock)))
    fresh = make_auth(clock, token_store=store)
    fresh.reset()  # it never saw the refusal: nothing of it to retry
    with pytest.raises(AuthenticationError, match="refused"):
        await make_client(fresh).location.list(ACCOUNT)
    assert thingspace.login_route.call_count == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500, text="Internal Server Error"),
        httpx.Response(503, text="unavailable"),
        httpx.Response(429, json={"errorCode": "TOO_MANY", "errorMessage": "slow down"}),
        httpx.Response(408, text="timeout"),
        httpx.Response(404, json={"fault": {"code": "900906", "message": "No resource"}}),
        httpx.Response(405, text="Method Not Allowed"),
        httpx.ConnectError("refused"),
    ],
    ids=["500", "503", "429", "408", "404", "405", "connection"],
)
@pytest.mark.parametrize("endpoint", ["login", "token"])
async def test_transient_failures_are_not_recorded(
    thingspace: ThingSpace,
    clock: FakeClock,
    failure: httpx.Response | Exception,
    endpoint: str,
) -> None:
    route = thingspace.login_route if endpoint == "login" else thingspace.token_route
    original = route.side_effect
    route.side_effect = [failure]
    store = RefusalKeepingStore()
    [outcome] = await _call_each(_fleet(store, 1, clock))
    assert isinstance(outcome, (AuthenticationError, APIConnectionError))
    assert store.refusals == {}
    route.side_effect = original
    # Another process, and the same one, try again.
    assert await _call_each(_fleet(store, 1, clock)) == [None]
    assert route.call_count == 2


async def test_the_gateway_refusing_the_bearer_token_at_login_is_not_recorded(
    thingspace: ThingSpace, clock: FakeClock
) -> None:
    bearer_refused = httpx.Response(
        401, json={"fault": {"code": "900901", "message": "Invalid Credentials"}}
    )
    thingspace.login_failures += [bearer_refused, bearer_refused]
    store = RefusalKeepingStore()
    _refused(await _call_each(_fleet(store, 1, clock)))
    assert store.refusals == {}
    assert await _call_each(_fleet(store, 1, clock)) == [None]


async def test_a_store_keeping_no_refusals_leaves_each_process_its_own(
    thingspace: ThingSpace, clock: FakeClock
) -> None:
    # A SharedTokenStore of before refusals were shared: each process remembers the
    # refusal it got and never retries it, as before.
    thingspace.login_failures += [LOGIN_REFUSED] * 3
    clients = _fleet(MemorySharedStore(), 3, clock)
    for _ in range(3):
        _refused(await _call_each(clients))
    assert thingspace.login_route.call_count == 3


async def test_a_failing_store_leaves_each_process_its_own(
    thingspace: ThingSpace, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    thingspace.login_failures.append(LOGIN_REFUSED)
    store = RefusalKeepingStore()
    store.failing = True
    client = make_client(make_auth(clock, token_store=store))
    with caplog.at_level(logging.WARNING, logger="thingspace_callbacks"):
        for _ in range(3):
            with pytest.raises(AuthenticationError):
                await client.location.list(ACCOUNT)
        # Back: the record could not be saved, so this process still goes by its own.
        store.failing = False
        with pytest.raises(AuthenticationError):
            await client.location.list(ACCOUNT)
    assert thingspace.login_route.call_count == 1
    assert "failed to save the refusal of the session_token (RuntimeError)" in caplog.text
    assert PASSWORD not in caplog.text


async def test_a_memory_token_store_shares_refusals_between_its_clients(
    thingspace: ThingSpace, clock: FakeClock
) -> None:
    thingspace.token_failures.append(SECRET_REFUSED)
    store = MemoryTokenStore()
    for _ in range(3):
        with pytest.raises(AuthenticationError, match="refused"):
            await make_client(bearer_only(token_store=store, clock=clock)).location.list(ACCOUNT)
    assert thingspace.token_route.call_count == 1
    assert "secret" not in repr(store).lower()


@pytest.mark.parametrize("value", [0, -1, float("inf"), True, "60"])
def test_refusal_ttl_is_checked(value: object) -> None:
    with pytest.raises(InvalidArgumentError, match="'refusal_ttl' must be"):
        ThingSpaceAuth(
            client_id="a",
            client_secret="b",
            refusal_ttl=value,  # type: ignore[arg-type]
        )


def test_refusal_ttl_from_env_is_passed_on() -> None:
    auth = ThingSpaceAuth.from_env(
        {"THINGSPACE_CLIENT_ID": "a", "THINGSPACE_CLIENT_SECRET": "b"}, refusal_ttl=5
    )
    assert auth.client_id == "a"


def test_a_refusal_round_trips_as_a_dict() -> None:
    refusal = Refusal("session_token", 1.0, 2.0, 400, "CODE", "message", "req-1")
    assert Refusal.from_dict(refusal.to_dict()) == refusal
    with pytest.raises(ValueError, match="unknown token kind"):
        Refusal.from_dict({**refusal.to_dict(), "kind": "other"})
    with pytest.raises(TypeError):
        Refusal.from_dict({**refusal.to_dict(), "status_code": "400"})
