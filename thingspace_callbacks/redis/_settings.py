"""arq's settings for the workers: :func:`worker_settings`, for
``arq yourmodule.WorkerSettings``, and the arq ``Worker`` arguments it shares with
:func:`~._serve.serve`. Apart from what a worker runs per job (:mod:`._worker`), since
they only wire it to arq.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from arq.connections import RedisSettings
from pydantic import SecretStr

from .._checks import count, seconds
from .._ratelimit import Limiter, as_limiter
from ._jobs import DEFAULT_CHUNK_SIZE, QUEUE_NAME, checked_chunk_size, deserialize, serialize
from ._secrets import Secrets
from ._worker import (
    DEADLINE_SHARE,
    DEFAULT_JOB_TIMEOUT,
    DEFAULT_KEEP_RESULT,
    DEFAULT_MAX_TRIES,
    DEFAULT_POLL_DELAY,
    Jobs,
)

if TYPE_CHECKING:
    from .._client import AsyncThingSpaceClient

__all__ = ["chunks_at_once", "worker_arguments", "worker_settings"]


def chunks_at_once(concurrency: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """The jobs an arq worker of :func:`worker_settings` runs at once (arq's
    ``max_jobs``): enough chunks of ``chunk_size`` accounts to keep ``concurrency``
    accounts going while one chunk ends and the next starts, and no more, so that the
    other workers get the rest of the queue."""
    return max(2, math.ceil(concurrency / chunk_size) + 1)


def worker_settings(
    client: Callable[[], AsyncThingSpaceClient],
    redis: str | RedisSettings = "redis://localhost:6379/0",
    *,
    queue_name: str = QUEUE_NAME,
    concurrency: int = 20,
    rate_limit: float | Limiter | None = None,
    callback_password: str | SecretStr | None = None,
    listener_urls: Iterable[str] = (),
    job_timeout: float = DEFAULT_JOB_TIMEOUT,
    keep_result: float = DEFAULT_KEEP_RESULT,
    max_tries: int = DEFAULT_MAX_TRIES,
    poll_delay: float = DEFAULT_POLL_DELAY,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> dict[str, Any]:
    """arq worker settings that run the jobs of :func:`enqueue_fan_out`; run them with
    ``arq yourmodule.WorkerSettings``::

        WorkerSettings = worker_settings(
            lambda: AsyncThingSpaceClient(token_store=RedisTokenStore(REDIS)), REDIS
        )

    :param client: Makes the worker's client (called once, in ``on_startup``; closed in
        ``on_shutdown``). Give it a :class:`RedisTokenStore` to share credentials.
    :param redis: Where the queue is: a ``redis://`` URL or arq's ``RedisSettings``.
    :param queue_name: The arq queue, as given to :func:`enqueue_fan_out`.
    :param concurrency: Accounts handled at once, shared by the jobs (chunks) the
        worker runs at once (arq's ``max_jobs``: :func:`chunks_at_once` of it and
        ``chunk_size``).
    :param rate_limit: Accounts started per second (a :class:`RedisRateLimiter` to
        share the budget with every worker).
    :param callback_password: The connectivity callback password jobs carry only as a
        digest; a job whose digest does not match fails, saying so.
    :param listener_urls: Listener URLs with userinfo, likewise carried as a digest.
    :param job_timeout: Seconds a job (a chunk of accounts) may run. Its fan-out stops
        at 90% of it: the accounts not done by then are left out of its result, and its
        run queues them again in a job of their own. A job whose worker died runs again
        once arq's lock on it lapses: ``job_timeout`` plus 10 s after it started.
    :param keep_result: Seconds outcomes are kept: until then the same job is not
        enqueued again, and a later run collects the outcome instead of calling.
    :param max_tries: Times a job is started before arq gives up on it.
    :param poll_delay: Seconds between looks at the queue: arq starts jobs only then.
    :param chunk_size: The accounts per job the runs enqueue (their ``chunk_size``),
        from which arq's ``max_jobs`` is set: arq's worker cannot adapt it to the jobs
        it gets. ``thingspace-callbacks worker`` (:func:`serve`) needs no such hint: it
        takes a job whenever its running chunks leave slots free.

    The dict holds arq ``Worker`` arguments; add more (``health_check_interval``...) or your own
    functions to it (they then get JSON, as these settings use JSON serializers). Its
    ``after_job_end`` announces each job's last outcomes to the run waiting for them:
    call it from yours if you replace it.
    """
    jobs = Jobs(
        secrets=Secrets(callback_password, listener_urls),
        concurrency=count(concurrency, "concurrency", minimum=1),
        limiter=as_limiter(rate_limit),
        keep_result=seconds(keep_result, "keep_result", positive=True),
    )

    async def on_startup(ctx: dict[Any, Any]) -> None:
        await jobs.startup(ctx, client)

    max_jobs = chunks_at_once(
        count(concurrency, "concurrency", minimum=1), checked_chunk_size(chunk_size)
    )
    return {
        **worker_arguments(
            jobs, queue_name, job_timeout, keep_result, max_tries, poll_delay, max_jobs
        ),
        "redis_settings": RedisSettings.from_dsn(redis) if isinstance(redis, str) else redis,
        "on_startup": on_startup,
        "on_shutdown": jobs.shutdown,
    }


def worker_arguments(
    jobs: Jobs,
    queue_name: str,
    job_timeout: float,
    keep_result: float,
    max_tries: int,
    poll_delay: float,
    max_jobs: int,
) -> dict[str, Any]:
    job_timeout = seconds(job_timeout, "job_timeout", positive=True)
    keep_result = seconds(keep_result, "keep_result", positive=True)
    max_tries = count(max_tries, "max_tries", minimum=1)
    jobs.queue_name = queue_name
    jobs.deadline = job_timeout * DEADLINE_SHARE
    return {
        "functions": [
            jobs.function(timeout=job_timeout, keep_result=keep_result, max_tries=max_tries)
        ],
        "queue_name": queue_name,
        "max_jobs": max_jobs,
        "job_timeout": job_timeout,
        "keep_result": keep_result,
        "max_tries": max_tries,
        "poll_delay": seconds(poll_delay, "poll_delay", positive=True),
        "job_serializer": serialize,
        "job_deserializer": deserialize,
        "after_job_end": jobs.announce,
        # A job's result holds the outcomes of its whole chunk: too long for a log line.
        "log_results": False,
    }
