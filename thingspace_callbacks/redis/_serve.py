"""The worker of ``thingspace-callbacks worker``, :func:`serve`, which outlives Redis
outages: it starts a new arq worker on a new connection once Redis answers again, and
takes a job whenever the chunks it runs leave slots free. Apart from what a worker
runs per job (:mod:`._worker`) and the arq settings (:mod:`._settings`), which a
user's own ``arq`` worker runs too.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

import anyio
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.worker import Worker
from pydantic import SecretStr

from .._checks import count
from .._ratelimit import Limiter
from ._connection import RETRY_INTERVAL, redis_address
from ._jobs import QUEUE_NAME, deserialize, serialize
from ._outage import OUTAGE_ERRORS, Outage
from ._secrets import Secrets
from ._settings import worker_arguments
from ._worker import (
    DEFAULT_JOB_TIMEOUT,
    DEFAULT_KEEP_RESULT,
    DEFAULT_MAX_TRIES,
    DEFAULT_POLL_DELAY,
    Jobs,
    describe,
)

if TYPE_CHECKING:
    from .._client import AsyncThingSpaceClient

__all__ = ["serve"]


async def serve(
    client: AsyncThingSpaceClient,
    redis: RedisSettings,
    *,
    queue_name: str = QUEUE_NAME,
    concurrency: int = 20,
    rate_limit: Limiter | None = None,
    callback_password: str | SecretStr | None = None,
    listener_urls: Iterable[str] = (),
    job_timeout: float = DEFAULT_JOB_TIMEOUT,
    keep_result: float = DEFAULT_KEEP_RESULT,
    max_tries: int = DEFAULT_MAX_TRIES,
    poll_delay: float = DEFAULT_POLL_DELAY,
    message: Callable[[Exception], str] = describe,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Run the jobs with ``client`` until cancelled (``thingspace-callbacks worker``).

    arq's worker stops when Redis goes away; this starts a new one on a new connection
    once Redis answers again, with one warning and one line when it is back. Jobs
    running when it stops (cancelled, or Redis gone) go back to the queue, or, when
    Redis lost them, are queued again by whoever waits for them.
    """
    jobs = Jobs(
        secrets=Secrets(callback_password, listener_urls),
        concurrency=count(concurrency, "concurrency", minimum=1),
        limiter=rate_limit,
        keep_result=keep_result,
        message=message,
    )
    jobs.client = client
    # A job needs a slot at least: the worker takes jobs while its slots are free
    # (_Worker.start_jobs), up to one per slot.
    arguments = worker_arguments(
        jobs, queue_name, job_timeout, keep_result, max_tries, poll_delay, jobs.concurrency
    )
    asyncio.get_running_loop().set_exception_handler(_quiet_outages)
    outage = Outage(
        redis_address(redis), "the worker waits for it and runs jobs again once it is back"
    )
    while True:
        try:
            pool = await _pool(redis, queue_name)
        except OUTAGE_ERRORS as exc:
            outage.failed(exc)
            await anyio.sleep(RETRY_INTERVAL)
            continue
        outage.recovered()
        if on_ready is not None:
            on_ready()
        try:
            await _work(_Worker(jobs, **arguments, redis_pool=pool, handle_signals=False))
        except OUTAGE_ERRORS as exc:
            outage.failed(exc)
        await anyio.sleep(RETRY_INTERVAL)


def _quiet_outages(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # A job cancelled while arq recorded its end leaves that recording to fail alone
    # when Redis is gone; the outage has its own warning, and the job runs again.
    if isinstance(context.get("exception"), OUTAGE_ERRORS):
        return
    loop.default_exception_handler(context)


async def _pool(redis: RedisSettings, queue_name: str) -> ArqRedis:
    # Retried here, not by arq, which waits and warns in its own words.
    settings = dataclasses.replace(redis, conn_retries=0)
    return await create_pool(
        settings,
        job_serializer=serialize,
        job_deserializer=deserialize,
        default_queue_name=queue_name,
    )


class _Worker(Worker):
    """arq's worker, which takes a job only while its chunks leave slots free, and
    knows the jobs' ends it is still recording.

    A job cancelled while arq records its end leaves that recording running on its own
    (arq shields it). Closing the pool under it would leave the job locked in Redis
    until arq's lock lapses (the job timeout plus 10 s), so :func:`_stop` waits for them.
    """

    def __init__(self, jobs: Jobs, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recording: set[asyncio.Task[Any]] = set()
        self._jobs = jobs

    async def _poll_iteration(self) -> None:
        # Reading the queue while the running chunks fill the slots would be a Redis
        # command per poll for nothing.
        picking = self.allow_pick_jobs
        self.allow_pick_jobs = picking and self._jobs.wants_more()
        try:
            await super()._poll_iteration()
        finally:
            self.allow_pick_jobs = picking

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        # One at a time, to count each job taken before deciding on the next.
        for job_id in job_ids:
            if not self._jobs.wants_more():
                return
            name = job_id.decode()
            before = self.tasks.get(name)
            await super().start_jobs([job_id])
            task = self.tasks.get(name)
            if task is not None and task is not before:
                self._jobs.taken(name, task)

    async def finish_job(self, *args: Any, **kwargs: Any) -> None:
        # arq calls this inside asyncio.shield, so it always runs in a task of its own.
        task = cast("asyncio.Task[Any]", asyncio.current_task())
        self.recording.add(task)
        try:
            await super().finish_job(*args, **kwargs)
        finally:
            self.recording.discard(task)


async def _work(worker: _Worker) -> None:
    try:
        await worker.async_run()
    finally:
        # However it ended, the jobs it runs are put back (arq retries cancelled ones)
        # before the next worker starts, even when this one is being cancelled.
        with anyio.CancelScope(shield=True):
            await _stop(worker)


async def _stop(worker: _Worker) -> None:
    # close() cancels the jobs (arq puts them back in the queue), then gives up at the
    # first that could not record its end: Redis gone, or cancelled while recording
    # (shielded here, so that cancellation is never ours). The others still end, and
    # are awaited below.
    with contextlib.suppress(*OUTAGE_ERRORS, asyncio.CancelledError):
        await worker.close()
    await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
    await asyncio.gather(*worker.recording, return_exceptions=True)
    pool = worker.pool
    if pool is not None:
        with contextlib.suppress(*OUTAGE_ERRORS):
            await pool.aclose()
