"""RedisDedupeStore against a real redis-server: claims, their lapse, marking done,
compare-and-delete, an unavailable Redis, and a receiver using it in process."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

import anyio
import anyio.abc
import httpx
import pytest
import redis.asyncio

from thingspace_callbacks import InvalidArgumentError
from thingspace_callbacks.receiver import (
    CallbackMessage,
    Claim,
    ClaimingDedupeStore,
    InboundRequest,
    Receiver,
)
from thingspace_callbacks.redis import RedisDedupeStore

from ..receiver import _messages as msg
from .conftest import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(20)]

KEY = "5f2b0c6e0d7a4c1e"
Outage = Callable[[], contextlib.AbstractContextManager[None]]


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    """A plain client on the same Redis, to look at what the store wrote."""
    client = redis.asyncio.Redis(host="127.0.0.1", port=redis_server.port)
    yield client
    await client.aclose()


async def _claim(store: RedisDedupeStore, key: str = KEY) -> Claim:
    claim = await store.claim(key)
    assert isinstance(claim, Claim), claim
    return claim


async def test_one_claim_at_a_time_then_done_for_seen_ttl(
    redis_server: RedisServer, raw: redis.asyncio.Redis
) -> None:
    async with RedisDedupeStore(redis_server.url, claim_ttl=30, seen_ttl=600) as store:
        assert isinstance(store, ClaimingDedupeStore)
        claim = await _claim(store)
        stored = f"thingspace:dedupe:{KEY}"
        assert await raw.get(stored) == f"claimed:{claim.token}".encode()
        assert 29_000 < await raw.pttl(stored) <= 30_000
        assert await store.claim(KEY) == "busy"

        await store.complete(claim)
        assert await raw.get(stored) == b"done"
        assert 599_000 < await raw.pttl(stored) <= 600_000
        assert await store.claim(KEY) == "done"


async def test_release_deletes_only_the_claim_it_was_given(
    redis_server: RedisServer, raw: redis.asyncio.Redis
) -> None:
    async with RedisDedupeStore(redis_server.url) as store:
        first = await _claim(store)
        await store.release(first)
        second = await _claim(store)
        assert second.token != first.token
        await store.release(first)  # stale: the second claim stays
        assert await store.claim(KEY) == "busy"
        await store.release(second)
        assert await raw.exists(f"thingspace:dedupe:{KEY}") == 0


async def test_a_claim_lapses_after_claim_ttl(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        RedisDedupeStore(redis_server.url, claim_ttl=0.2) as dead,
        RedisDedupeStore(redis_server.url, claim_ttl=0.2) as alive,
    ):
        abandoned = await _claim(dead)
        assert await alive.claim(KEY) == "busy"
        await anyio.sleep(0.3)
        taken_over = await _claim(alive)
        await alive.complete(taken_over)
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

        # The first holder was slow, not dead: its late success still counts, and says
        # that its claim had lapsed.
        await dead.complete(abandoned)
        assert await alive.claim(KEY) == "done"
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "outlived its claim (claim_ttl=0.2 s)" in warning.getMessage()


async def test_prefixes_keep_stores_apart(redis_server: RedisServer) -> None:
    async with (
        RedisDedupeStore(redis_server.url, prefix="a:") as first,
        RedisDedupeStore(redis_server.url, prefix="b:") as second,
    ):
        await first.complete(await _claim(first))
        assert await first.claim(KEY) == "done"
        assert isinstance(await second.claim(KEY), Claim)


async def test_a_client_given_to_it_is_used_and_left_open(
    raw: redis.asyncio.Redis,
) -> None:
    async with RedisDedupeStore(raw) as store:
        await store.complete(await _claim(store))
    assert await raw.get(f"thingspace:dedupe:{KEY}") == b"done"  # still open


def test_arguments_are_checked_and_the_password_never_shown() -> None:
    store = RedisDedupeStore("redis://:pw-Hx81@127.0.0.1:6390/2", claim_ttl=5, seen_ttl=60)
    assert repr(store) == (
        "RedisDedupeStore('127.0.0.1:6390/2', prefix='thingspace:', claim_ttl=5, seen_ttl=60)"
    )
    with pytest.raises(InvalidArgumentError, match="not a Redis URL") as caught:
        RedisDedupeStore("http://:pw-Hx81@127.0.0.1:6390")
    assert "pw-Hx81" not in str(caught.value)
    with pytest.raises(InvalidArgumentError, match="claim_ttl"):
        RedisDedupeStore("redis://127.0.0.1", claim_ttl=0)
    with pytest.raises(InvalidArgumentError, match="seen_ttl"):
        RedisDedupeStore("redis://127.0.0.1", seen_ttl=float("inf"))
    with pytest.raises(InvalidArgumentError, match="timeout"):
        RedisDedupeStore("redis://127.0.0.1", timeout=-1)
    with pytest.raises(InvalidArgumentError, match="prefix"):
        RedisDedupeStore("redis://127.0.0.1", prefix=b"x")  # type: ignore[arg-type]


async def test_an_unavailable_redis_fails_claims_fast_with_one_warning(
    redis_server: RedisServer, redis_outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    async with RedisDedupeStore(redis_server.url, timeout=0.5) as store:
        await _claim(store, "before")
        with redis_outage():
            started = time.monotonic()
            for key in ("a", "b", "c"):
                with pytest.raises(ConnectionError, match=r"127\.0\.0\.1:\d+/0 is unavailable"):
                    await store.claim(key)
            assert time.monotonic() - started < 1.5
        await _claim(store, "after")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "callbacks are answered 503" in warnings[0]
    assert any("answers again" in r.getMessage() for r in caplog.records)


async def test_the_first_callback_after_redis_is_back_is_handled(
    redis_server: RedisServer, redis_outage: Outage
) -> None:
    # No pause anywhere: the claim refused just before the restart must not keep the
    # store from trying Redis for the next callback (it used to, for a second: 503s).
    handler = Recorder()
    async with RedisDedupeStore(redis_server.url, timeout=0.5) as store:
        receiver = Receiver(verify=[], dedupe=store)
        receiver.add_handler("CarrierService", handler)
        transport = httpx.ASGITransport(app=receiver)
        async with httpx.AsyncClient(transport=transport, base_url="http://listener") as http:
            with redis_outage():
                refused = await http.post("/CarrierService", content=msg.encode(msg.m2m()))
                with pytest.raises(ConnectionError):
                    await store.claim("during")
            # redis_outage returns once Redis answers PING again.
            handled = await http.post("/CarrierService", content=msg.encode(msg.m2m()))
    assert (refused.status_code, handled.status_code) == (503, 200)
    assert handler.calls == 1


async def test_while_redis_is_down_one_claim_at_a_time_tries_it(free_tcp_port: int) -> None:
    # A Redis that accepts connections and never answers (a hung host, a full network
    # buffer): one claim waits for it, up to the time limit; the others meanwhile are
    # refused at once instead of each waiting as long.
    async with RedisDedupeStore(f"redis://127.0.0.1:{free_tcp_port}/0", timeout=5) as store:
        with pytest.raises(ConnectionError):
            await store.claim("refused")  # nothing listens yet: down at once
        silent = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=free_tcp_port)
        async with silent, anyio.create_task_group() as group:
            group.start_soon(silent.serve, _never_answer)
            waiting = anyio.Event()

            async def probe() -> None:
                waiting.set()
                with pytest.raises(ConnectionError):
                    await store.claim("probe")

            group.start_soon(probe)
            await waiting.wait()  # set just before the probe's claim, which runs until
            # it waits for the answer before this task resumes
            started = time.monotonic()
            for key in ("a", "b", "c"):
                with pytest.raises(ConnectionError):
                    await store.claim(key)
            assert time.monotonic() - started < 2.5, "a claim waited beside the probe"
            group.cancel_scope.cancel()


async def _never_answer(stream: anyio.abc.SocketStream) -> None:
    async with stream:
        await anyio.sleep_forever()


class Recorder:
    def __init__(self) -> None:
        self.calls = 0
        self.during: Callable[[], object] | None = None

    async def __call__(self, message: CallbackMessage) -> None:
        self.calls += 1
        if self.during is not None:
            await anyio.to_thread.run_sync(self.during)


def _request() -> InboundRequest:
    return InboundRequest(body=msg.encode(msg.m2m()), path="/CarrierService")


async def test_receivers_in_process_claim_through_redis(redis_server: RedisServer) -> None:
    handler = Recorder()
    async with (
        RedisDedupeStore(redis_server.url) as first_store,
        RedisDedupeStore(redis_server.url) as second_store,
    ):
        first = Receiver(verify=[], dedupe=first_store)
        second = Receiver(verify=[], dedupe=second_store)
        for receiver in (first, second):
            receiver.add_handler("CarrierService", handler)
        handled = await first.process(_request())
        duplicate = await second.process(_request())
    assert (handled.status, duplicate.status) == ("accepted", "duplicate")
    assert handler.calls == 1


async def test_redis_gone_mid_handler_still_acknowledges_the_handled_message(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    handler = Recorder()
    handler.during = redis_server.stop
    async with RedisDedupeStore(redis_server.url, timeout=0.5) as store:
        receiver = Receiver(verify=[], dedupe=store)
        receiver.add_handler("CarrierService", handler)
        handled = await receiver.process(_request())
        transport = httpx.ASGITransport(app=receiver)
        async with httpx.AsyncClient(transport=transport, base_url="http://listener") as http:
            refused = await http.post("/CarrierService", content=msg.encode(msg.m2m()))
    assert (handled.status_code, handled.status) == (200, "accepted")
    assert (refused.status_code, refused.headers["retry-after"]) == (503, "30")
    assert handler.calls == 1
    receiver_warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == "thingspace_callbacks.receiver" and r.levelno == logging.WARNING
    ]
    assert len(receiver_warnings) == 1
    assert "recording a handled callback to /CarrierService failed" in receiver_warnings[0]
