"""An announcement of outcomes, once begun, is made and gives its connection back, even
when what runs it is cancelled halfway (a chunk's end stops its flushing task; a job's
time runs out)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import cast

import anyio
import pytest

from thingspace_callbacks.redis import queue_pool
from thingspace_callbacks.redis._announce import Announcer

from .conftest import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(30)]

KEY = "thingspace:queue:done:run-1"


async def test_an_announcement_cancelled_halfway_is_made_and_frees_its_connection(
    redis_server: RedisServer,
) -> None:
    pool = await queue_pool(redis_server.url)
    other = await queue_pool(redis_server.url)
    try:
        announcer = Announcer({"redis": pool, "job_id": "job-1"}, {"notify": KEY}, 60)
        # Redis holds every write for 300 ms: the push is in flight when cancelled.
        await other.client_pause(300, all=False)
        with anyio.move_on_after(0.05):
            await announcer._push({"results": [{"account": "0000000001-00001", "ok": True}]})
        in_use = set(pool.connection_pool._in_use_connections)
        announced = await cast("Awaitable[int]", other.llen(KEY))
    finally:
        await pool.aclose()
        await other.aclose()

    assert in_use == set()
    assert announced == 1
