"""RedisTokenStore against a real redis-server: values, locks, compare-and-swap,
encryption, an unavailable Redis, and clients sharing it in process."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import AsyncIterator

import anyio
import pytest
import redis.asyncio
from cryptography.fernet import Fernet

from thingspace_callbacks import InvalidArgumentError, Token
from thingspace_callbacks.redis import RedisTokenStore
from thingspace_callbacks.sandbox import Sandbox

from .conftest import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(20)]

KEY = "access_token:https://thingspace.verizon.com/api:app-key"
SECRET = "bearer-Qm9keS1zZWNyZXQ"


def _token(value: str = SECRET, lifetime: float = 3600) -> Token:
    return Token(kind="access_token", value=value, expires_at=time.time() + lifetime)  # type: ignore[arg-type]


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    """A plain client on the same Redis, to look at what the store wrote."""
    client = redis.asyncio.Redis(host="127.0.0.1", port=redis_server.port)
    yield client
    await client.aclose()


async def test_tokens_round_trip_and_expire_with_the_token(
    redis_server: RedisServer, raw: redis.asyncio.Redis
) -> None:
    async with RedisTokenStore(redis_server.url) as store:
        assert await store.load(KEY) is None
        token = _token(lifetime=60)
        await store.save(KEY, token)
        assert await store.load(KEY) == token
        assert 59_000 < await raw.pttl(f"thingspace:token:{KEY}") <= 60_000
        await store.delete(KEY)
        assert await store.load(KEY) is None


async def test_prefixes_keep_stores_apart(redis_server: RedisServer) -> None:
    async with (
        RedisTokenStore(redis_server.url, prefix="a:") as first,
        RedisTokenStore(redis_server.url, prefix="b:") as second,
    ):
        await first.save(KEY, _token())
        assert await second.load(KEY) is None
        assert await second.acquire(KEY)
        assert await first.acquire(KEY)


async def test_compare_and_swap_replaces_only_what_was_expected(redis_server: RedisServer) -> None:
    old, new, other = _token("old"), _token("new"), _token("other")
    async with RedisTokenStore(redis_server.url) as store:
        assert await store.compare_and_swap(KEY, None, old)
        assert not await store.compare_and_swap(KEY, None, other)
        assert not await store.compare_and_swap(KEY, other, new)
        assert await store.compare_and_swap(KEY, old, new)
        assert await store.load(KEY) == new
        assert not await store.compare_and_swap(KEY, old, None)
        assert await store.compare_and_swap(KEY, new, None)
        assert await store.load(KEY) is None


async def test_a_lock_has_one_holder_until_released_or_lapsed(redis_server: RedisServer) -> None:
    async with RedisTokenStore(redis_server.url, lock_ttl=0.2) as store:
        lease = await store.acquire(KEY)
        assert lease
        assert await store.acquire(KEY) is None
        await store.release(KEY, "not-the-lease")
        assert await store.acquire(KEY) is None
        await store.release(KEY, lease)
        assert await store.acquire(KEY)
        # Nobody releases this one: it lapses.
        await anyio.sleep(0.25)
        assert await store.acquire(KEY)


async def test_encrypted_values_hold_no_token_and_need_the_key(
    redis_server: RedisServer, raw: redis.asyncio.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    key = Fernet.generate_key()
    token = _token()
    async with (
        RedisTokenStore(redis_server.url, encryption_key=key) as sealed,
        RedisTokenStore(redis_server.url, encryption_key=Fernet.generate_key()) as wrong_key,
        RedisTokenStore(redis_server.url) as plain,
    ):
        await sealed.save(KEY, token)
        value = await raw.get(f"thingspace:token:{KEY}")
        assert SECRET.encode() not in value
        assert await sealed.load(KEY) == token
        with caplog.at_level(logging.WARNING, logger="thingspace_callbacks"):
            assert await wrong_key.load(KEY) is None
            assert await plain.load(KEY) is None
            # Compare-and-swap compares fingerprints, whatever the key.
            assert await wrong_key.compare_and_swap(KEY, token, None)
            await plain.save(KEY, token)
            assert await sealed.load(KEY) is None  # not sealed: refused
    assert "sealed with another encryption key" in caplog.text
    assert "an encryption key this process lacks" in caplog.text


def test_bad_arguments_are_refused_without_showing_the_key() -> None:
    with pytest.raises(InvalidArgumentError, match="not a Redis URL"):
        RedisTokenStore("http://localhost:6379")
    password = "".join(reversed("drow55ap"))  # its value is not in this source
    with pytest.raises(InvalidArgumentError, match="not a Redis URL") as caught:
        RedisTokenStore(f"redis://:{password}@localhost:port/0")
    assert password not in "".join(traceback.format_exception(caught.value))
    with pytest.raises(InvalidArgumentError, match=r"redis\.asyncio\.Redis"):
        RedisTokenStore(6379)  # type: ignore[arg-type]
    bad_key = "-".join(("hunter2", "not", "a", "key"))  # its value is not in this source
    with pytest.raises(InvalidArgumentError, match="Fernet key") as caught:
        RedisTokenStore("redis://localhost", encryption_key=bad_key)
    assert bad_key not in "".join(traceback.format_exception(caught.value))
    with pytest.raises(InvalidArgumentError, match="lock_ttl"):
        RedisTokenStore("redis://localhost", lock_ttl=0)


async def _use_while_down(store: RedisTokenStore, token: Token) -> None:
    """Every method, many times over: each steps aside at once."""
    started = time.monotonic()
    for _ in range(20):
        assert await store.load(KEY) is None
        assert await store.acquire(KEY) == ""
        assert await store.compare_and_swap(KEY, None, token)
        await store.save(KEY, token)
        await store.delete(KEY)
        await store.release(KEY, "lease")
    # Known to be down: no connection attempt per call.
    assert time.monotonic() - started < 0.5


async def test_while_redis_is_down_the_store_steps_aside_with_one_warning(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    token = _token()
    async with RedisTokenStore(redis_server.url) as store:
        await store.save(KEY, token)
        redis_server.stop()
        with caplog.at_level(logging.INFO, logger="thingspace_callbacks.redis"):
            await _use_while_down(store, token)
            redis_server.start()
            await anyio.sleep(1.05)
            assert await store.load(KEY) is None  # a restarted Redis is empty
            await store.save(KEY, token)
            assert await store.load(KEY) == token
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "is unavailable (ConnectionError)" in warnings[0]
    assert "answers again" in caplog.text


async def test_a_given_client_is_used_and_left_open(
    redis_server: RedisServer, raw: redis.asyncio.Redis
) -> None:
    store = RedisTokenStore(raw, prefix="given:")
    assert repr(store) == (
        f"RedisTokenStore('127.0.0.1:{redis_server.port}/0', prefix='given:', encrypted=False)"
    )
    await store.save(KEY, _token())
    await store.aclose()
    assert await raw.exists(f"given:token:{KEY}") == 1


async def test_clients_sharing_the_store_share_tokens_and_keep_the_session(
    redis_server: RedisServer,
) -> None:
    sandbox = Sandbox()
    async with RedisTokenStore(redis_server.url, encryption_key=Fernet.generate_key()) as store:
        for _ in range(3):
            async with sandbox.client(token_store=store) as client:
                assert await client.location.list("0252012345-00001") == []
        assert (sandbox.calls["token"], sandbox.calls["login"], sandbox.calls["logout"]) == (
            1,
            1,
            0,
        )
        async with sandbox.client(token_store=store) as client:
            await client.location.list("0252012345-00001")
            assert await client.auth.logout() is True
        assert sandbox.calls["logout"] == 1
        async with sandbox.client(token_store=store) as client:
            await client.location.list("0252012345-00001")
        assert sandbox.calls["login"] == 2
