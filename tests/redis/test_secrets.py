"""No token and no encryption key in what users print or log (the store's repr, log
records at every level, raised errors) and, with a key, no token in Redis."""

from __future__ import annotations

import logging
import traceback

import pytest
import redis.asyncio
from cryptography.fernet import Fernet

from thingspace_callbacks import AuthenticationError, InvalidArgumentError, ThingSpaceAuth, Token
from thingspace_callbacks.redis import RedisTokenStore
from thingspace_callbacks.sandbox import Sandbox

from .conftest import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(20)]

ACCOUNT = "0252012345-00001"


async def _exercise(
    redis_server: RedisServer, store: RedisTokenStore, seen: list[Token]
) -> tuple[list[str], list[bytes]]:
    """Calls, a renewal through Redis, another while Redis is down, a refused renewal:
    what the objects and errors show, and the values Redis held."""
    sandbox = Sandbox()
    auth = ThingSpaceAuth(**sandbox.credential_kwargs(), token_store=store, on_token=seen.append)
    raw = redis.asyncio.Redis(host="127.0.0.1", port=redis_server.port)
    async with raw, sandbox.client(auth=auth) as client:
        await client.location.list(ACCOUNT)
        sandbox.expire_tokens()
        await client.location.list(ACCOUNT)
        stored = [await raw.get(name) for name in await raw.keys("thingspace:token:*")]
        redis_server.stop()
        sandbox.expire_sessions()
        await client.location.list(ACCOUNT)
        redis_server.start()
        shown = [repr(store), str(store), repr(vars(store)), repr(client), repr(client.auth)]
    async with sandbox.client(client_id="app", client_secret="wrong", token_store=store) as bad:
        with pytest.raises(AuthenticationError) as caught:
            await bad.location.list(ACCOUNT)
    return [*shown, *traceback.format_exception(caught.value)], stored


async def test_no_token_or_key_shows_anywhere(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    key = Fernet.generate_key()
    seen: list[Token] = []
    caplog.set_level(logging.DEBUG)
    async with RedisTokenStore(redis_server.url, encryption_key=key) as store:
        shown, stored = await _exercise(redis_server, store, seen)
    with pytest.raises(InvalidArgumentError) as bad_key:
        RedisTokenStore(redis_server.url, encryption_key=key[:-4])
    shown += traceback.format_exception(bad_key.value)
    shown += [record.getMessage() for record in caplog.records] + [caplog.text]

    # The scan saw what it should: two bearer tokens, two sessions, an outage, values.
    assert len(seen) == 4
    assert "is unavailable" in caplog.text
    assert len(stored) == 2
    text = "\n".join(shown)
    secrets = [token.value.get_secret_value() for token in seen]
    for secret in (*secrets, key.decode(), key[:-4].decode()):
        assert secret not in text, secret
    values = b"\n".join(stored)
    for secret in (*secrets, key.decode()):
        assert secret.encode() not in values
