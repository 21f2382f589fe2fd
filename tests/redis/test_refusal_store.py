"""RedisTokenStore's refusals against a real redis-server: kept until they expire,
apart per prefix, readable whatever the encryption key, a damaged one ignored, and a
Redis that does not answer reported rather than taken for "no refusal"."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio
from cryptography.fernet import Fernet

from thingspace_callbacks import Refusal
from thingspace_callbacks.redis import RedisTokenStore

from .conftest import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(20)]

KEY = "session_token:https://thingspace.verizon.com/api:user:0123456789abcdef"


def _refusal(lifetime: float = 60) -> Refusal:
    now = time.time()
    return Refusal("session_token", now, now + lifetime, 400, "CODE", "Invalid credentials")


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis(host="127.0.0.1", port=redis_server.port)
    yield client
    await client.aclose()


async def test_a_refusal_round_trips_and_expires_with_its_record(
    redis_server: RedisServer, raw: redis.asyncio.Redis
) -> None:
    async with RedisTokenStore(redis_server.url) as store:
        assert await store.load_refusal(KEY) is None
        refusal = _refusal()
        await store.save_refusal(KEY, refusal)
        assert await store.load_refusal(KEY) == refusal
        assert 59_000 < await raw.pttl(f"thingspace:refusal:{KEY}") <= 60_000
        assert await store.delete_refusal(KEY) is True
        assert await store.delete_refusal(KEY) is False
        assert await store.load_refusal(KEY) is None


async def test_prefixes_keep_refusals_apart_and_every_key_reads_them(
    redis_server: RedisServer,
) -> None:
    key = Fernet.generate_key()
    async with (
        RedisTokenStore(redis_server.url, prefix="a:", encryption_key=key) as first,
        RedisTokenStore(redis_server.url, prefix="b:") as second,
        RedisTokenStore(redis_server.url, prefix="a:") as without_key,
    ):
        await first.save_refusal(KEY, _refusal())
        assert await second.load_refusal(KEY) is None
        # The record holds no secret, and must stop every process: it is not sealed.
        assert await without_key.load_refusal(KEY) == await first.load_refusal(KEY)


async def test_a_damaged_refusal_is_ignored(
    redis_server: RedisServer, raw: redis.asyncio.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    await raw.set(f"thingspace:refusal:{KEY}", b'{"kind": "session_token"}')
    async with RedisTokenStore(redis_server.url) as store:
        with caplog.at_level(logging.WARNING, logger="thingspace_callbacks"):
            assert await store.load_refusal(KEY) is None
    assert "refusal in Redis that could not be read (KeyError)" in caplog.text


async def test_an_unavailable_redis_is_reported_not_taken_for_no_refusal(
    redis_server: RedisServer,
) -> None:
    async with RedisTokenStore(redis_server.url, timeout=0.5) as store:
        redis_server.stop()
        for method in (store.load_refusal, store.delete_refusal):
            with pytest.raises(
                ConnectionError, match=r"Redis at 127\.0\.0\.1:\d+/0 is unavailable"
            ):
                await method(KEY)
        with pytest.raises(ConnectionError):
            await store.save_refusal(KEY, _refusal())
