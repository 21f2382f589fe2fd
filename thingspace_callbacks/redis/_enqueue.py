"""The enqueuing side of the queue: :func:`queue_pool`, and :func:`enqueue_fan_out`
and the run it returns, :class:`QueuedFanOut`, which enqueues one job per account and
collects their outcomes as the workers (see :mod:`._worker`) announce them.

Enqueueing the same run twice adds nothing (a job's id is a digest of the run and the
account, see :mod:`._jobs`): accounts whose job is queued or running are waited for,
those with a kept outcome get it at once. While Redis does not answer the run waits
for it, and then queues again every job Redis lost. Like arq and ``redis.asyncio``,
all of it needs asyncio.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, TypeVar, cast

import anyio
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import DeserializationError, deserialize_result
from pydantic import SecretStr

from .._checks import seconds
from .._errors import InvalidArgumentError
from .._validation import checked_account
from ._connection import RETRY_INTERVAL, log, redis_address
from ._jobs import (
    FUNCTION_NAME,
    QUEUE_NAME,
    Call,
    QueuedResult,
    deserialize,
    failed_result,
    result_of,
    serialize,
)
from ._outage import OUTAGE_ERRORS, Outage

if TYPE_CHECKING:
    from anyio.abc import TaskStatus

__all__ = ["QueuedFanOut", "enqueue_fan_out", "queue_pool"]

_T = TypeVar("_T")

_BATCH = 1000
"""Keys per MGET, entries per LPOP, accounts per enqueueing round."""
_ENQUEUE_AT_ONCE = 32
"""Jobs enqueued concurrently: arq's enqueue is three round trips, so overlap them."""
_SWEEP_AFTER = 5.0
"""Seconds without any outcome before the kept results and the queue are checked for
outcomes nobody announced and jobs Redis lost; doubled each idle check, up to 60 s."""
_SWEEP_AFTER_AT_MOST = 60.0


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


class QueuedFanOut:
    """The jobs of one run and their outcomes; made by :func:`enqueue_fan_out`.

    Iterate it for a :class:`QueuedResult` per account, in completion order, until
    every account has one; or ``await queued.collect()`` for the list, in input order.
    Outcomes nobody collected (an earlier run stopped, or crashed) are collected too.
    While Redis does not answer it waits (one warning, one line when it is back) and
    then queues again any job Redis lost. Wrap it in ``anyio.fail_after`` to bound the
    wait: no worker, no outcome.
    """

    def __init__(
        self,
        redis: ArqRedis,
        operation: str,
        *,
        base_url: str | None = None,
        queue_name: str = QUEUE_NAME,
        prefix: str = "thingspace:",
        rerun_failed: bool = True,
        timeout: float = 10.0,
        poll_interval: float = 0.1,
        service: str | None = None,
        url: str | None = None,
        username: str | None = None,
        password: str | SecretStr | None = None,
    ) -> None:
        if not isinstance(redis, ArqRedis):
            raise InvalidArgumentError(
                f"expected an arq pool (queue_pool(url)), not {type(redis).__name__}"
            )
        self._redis = redis
        self._call = Call.parse(
            operation, base_url, service=service, url=url, username=username, password=password
        )
        self.queue_name = queue_name
        self._prefix = prefix
        self._rerun_failed = rerun_failed
        self._timeout = seconds(timeout, "timeout", positive=True)
        self._poll_interval = seconds(poll_interval, "poll_interval", positive=True)
        self._notify_key = f"{prefix}queue:done:{self._call.run_key}"
        self._order: dict[str, int] = {}
        self._pending: dict[str, str] = {}
        self._ready: deque[QueuedResult] = deque()
        self._adding = 0
        self._outage = Outage(
            redis_address(redis), "waiting for it; jobs it lost are queued again once it is back"
        )
        self._sweep_now = False
        self._idle_checks = 0
        self._last_outcome = self._started = time.perf_counter()
        self.enqueued = 0
        """Jobs this run added to the queue."""
        self.existing = 0
        """Accounts whose job was already queued, running, or done (kept outcome)."""
        self.requeued = 0
        """Jobs queued again because Redis had lost them."""

    @property
    def pending(self) -> int:
        """Accounts enqueued whose outcome has not arrived."""
        return len(self._pending)

    @property
    def elapsed(self) -> float:
        """Seconds from the start to the last outcome."""
        return self._last_outcome - self._started

    def job_id(self, account: str) -> str:
        """The id of ``account``'s job in this run."""
        return self._call.job_id(account, self._prefix)

    async def enqueue(
        self,
        accounts: Iterable[str],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Enqueue a job for each account not enqueued yet (an account given twice is
        done once); iteration waits until this returns. Start it with a task group's
        ``start()`` to collect outcomes while it enqueues."""
        self._adding += 1
        task_status.started()
        try:
            for batch in _batches(accounts):
                await self._enqueue_batch(batch)
        finally:
            self._adding -= 1

    async def collect(self) -> list[QueuedResult]:
        """Every outcome, in the order the accounts were given."""
        results = [result async for result in self]
        return sorted(results, key=lambda result: self._order[result.job_id])

    def __aiter__(self) -> AsyncIterator[QueuedResult]:
        return self.results()

    async def results(self) -> AsyncGenerator[QueuedResult, None]:
        """The outcomes in completion order (what iterating the run gives), as a
        generator to ``aclose()`` when leaving it early."""
        while True:
            while self._ready:
                yield self._ready.popleft()
            if not self._pending and not self._adding:
                return
            await self._collect()

    async def _collect(self) -> None:
        """Take the outcomes announced so far; when none come for a while, look for
        the ones nobody announced and the jobs Redis lost."""
        idle_for = min(_SWEEP_AFTER * 2 ** min(self._idle_checks, 8), _SWEEP_AFTER_AT_MOST)
        if self._sweep_now or time.perf_counter() - self._last_outcome > idle_for:
            await self._sweep()
            return
        key = self._notify_key
        entries = await self._command(lambda redis: _pop(redis, key))
        if not entries:
            await anyio.sleep(self._poll_interval)
            return
        for entry in entries:
            self._announced(entry)

    def _announced(self, entry: bytes) -> None:
        try:
            data = json.loads(entry)
            job_id = data["job"]
            outcome = data["result"]
            account = self._pending.get(job_id)
        except (ValueError, KeyError, TypeError):
            return  # not ours
        if account is not None:
            self._deliver(result_of(job_id, account, outcome))

    def _deliver(self, result: QueuedResult) -> None:
        if self._pending.pop(result.job_id, None) is None:
            return  # a job run twice, or announced after a sweep found it
        self._ready.append(result)
        self._last_outcome = time.perf_counter()
        self._idle_checks = 0

    async def _enqueue_batch(self, accounts: list[str]) -> None:
        fresh = self._register(accounts)
        kept = await self._kept(fresh)
        rerun = [job_id for job_id, result in kept.items() if self._rerun_failed and not result.ok]
        if rerun:
            keys = [result_key_prefix + job_id for job_id in rerun]
            await self._command(lambda redis: redis.delete(*keys))
        for job_id in rerun:
            del kept[job_id]
        for result in kept.values():
            self.existing += 1
            self._deliver(result)
        await self._enqueue_jobs([job_id for job_id in fresh if job_id not in kept])

    def _register(self, accounts: list[str]) -> list[str]:
        """The job ids of the accounts not seen before in this run, now pending. An
        account no request may name fails at once, and gets no job: a worker would
        refuse it alike, and one file of many accounts should not stop at one."""
        fresh = []
        for account in accounts:
            job_id = self.job_id(account)
            if job_id in self._order:
                continue
            self._order[job_id] = len(self._order)
            try:
                checked_account(account)
            except InvalidArgumentError as exc:
                self._ready.append(failed_result(job_id, account, exc))
                continue
            self._pending[job_id] = account
            fresh.append(job_id)
        return fresh

    async def _kept(self, job_ids: list[str]) -> dict[str, QueuedResult]:
        """The outcomes arq keeps for ``job_ids`` (those that have one)."""
        if not job_ids:
            return {}
        keys = [result_key_prefix + job_id for job_id in job_ids]
        values = await self._command(lambda redis: redis.mget(keys))
        kept = {}
        for job_id, raw in zip(job_ids, values, strict=True):
            account = self._pending.get(job_id)
            if raw is not None and account is not None:
                kept[job_id] = self._decode(job_id, account, raw)
        return kept

    def _decode(self, job_id: str, account: str, raw: bytes) -> QueuedResult:
        try:
            info = deserialize_result(raw, deserializer=self._redis.job_deserializer)
        except DeserializationError:
            return failed_result(job_id, account, "its result could not be read")
        if info.success:
            return result_of(job_id, account, info.result)
        elapsed = (info.finish_time - info.start_time).total_seconds()
        return failed_result(job_id, account, info.result, max(0.0, elapsed))

    async def _enqueue_jobs(self, job_ids: list[str], *, lost: bool = False) -> None:
        """Enqueue the jobs of ``job_ids`` still pending (arq adds none whose id is
        queued, running or kept), counting each as it goes: a run stopped halfway
        still says how many it added."""
        limit = anyio.Semaphore(_ENQUEUE_AT_ONCE)

        async def one(job_id: str) -> None:
            async with limit:
                added = await self._enqueue_job(job_id)
            if added and lost:
                self.requeued += 1
            elif added:
                self.enqueued += 1
            elif not lost:
                self.existing += 1

        async with anyio.create_task_group() as group:
            for job_id in job_ids:
                group.start_soon(one, job_id)

    async def _enqueue_job(self, job_id: str) -> bool:
        account = self._pending.get(job_id)
        if account is None:
            return False
        payload = self._call.payload(account, self._notify_key)
        job = await self._command(
            lambda redis: redis.enqueue_job(
                FUNCTION_NAME, payload, _job_id=job_id, _queue_name=self.queue_name
            )
        )
        return job is not None

    async def _sweep(self) -> None:
        """Deliver the kept outcomes nobody announced (a run that stopped after taking
        them, a job arq gave up on) and queue again the jobs Redis lost."""
        self._sweep_now = False
        self._idle_checks += 1
        lost: list[str] = []
        for chunk in _batches(list(self._pending)):
            for result in (await self._kept(chunk)).values():
                self._deliver(result)
            lost += await self._missing([job_id for job_id in chunk if job_id in self._pending])
        if lost:
            log.warning("%d jobs were lost by Redis: queueing them again", len(lost))
            await self._enqueue_jobs(lost, lost=True)

    async def _missing(self, job_ids: list[str]) -> list[str]:
        """The jobs of ``job_ids`` that are neither queued nor running nor done."""
        if not job_ids:
            return []

        async def exists(redis: ArqRedis) -> list[int]:
            async with redis.pipeline(transaction=False) as pipe:
                for job_id in job_ids:
                    pipe.exists(job_key_prefix + job_id, result_key_prefix + job_id)
                return await pipe.execute()

        found = await self._command(exists)
        return [job_id for job_id, present in zip(job_ids, found, strict=True) if not present]

    async def _command(self, command: Callable[[ArqRedis], Awaitable[_T]]) -> _T:
        """``command``'s result, waiting for Redis as long as it does not answer."""
        while True:
            try:
                with anyio.fail_after(self._timeout):
                    result = await command(self._redis)
            except OUTAGE_ERRORS as exc:
                self._outage.failed(exc)
                await anyio.sleep(RETRY_INTERVAL)
                continue
            if self._outage.recovered():
                self._sweep_now = True  # it may have restarted empty
            return result

    def __repr__(self) -> str:
        return (
            f"<QueuedFanOut {self._call.family}.{self._call.verb} on {self.queue_name!r}: "
            f"{self.pending} pending>"
        )


async def _pop(redis: ArqRedis, key: str) -> list[bytes]:
    # redis-py types the asyncio client's commands with its synchronous client's.
    entries = await cast("Awaitable[list[bytes] | None]", redis.lpop(key, _BATCH))
    return entries or []


def _batches(items: Iterable[_T], size: int = _BATCH) -> Iterator[list[_T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


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
) -> QueuedFanOut:
    """Enqueue ``operation`` for every account, one arq job each, and return the run,
    whose outcomes are iterated or awaited::

        pool = await queue_pool("redis://localhost:6379/0")
        queued = await enqueue_fan_out(
            pool, "location.register", accounts, service="Location", url=URL
        )
        async for result in queued:
            print(result.account, result.ok, result.value or result.error)

    A job's id is derived from the operation, its arguments, ``base_url`` and the
    account, so enqueueing the same run twice adds nothing: accounts whose job is
    queued or running are waited for, and those with a kept outcome get it at once.

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
    :param rerun_failed: Enqueue again the accounts whose kept outcome is a failure
        (``False``: hand out that failure).
    """
    queued = QueuedFanOut(
        redis,
        operation,
        base_url=base_url,
        queue_name=queue_name,
        prefix=prefix,
        rerun_failed=rerun_failed,
        service=service,
        url=url,
        username=username,
        password=password,
    )
    await queued.enqueue(accounts)
    return queued
