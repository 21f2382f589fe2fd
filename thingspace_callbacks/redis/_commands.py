"""The Redis commands a queued run issues besides arq's own: looking up and recording
which job each account went to (the run's index), reading the results arq keeps,
popping the outcomes the workers announce; and cutting what it reads or writes into
batches. Apart from the run (:mod:`._queued`), which decides when to issue them and
waits for Redis when it does not answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar, cast

import anyio
from arq.connections import ArqRedis
from arq.constants import result_key_prefix
from redis.asyncio.client import Pipeline

__all__ = [
    "BATCH",
    "batches",
    "hmget",
    "kept_results",
    "pipelined",
    "pop_batch",
    "record_index",
]

_T = TypeVar("_T")

BATCH = 1000
"""Keys per MGET and HMGET, entries per LPOP, about as many accounts per enqueueing
round (a whole number of chunks)."""
_INDEX_TTL = 2 * 86_400
"""Seconds a run's index (which job each account went to) is kept after its last
enqueue: arq's own lifetime of a queued job (a day), then a day of kept results."""


async def hmget(redis: ArqRedis, key: str, fields: list[str]) -> list[bytes | None]:
    # redis-py types the asyncio client's commands with its synchronous client's.
    found = await cast("Awaitable[list[bytes | None]]", redis.hmget(key, fields))
    return found


async def kept_results(job_ids: list[str], redis: ArqRedis) -> list[bytes | None]:
    keys = [result_key_prefix + job_id for job_id in job_ids]
    return await cast("Awaitable[list[bytes | None]]", redis.mget(keys))


async def pipelined(redis: ArqRedis, queue: Callable[[Pipeline], object]) -> list[Any]:
    """The answers to the commands ``queue`` puts on a pipeline, sent in one round trip.

    The pipeline's clean-up is shielded: cancelled halfway (a time limit, the run
    stopped), anyio would cancel it too, and the pipeline's connection would never go
    back to the pool (redis-py drops a connection cancelled mid-command itself; the
    clean-up only hands it back)."""
    pipe = redis.pipeline(transaction=False)
    try:
        queue(pipe)
        return await pipe.execute()
    finally:
        with anyio.CancelScope(shield=True):
            await pipe.reset()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped


async def record_index(redis: ArqRedis, key: str, index: dict[str, str]) -> None:
    def queue(pipe: Pipeline) -> None:
        pipe.hset(key, mapping=index)
        pipe.expire(key, _INDEX_TTL)

    await pipelined(redis, queue)


async def pop_batch(redis: ArqRedis, key: str) -> list[bytes]:
    # redis-py types the asyncio client's commands with its synchronous client's.
    entries = await cast("Awaitable[list[bytes] | None]", redis.lpop(key, BATCH))
    return entries or []


def batches(items: Iterable[_T], size: int = BATCH) -> Iterator[list[_T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
