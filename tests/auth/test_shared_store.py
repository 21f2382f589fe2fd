"""Credentials on a SharedTokenStore renew as one however many processes use it: a lock
per key (waited on, taken over when it lapses), compare-and-swap saves, and a shared
session that closing never logs out. Each ``ThingSpaceAuth`` here stands for a process:
it has its own cache and its own in-process single flight, and only the store joins
them."""

from __future__ import annotations

import logging
import uuid

import anyio
import httpx
import pytest

from thingspace_callbacks import AsyncThingSpaceClient, Token
from thingspace_callbacks._auth import SharedTokenStore

from ._support import ACCOUNT, CLIENT_ID, USERNAME, ThingSpace, make_auth, make_client

pytestmark = pytest.mark.anyio

REFUSED = httpx.Response(401, json={"fault": {"code": "900901", "message": "Invalid"}})


class MemorySharedStore(SharedTokenStore):
    """A SharedTokenStore in memory, its locks lapsing on the event loop's clock."""

    def __init__(self, lock_ttl: float = 5.0, *, locking: bool = True) -> None:
        self.lock_ttl = lock_ttl
        self.locking = locking
        """``False``: every lock is granted, as if each holder's had lapsed."""
        self.tokens: dict[str, Token] = {}
        self.locks: dict[str, tuple[str, float]] = {}

    async def load(self, key: str) -> Token | None:
        return self.tokens.get(key)

    async def save(self, key: str, token: Token) -> None:
        self.tokens[key] = token

    async def delete(self, key: str) -> None:
        self.tokens.pop(key, None)

    async def acquire(self, key: str) -> str | None:
        now = anyio.current_time()
        held = self.locks.get(key)
        if self.locking and held is not None and held[1] > now:
            return None
        lease = uuid.uuid4().hex
        self.locks[key] = (lease, now + self.lock_ttl)
        return lease

    async def release(self, key: str, lease: str) -> None:
        if self.locks.get(key, ("", 0.0))[0] == lease:
            del self.locks[key]

    async def compare_and_swap(self, key: str, expected: Token | None, new: Token | None) -> bool:
        held = self.tokens.get(key)
        if _value(held) != _value(expected):
            return False
        if new is None:
            self.tokens.pop(key, None)
        else:
            self.tokens[key] = new
        return True


def _value(token: Token | None) -> str | None:
    return None if token is None else token.value.get_secret_value()


def _processes(store: SharedTokenStore, count: int) -> list[AsyncThingSpaceClient]:
    return [make_client(make_auth(token_store=store)) for _ in range(count)]


async def _call_all(clients: list[AsyncThingSpaceClient], calls: int = 10) -> None:
    async with anyio.create_task_group() as tg:
        for client in clients:
            for _ in range(calls):
                tg.start_soon(client.location.list, ACCOUNT)


async def test_processes_starting_together_make_one_token_request_and_one_login(
    thingspace: ThingSpace,
) -> None:
    thingspace.delay = 0.05  # in flight while every process arrives
    store = MemorySharedStore()
    clients = _processes(store, 5)
    await _call_all(clients)
    assert thingspace.token_route.call_count == 1
    assert thingspace.login_route.call_count == 1
    assert set(thingspace.sent(thingspace.list_route, "VZ-M2M-Token")) == {"session-1"}
    # A process started later uses what the store holds.
    await _call_all(_processes(store, 1))
    assert thingspace.token_route.call_count == 1
    for client in clients:
        await client.aclose()
    # The session is shared: closing a client does not end it.
    assert thingspace.logout_route.call_count == 0


async def test_a_refused_token_is_renewed_once_for_every_process(thingspace: ThingSpace) -> None:
    store = MemorySharedStore()
    clients = _processes(store, 4)
    await _call_all(clients, 1)
    thingspace.delay = 0.05
    thingspace.operation_answers(*[REFUSED] * 4)
    await _call_all(clients, 1)
    assert thingspace.token_route.call_count == 2
    assert thingspace.sent(thingspace.list_route, "Authorization")[-4:] == ["Bearer access-2"] * 4
    stored = store.tokens[f"access_token:{clients[0].base_url}:{CLIENT_ID}"]
    assert stored.value.get_secret_value() == "access-2"


async def test_a_process_that_loses_the_race_uses_the_token_saved_first(
    thingspace: ThingSpace,
) -> None:
    # Locks that lapse at once: both processes renew, and the second save finds the
    # first one's token where it expected none.
    thingspace.delay = 0.02
    store = MemorySharedStore(locking=False)
    clients = _processes(store, 2)
    await _call_all(clients, 1)
    assert thingspace.token_route.call_count == 2
    assert set(thingspace.sent(thingspace.list_route, "Authorization")) == {"Bearer access-1"}
    assert set(thingspace.sent(thingspace.list_route, "VZ-M2M-Token")) == {"session-1"}


async def test_a_lock_left_by_a_dead_process_is_taken_over_when_it_lapses(
    thingspace: ThingSpace,
) -> None:
    store = MemorySharedStore(lock_ttl=0.3)
    client = make_client(make_auth(token_store=store))
    dead = await store.acquire(f"access_token:{client.base_url}:{CLIENT_ID}")
    assert dead
    started = anyio.current_time()
    async with client:
        assert await client.location.list(ACCOUNT) == []
    assert anyio.current_time() - started >= 0.25
    assert thingspace.token_route.call_count == 1


async def test_a_lock_that_never_frees_is_given_up_after_twice_its_lifetime(
    thingspace: ThingSpace, caplog: pytest.LogCaptureFixture
) -> None:
    class StuckStore(MemorySharedStore):
        async def acquire(self, key: str) -> str | None:
            return None

    with caplog.at_level(logging.WARNING, logger="thingspace_callbacks"):
        async with make_client(make_auth(token_store=StuckStore(lock_ttl=0.1))) as client:
            assert await client.location.list(ACCOUNT) == []
    assert "lock on the access_token stayed taken" in caplog.text


async def test_a_failing_lock_is_bypassed(
    thingspace: ThingSpace, caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenLocks(MemorySharedStore):
        async def acquire(self, key: str) -> str | None:
            raise ConnectionError("down")

        async def compare_and_swap(
            self, key: str, expected: Token | None, new: Token | None
        ) -> bool:
            raise ConnectionError("down")

    with caplog.at_level(logging.WARNING, logger="thingspace_callbacks"):
        async with make_client(make_auth(token_store=BrokenLocks())) as client:
            assert await client.location.list(ACCOUNT) == []
    assert "token store failed to lock the access_token (ConnectionError)" in caplog.text
    assert "token store failed to save the session_token (ConnectionError)" in caplog.text


async def test_a_cancelled_renewal_releases_its_lock(thingspace: ThingSpace) -> None:
    thingspace.delay = 5
    store = MemorySharedStore()
    async with make_client(make_auth(token_store=store)) as client:
        with anyio.move_on_after(0.1):
            await client.location.list(ACCOUNT)
        assert store.locks == {}
        thingspace.delay = 0
        assert await client.location.list(ACCOUNT) == []


async def test_logout_ends_the_shared_session_and_forgets_it(thingspace: ThingSpace) -> None:
    store = MemorySharedStore()
    first, second = _processes(store, 2)
    assert await first.auth.logout() is False  # no request yet: nothing to end
    await _call_all([first, second], 1)
    key = f"session_token:{first.base_url}:{USERNAME}"
    assert key in store.tokens
    assert await first.auth.logout() is True
    assert thingspace.sent(thingspace.logout_route, "VZ-M2M-Token") == ["session-1"]
    assert key not in store.tokens
    # The other process still sends the old session; refused, it logs in once for both.
    thingspace.operation_answers(
        httpx.Response(
            400,
            json={"errorCode": "REQUEST_FAILED.SessionToken.Expired", "errorMessage": "expired"},
        )
    )
    await second.location.list(ACCOUNT)
    await first.location.list(ACCOUNT)
    assert thingspace.login_route.call_count == 2
    assert thingspace.sent(thingspace.list_route, "VZ-M2M-Token")[-3:] == [
        "session-1",
        "session-2",
        "session-2",
    ]
    await first.aclose()
    await second.aclose()
    assert thingspace.logout_route.call_count == 1


async def test_logout_with_a_plain_store_ends_the_session_too(thingspace: ThingSpace) -> None:
    async with make_client(make_auth()) as client:
        await client.location.list(ACCOUNT)
        assert await client.auth.logout() is True
    # Closing found no session left to end.
    assert thingspace.logout_route.call_count == 1
