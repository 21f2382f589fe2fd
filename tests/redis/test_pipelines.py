"""A queued run's pipelines hand their connection back to the pool even when cancelled
halfway (a time limit, Ctrl-C): left behind, the connection is lost to the pool and
warned about as unclosed whenever it is collected, in whatever test runs then. A real
``redis-server``; BLPOP holds the pipeline's answer, so the cancellation lands while
it waits."""

from __future__ import annotations

import anyio
import pytest
from arq.connections import ArqRedis
from redis.asyncio.client import Pipeline

from thingspace_callbacks.redis._commands import pipelined

from .conftest import RedisServer

pytestmark = pytest.mark.integration


async def test_a_pipeline_cancelled_halfway_gives_its_connection_back(
    redis_server: RedisServer,
) -> None:
    def blocking(pipe: Pipeline) -> None:
        pipe.blpop(["thingspace:test:never"], timeout=5)

    redis = ArqRedis.from_url(redis_server.url)
    try:
        with anyio.move_on_after(0.3) as waited:
            await pipelined(redis, blocking)
        assert waited.cancelled_caught
        assert not redis.connection_pool._in_use_connections
        # And the pool goes on serving.
        assert await pipelined(redis, lambda pipe: pipe.exists("thingspace:test:none")) == [0]
        assert not redis.connection_pool._in_use_connections
    finally:
        await redis.aclose()
