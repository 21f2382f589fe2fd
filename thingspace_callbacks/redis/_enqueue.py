"""The enqueuing side of the queue: :func:`queue_pool`, and :func:`enqueue_fan_out`
and the run it returns, :class:`~._queued.QueuedFanOut`, which enqueues the accounts
in jobs of ``chunk_size`` accounts and collects their outcomes as the workers (see
:mod:`._worker`) announce them.

The run itself, and how it finds the jobs of an earlier enqueueing of the same run, is
in :mod:`._queued`; the Redis commands it issues in :mod:`._commands`. Like arq and
``redis.asyncio``, all of it needs asyncio.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from arq.connections import ArqRedis, RedisSettings, create_pool
from pydantic import SecretStr

from ._jobs import DEFAULT_CHUNK_SIZE, QUEUE_NAME, deserialize, serialize
from ._queued import QueuedFanOut

if TYPE_CHECKING:
    from ..telemetry import Telemetry

__all__ = ["enqueue_fan_out", "queue_pool"]


async def queue_pool(redis: str | RedisSettings, *, queue_name: str = QUEUE_NAME) -> ArqRedis:
    """An arq pool for :func:`enqueue_fan_out`, with the JSON serializers the workers
    of :func:`worker_settings` use; close it with ``await pool.aclose()``. Connecting
    is tried once: a Redis that does not answer raises ``redis.exceptions.ConnectionError``.

    :param redis: A ``redis://`` (``rediss://``, ``unix://``) URL or arq's
        ``RedisSettings``.
    """
    settings = RedisSettings.from_dsn(redis) if isinstance(redis, str) else redis
    return await create_pool(
        settings,
        retry=settings.conn_retries,
        job_serializer=serialize,
        job_deserializer=deserialize,
        default_queue_name=queue_name,
    )


async def enqueue_fan_out(
    redis: ArqRedis,
    operation: str,
    accounts: Iterable[str],
    *,
    service: str | None = None,
    url: str | None = None,
    username: str | None = None,
    password: str | SecretStr | None = None,
    base_url: str | None = None,
    queue_name: str = QUEUE_NAME,
    prefix: str = "thingspace:",
    rerun_failed: bool = True,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    telemetry: Telemetry | None = None,
) -> QueuedFanOut:
    """Enqueue ``operation`` for every account, ``chunk_size`` accounts to an arq job,
    and return the run, whose outcomes are iterated or awaited::

        pool = await queue_pool("redis://localhost:6379/0")
        queued = await enqueue_fan_out(
            pool, "location.register", accounts, service="Location", url=URL
        )
        async for result in queued:
            print(result.account, result.ok, result.value or result.error)

    The run records in Redis which job each account went to, so enqueueing the same
    run twice adds nothing: accounts whose job is queued or running are waited for,
    and those with a kept outcome get it at once. A job's id is derived from the
    operation, its arguments, ``base_url`` and its accounts.

    An account no request may name (blank, or holding ``/``, ``?``, ``#``, ``%``,
    whitespace: ``"0252012345/00001"``) gets no job: its outcome is a failure at once
    (``InvalidArgumentError``, no attempt), as the client's own check would give.

    :param redis: An arq pool made by :func:`queue_pool` (its serializers must be
        those of the workers).
    :param operation: ``"FAMILY.VERB"``: a sub-client of the client and its method
        (``"location.register"``, ``"connectivity.unregister"``, ``"firmware.get"``).
    :param accounts: The accounts, read lazily.
    :param service: The method's ``service``.
    :param url: The method's ``url``; its userinfo, if any, travels only as a digest
        (give the URL to the workers: ``listener_urls``).
    :param username: ``connectivity.register``'s ``username``.
    :param password: ``connectivity.register``'s ``password``: the job carries a
        digest, the workers need the password itself (``callback_password``).
    :param base_url: The API root the workers must talk to: a worker whose client
        talks to another refuses the job. ``None``: any.
    :param queue_name: The arq queue the workers read.
    :param prefix: Put before job ids and the run's Redis keys.
    :param rerun_failed: Enqueue again the accounts whose kept outcome is a failure,
        in new jobs (``False``: hand out that failure).
    :param chunk_size: Accounts per job (1 to 10,000). Bigger chunks cost fewer Redis
        commands per account; smaller ones spread a short run more evenly across the
        workers, and a worker that dies leaves less to run again.
    :param telemetry: Where the run's ``PRODUCER`` span goes (see
        :mod:`thingspace_callbacks.telemetry`; default: the global providers). Its
        context travels with the jobs, so the workers' spans join the run's trace.
    """
    queued = QueuedFanOut(
        redis,
        operation,
        base_url=base_url,
        queue_name=queue_name,
        prefix=prefix,
        rerun_failed=rerun_failed,
        chunk_size=chunk_size,
        service=service,
        url=url,
        username=username,
        password=password,
        telemetry=telemetry,
    )
    await queued.enqueue(accounts)
    return queued
