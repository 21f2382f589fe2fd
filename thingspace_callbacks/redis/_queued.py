"""The run :func:`~._enqueue.enqueue_fan_out` returns, :class:`QueuedFanOut`: it
enqueues the accounts in jobs of ``chunk_size`` accounts and collects their outcomes as
the workers (see :mod:`._worker`) announce them. Apart from the entry points
(:mod:`._enqueue`) and the Redis commands it issues (:mod:`._commands`).

A run keeps, in a Redis hash named for it (``{prefix}queue:jobs:{run}``), the job each
of its accounts went to. Enqueueing the same run again (twice, or resumed after Ctrl-C
or a crash) looks its accounts up there: those whose job is queued or running are
waited for, those with a kept outcome get it at once (a kept failure is run again, in
a new job), and only the others go to new jobs. Each account gets one outcome however
many times its job runs. While Redis does not answer the run waits for it, and then
queues again every job Redis lost. Like arq and ``redis.asyncio``, all of it needs
asyncio.
"""

from __future__ import annotations

import functools
import json
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, TypeVar

import anyio
from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import DeserializationError, deserialize_result
from pydantic import SecretStr

from .._checks import seconds
from .._errors import InvalidArgumentError
from .._telemetry import instruments_for
from .._validation import checked_account
from ._commands import BATCH, batches, hmget, kept_results, pipelined, pop_batch, record_index
from ._connection import RETRY_INTERVAL, log, redis_address
from ._jobs import (
    DEFAULT_CHUNK_SIZE,
    FUNCTION_NAME,
    QUEUE_NAME,
    Call,
    QueuedResult,
    checked_chunk_size,
    failed_result,
    outcomes_of,
    result_of,
)
from ._outage import OUTAGE_ERRORS, Outage

if TYPE_CHECKING:
    from anyio.abc import TaskStatus
    from redis.asyncio.client import Pipeline

    from ..telemetry import Telemetry

__all__ = ["QueuedFanOut"]

_T = TypeVar("_T")

_ENQUEUE_AT_ONCE = 32
"""Jobs enqueued concurrently: arq's enqueue is three round trips, so overlap them."""
_SWEEP_AFTER = 5.0
"""Seconds without any outcome before the kept results and the queue are checked for
outcomes nobody announced and jobs Redis lost; doubled each idle check, up to 60 s."""
_SWEEP_AFTER_AT_MOST = 60.0

_Outcomes = Callable[[str], "QueuedResult | None"]


class QueuedFanOut:
    """The jobs of one run and their outcomes; made by :func:`enqueue_fan_out`.

    Iterate it for a :class:`QueuedResult` per account, in completion order, until
    every account has one; or ``await queued.collect()`` for the list, in input order.
    An account whose job ran twice (its worker died) still gets one outcome, the
    first announced. Outcomes nobody collected (an earlier run stopped, or crashed) are
    collected too. While Redis does not answer it waits (one warning, one line when it
    is back) and then queues again any job Redis lost. Wrap it in ``anyio.fail_after``
    to bound the wait: no worker, no outcome.
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
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        timeout: float = 10.0,
        poll_interval: float = 0.1,
        service: str | None = None,
        url: str | None = None,
        username: str | None = None,
        password: str | SecretStr | None = None,
        telemetry: Telemetry | None = None,
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
        self.chunk_size = checked_chunk_size(chunk_size)
        """Accounts per job this run adds."""
        self._prefix = prefix
        self._rerun_failed = rerun_failed
        self._timeout = seconds(timeout, "timeout", positive=True)
        self._poll_interval = seconds(poll_interval, "poll_interval", positive=True)
        self._notify_key = f"{prefix}queue:done:{self._call.run_key}"
        self._index_key = f"{prefix}queue:jobs:{self._call.run_key}"
        self._order: dict[str, int] = {}
        """Every account given, and its position."""
        self._pending: dict[str, str] = {}
        """The accounts waiting for an outcome, and the job they wait for."""
        self._jobs: dict[str, list[str]] = {}
        """The jobs waited for, and their accounts (some may have their outcome)."""
        self._left: dict[str, int] = {}
        """How many accounts of each job waited for have no outcome yet."""
        self._ready: deque[QueuedResult] = deque()
        self._adding = 0
        self._enqueuing: set[str] = set()
        """The jobs waited for whose enqueueing has not returned: not lost, only not
        in Redis yet."""
        self._outage = Outage(
            redis_address(redis), "waiting for it; jobs it lost are queued again once it is back"
        )
        self._sweep_now = False
        self._idle_checks = 0
        self._last_outcome = self._started = time.perf_counter()
        self.enqueued = 0
        """Accounts this run put in jobs it added to the queue."""
        self.existing = 0
        """Accounts whose job was already queued, running, or done (kept outcome)."""
        self.requeued = 0
        """Accounts queued again because Redis had lost their job, or because their job
        ended without them (it ran out of time)."""
        instruments = instruments_for(telemetry)
        self._trace = (
            instruments.published(queue_name, operation)
            if instruments is not None and instruments.active()
            else None
        )
        """The run's trace context, which its jobs carry to the workers."""

    @property
    def pending(self) -> int:
        """Accounts enqueued whose outcome has not arrived."""
        return len(self._pending)

    @property
    def elapsed(self) -> float:
        """Seconds from the start to the last outcome."""
        return self._last_outcome - self._started

    def job_id(self, *accounts: str) -> str:
        """The id of the job of ``accounts`` (in any order) in this run."""
        return self._prefix + self._call.job_key(accounts)

    async def enqueue(
        self,
        accounts: Iterable[str],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Enqueue the accounts not enqueued yet (an account given twice is done once),
        ``chunk_size`` to a job; iteration waits until this returns. Start it with a
        task group's ``start()`` to collect outcomes while it enqueues."""
        self._adding += 1
        task_status.started()
        try:
            size = self.chunk_size * max(1, BATCH // self.chunk_size)
            for batch in batches(accounts, size):
                await self._enqueue_batch(batch)
        finally:
            self._adding -= 1

    async def collect(self) -> list[QueuedResult]:
        """Every outcome, in the order the accounts were given."""
        results = [result async for result in self]
        return sorted(results, key=lambda result: self._order[result.account])

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

    # -- outcomes --------------------------------------------------------------------

    async def _collect(self) -> None:
        """Take the outcomes announced so far; when none come for a while, look for
        the ones nobody announced and the jobs Redis lost."""
        idle_for = min(_SWEEP_AFTER * 2 ** min(self._idle_checks, 8), _SWEEP_AFTER_AT_MOST)
        if self._sweep_now or time.perf_counter() - self._last_outcome > idle_for:
            await self._sweep()
            return
        key = self._notify_key
        entries = await self._command(lambda redis: pop_batch(redis, key))
        if not entries:
            await anyio.sleep(self._poll_interval)
            return
        for entry in entries:
            self._announced(entry)

    def _announced(self, entry: bytes) -> None:
        try:
            data = json.loads(entry)
            job_id = data["job"]
            outcomes = data.get("results")
            if outcomes is None:  # a worker of format 1 refusing the job as a whole
                self._deliver_job(job_id, outcomes_of(job_id, data["result"]))
                return
            for outcome in outcomes:
                account = outcome.get("account")
                if isinstance(account, str):
                    self._deliver(job_id, result_of(job_id, account, outcome))
        except (ValueError, KeyError, TypeError, AttributeError):
            return  # not ours
        if data.get("partial") is True and job_id in self._jobs:
            # The job ran out of time and is kept without some of its accounts: the
            # sweep queues them again now rather than once the run has been idle.
            self._sweep_now = True

    def _deliver(self, job_id: str, result: QueuedResult) -> None:
        """Hand out ``result`` if its account waits for that job: not for an account
        given its outcome already (its job ran twice, or a sweep found it) or moved to
        another job (a kept failure run again)."""
        account = result.account
        if self._pending.get(account) != job_id:
            return
        del self._pending[account]
        left = self._left[job_id] - 1
        if left:
            self._left[job_id] = left
        else:
            del self._left[job_id], self._jobs[job_id]
        self._hand_out(result)

    def _deliver_job(self, job_id: str, outcomes: _Outcomes) -> list[str]:
        """Hand out the outcomes of a job's waiting accounts; those the job has none
        for are returned."""
        missing = []
        for account in self._waiting(job_id):
            result = outcomes(account)
            if result is None:
                missing.append(account)
            else:
                self._deliver(job_id, result)
        return missing

    def _hand_out(self, result: QueuedResult) -> None:
        self._ready.append(result)
        self._last_outcome = time.perf_counter()
        self._idle_checks = 0

    def _waiting(self, job_id: str) -> list[str]:
        return [a for a in self._jobs.get(job_id, ()) if self._pending.get(a) == job_id]

    def _wait_for(self, job_id: str, accounts: list[str]) -> None:
        for account in accounts:
            self._pending[account] = job_id
        self._jobs.setdefault(job_id, []).extend(accounts)
        self._left[job_id] = self._left.get(job_id, 0) + len(accounts)

    def _forget(self, job_id: str) -> list[str]:
        """Stop waiting for a job; its accounts that had no outcome are returned."""
        waiting = self._waiting(job_id)
        self._jobs.pop(job_id, None)
        self._left.pop(job_id, None)
        for account in waiting:
            del self._pending[account]
        return waiting

    # -- enqueueing ------------------------------------------------------------------

    async def _enqueue_batch(self, accounts: list[str]) -> None:
        fresh = self._register(accounts)
        if not fresh:
            return
        known = await self._indexed(fresh)
        to_run = [account for account in fresh if account not in known]
        replaced: dict[str, str] = {}
        if known:
            to_run += await self._adopt(known, replaced)
            to_run.sort(key=self._order.__getitem__)
        await self._enqueue_chunks(list(batches(to_run, self.chunk_size)), replaced=replaced)

    def _register(self, accounts: list[str]) -> list[str]:
        """The accounts not seen before in this run. An account no request may name
        fails at once, and gets no job: a worker would refuse it alike, and one file of
        many accounts should not stop at one."""
        fresh = []
        for account in accounts:
            if account in self._order:
                continue
            self._order[account] = len(self._order)
            try:
                checked_account(account)
            except InvalidArgumentError as exc:
                self._hand_out(failed_result(self.job_id(account), account, exc))
                continue
            fresh.append(account)
        return fresh

    async def _indexed(self, accounts: list[str]) -> dict[str, str]:
        """The job each of ``accounts`` went to in an earlier enqueueing of this run."""
        key = self._index_key
        found = await self._command(lambda redis: hmget(redis, key, accounts))
        return {
            account: self._prefix + job.decode()
            for account, job in zip(accounts, found, strict=True)
            if job is not None
        }

    async def _adopt(self, known: dict[str, str], replaced: dict[str, str]) -> list[str]:
        """Take over the accounts an earlier enqueueing put in a job: wait for those
        whose job is queued or running, hand out those it kept an outcome for, and
        return those to run again (a kept failure, a job gone). Each account whose kept
        failure runs again goes to ``replaced``, with the id of the job that kept it."""
        by_job: dict[str, list[str]] = {}
        for account, job_id in known.items():
            by_job.setdefault(job_id, []).append(account)
        kept = await self._kept(list(by_job))
        gone = set(await self._missing([job_id for job_id in by_job if job_id not in kept]))
        again = []
        for job_id, accounts in by_job.items():
            outcomes = kept.get(job_id)
            if outcomes is None and job_id not in gone:
                self.existing += len(accounts)
                self._wait_for(job_id, accounts)
                continue
            for account in accounts:
                result = outcomes(account) if outcomes is not None else None
                if result is not None and (result.ok or not self._rerun_failed):
                    self.existing += 1
                    self._hand_out(result)
                else:
                    replaced[account] = job_id
                    again.append(account)
        return again

    async def _enqueue_chunks(
        self,
        chunks: list[list[str]],
        *,
        replaced: Mapping[str, str] | None = None,
        lost: bool = False,
    ) -> None:
        """Put each chunk in a job (arq adds none whose id is queued, running or kept),
        recorded first in the run's index: a run stopped in between finds the job
        missing and queues it again. Each is counted as it goes: a run stopped halfway
        still says how many it added."""
        replaced = replaced or {}
        jobs = {
            self._prefix
            + self._call.job_key(chunk, {replaced[a] for a in chunk if a in replaced}): chunk
            for chunk in chunks
            if chunk
        }
        await self._enqueue_jobs(jobs, lost=lost)

    async def _enqueue_jobs(self, jobs: dict[str, list[str]], *, lost: bool = False) -> None:
        """:meth:`_enqueue_chunks` of jobs named already."""
        jobs = {job_id: accounts for job_id, accounts in jobs.items() if accounts}
        if not jobs:
            return
        for job_id, chunk in jobs.items():
            self._wait_for(job_id, chunk)
        self._enqueuing.update(jobs)
        index = {
            account: job_id[len(self._prefix) :]
            for job_id, chunk in jobs.items()
            for account in chunk
        }
        key = self._index_key
        try:
            await self._command(lambda redis: record_index(redis, key, index))
        except BaseException:
            self._enqueuing.difference_update(jobs)
            raise
        limit = anyio.Semaphore(_ENQUEUE_AT_ONCE)

        async def one(job_id: str, accounts: list[str]) -> None:
            try:
                async with limit:
                    added = await self._enqueue_job(job_id, accounts)
            finally:
                self._enqueuing.discard(job_id)
            if added and lost:
                self.requeued += len(accounts)
            elif added:
                self.enqueued += len(accounts)
            elif not lost:
                self.existing += len(accounts)

        async with anyio.create_task_group() as group:
            for job_id, chunk in jobs.items():
                group.start_soon(one, job_id, chunk)

    async def _enqueue_job(self, job_id: str, accounts: list[str]) -> bool:
        payload = self._call.payload(accounts, self._notify_key, self._trace)
        job = await self._command(
            lambda redis: redis.enqueue_job(
                FUNCTION_NAME, payload, _job_id=job_id, _queue_name=self.queue_name
            )
        )
        return job is not None

    # -- what Redis keeps ------------------------------------------------------------

    async def _kept(self, job_ids: list[str]) -> dict[str, _Outcomes]:
        """The outcomes arq keeps for ``job_ids`` (those that have a result)."""
        kept: dict[str, _Outcomes] = {}
        for chunk in batches(job_ids):
            values = await self._command(functools.partial(kept_results, chunk))
            for job_id, raw in zip(chunk, values, strict=True):
                if raw is not None:
                    kept[job_id] = self._decode(job_id, raw)
        return kept

    def _decode(self, job_id: str, raw: bytes) -> _Outcomes:
        try:
            info = deserialize_result(raw, deserializer=self._redis.job_deserializer)
        except DeserializationError:
            return lambda account: failed_result(job_id, account, "its result could not be read")
        if info.success:
            return outcomes_of(job_id, info.result)
        elapsed = max(0.0, (info.finish_time - info.start_time).total_seconds())
        return lambda account: failed_result(job_id, account, info.result, elapsed)

    async def _sweep(self) -> None:
        """Deliver the kept outcomes nobody announced (a run that stopped after taking
        them, a job arq gave up on), run again the accounts a kept result lacks (its job
        ran out of time), and queue again the jobs Redis lost. Jobs still being
        enqueued are left alone: they are not in Redis yet."""
        self._sweep_now = False
        self._idle_checks += 1
        again: list[list[str]] = []
        replaced: dict[str, str] = {}
        lost: dict[str, list[str]] = {}
        for chunk in batches([job for job in self._jobs if job not in self._enqueuing]):
            for job_id, outcomes in (await self._kept(chunk)).items():
                # A kept result without an account's outcome is no result of ours for
                # it: run the account again, in a job replacing this one.
                if self._deliver_job(job_id, outcomes):
                    missing = self._forget(job_id)
                    replaced.update(dict.fromkeys(missing, job_id))
                    again.append(missing)
            waited = [j for j in chunk if j in self._jobs and j not in self._enqueuing]
            for job_id in await self._missing(waited):
                # Under the id the run recorded for it: that of a job replacing kept
                # failures is not the one its accounts alone would give.
                lost[job_id] = self._forget(job_id)
        if lost:
            log.warning("%d jobs were lost by Redis: queueing them again", len(lost))
        await self._enqueue_chunks(again, replaced=replaced, lost=True)
        await self._enqueue_jobs(lost, lost=True)

    async def _missing(self, job_ids: list[str]) -> list[str]:
        """The jobs of ``job_ids`` that are neither queued nor running nor done."""
        if not job_ids:
            return []

        def queue(pipe: Pipeline) -> None:
            for job_id in job_ids:
                pipe.exists(job_key_prefix + job_id, result_key_prefix + job_id)

        async def exists(redis: ArqRedis) -> list[int]:
            return await pipelined(redis, queue)

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
