"""The workers: what a worker does with each job of :func:`enqueue_fan_out`. The arq
settings that run them (:func:`worker_settings`, for ``arq yourmodule.WorkerSettings``)
are in :mod:`._settings`; :func:`serve`, the worker of ``thingspace-callbacks worker``,
which outlives Redis outages, is in :mod:`._serve`; the secrets a worker reveals to its
jobs are in :mod:`._secrets`, and how it announces their outcomes in :mod:`._announce`.

A job is a chunk of a run's accounts. A worker runs it through the in-process fan-out
(:class:`~thingspace_callbacks._fanout.FanOut`: bounded by the worker's concurrency,
which all its chunks share, paced by its rate limiter, each account retried by the
client) with its own client, given the secrets the job carries only as digests (see
:mod:`._jobs`). As the accounts finish it pushes their outcomes, in batches, onto a list
named for the run, where the enqueuing side pops them; the last batch goes once arq has
kept the job's result, which holds every account's outcome and is where a later run
(after Ctrl-C, after a crash) finds the outcomes nobody collected. A chunk still running
at 90% of the job timeout stops there: its result holds the accounts it did, and the
run queues the others again (arq neither keeps nor retries a job that timed out). A
worker takes a job whenever its chunks leave some of its slots free. A job whose worker
died runs again, all of it, once arq's lock on it lapses (the job timeout plus 10 s):
its accounts are announced again, and the enqueuing side keeps the first outcome of
each. Registration sets *the* listener of an account and service, so running it twice
is safe; so is removing or listing twice. Like arq and ``redis.asyncio``, all of it
needs asyncio.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
from arq.worker import Function, func

from .._error_data import error_data
from .._errors import APIError
from .._fanout import FanOut, FanOutResult
from .._ratelimit import Limiter
from .._redact import redact, redact_url
from .._telemetry import instruments_of
from ..models._base import plain_data
from ._announce import Announcer
from ._connection import log
from ._jobs import (
    DEFAULT_CHUNK_SIZE,
    FUNCTION_NAME,
    QUEUE_NAME,
    Refused,
    job_fields,
    refusal,
)
from ._secrets import Secrets

if TYPE_CHECKING:
    from .._client import AsyncThingSpaceClient

__all__ = [
    "DEADLINE_SHARE",
    "DEFAULT_JOB_TIMEOUT",
    "DEFAULT_KEEP_RESULT",
    "DEFAULT_MAX_TRIES",
    "DEFAULT_POLL_DELAY",
    "Jobs",
    "describe",
]

DEFAULT_JOB_TIMEOUT = 300.0
"""Seconds a job (a chunk of accounts) may run; a job whose worker died runs again this
long plus 10 s after it started (arq's lock)."""
DEFAULT_KEEP_RESULT = 86_400.0
"""Seconds arq keeps a job's result: within that time the same job is not enqueued
again, and a later run collects the result instead."""
DEFAULT_MAX_TRIES = 5
"""Times a job is started before arq gives it up (its worker died, or it was stopped)."""
DEFAULT_POLL_DELAY = 0.05
"""Seconds between a worker's looks at the queue. arq starts jobs only when it looks
(its default is 0.5 s): a worker that finishes a chunk starts the next one within
that delay."""

_ANNOUNCE = "thingspace_callbacks.announce"
"""The job context's entry holding the job's last outcomes to announce, from the job
to arq's ``after_job_end``."""

DEADLINE_SHARE = 0.9
"""The share of the job timeout a chunk's fan-out may take: what it has not finished by
then is left out of the job's result, which arq keeps (a job that timed out is neither
kept nor retried), and the run queues those accounts again."""


def describe(exc: Exception) -> str:
    """An error as an outcome's message: the API's message, or the exception's."""
    return exc.message if isinstance(exc, APIError) else str(exc) or type(exc).__name__


class Jobs:
    """What a worker runs for each job: its chunk of accounts, through the fan-out, with
    the worker's client and secrets."""

    def __init__(
        self,
        *,
        secrets: Secrets,
        concurrency: int,
        limiter: Limiter | None = None,
        keep_result: float = DEFAULT_KEEP_RESULT,
        message: Callable[[Exception], str] = describe,
    ) -> None:
        self.client: AsyncThingSpaceClient | None = None
        """Set before the worker starts (by ``on_startup`` in :func:`worker_settings`)."""
        self._secrets = secrets
        self.concurrency = concurrency
        """Accounts handled at once, by all the chunks the worker runs."""
        self._slots: anyio.CapacityLimiter | None = None
        self._limiter = limiter
        self._keep_result = keep_result
        self._message = message
        self.queue_name = QUEUE_NAME
        """The queue the jobs come from (set with the worker's arguments), for spans."""
        self.deadline = DEFAULT_JOB_TIMEOUT * DEADLINE_SHARE
        """Seconds a chunk's fan-out may run (set with the worker's arguments)."""
        self._unfinished = 0
        """Accounts of the chunks running here that have no outcome yet."""
        self._starting: set[str] = set()
        """Jobs taken from the queue whose chunk has not started yet."""
        self._begun: set[str] = set()
        """Jobs whose chunk has started (or been refused) and not ended."""
        self._chunk_size = DEFAULT_CHUNK_SIZE
        """The size of the last chunk started: what a job taken is expected to carry."""

    def wants_more(self) -> bool:
        """Whether the worker has slots the chunks it runs (or is starting) leave
        free: :class:`._serve._Worker` takes jobs only then, so that a small chunk size does
        not keep the worker below its concurrency, nor a big one take chunks other
        workers could be running."""
        expected = self._unfinished + len(self._starting) * self._chunk_size
        return expected < self.concurrency

    def taken(self, job_id: str, task: asyncio.Task[Any]) -> None:
        """Count ``job_id``, taken from the queue, as starting until its chunk starts
        (or its task ends without one: not a job of ours, or unreadable)."""
        if job_id not in self._begun:  # its task may have run already
            self._starting.add(job_id)
            task.add_done_callback(lambda _: self._starting.discard(job_id))

    def function(self, *, timeout: float, keep_result: float, max_tries: int) -> Function:
        return func(
            self.run,
            name=FUNCTION_NAME,
            timeout=timeout,
            keep_result=keep_result,
            max_tries=max_tries,
        )

    async def run(self, ctx: dict[Any, Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The arq coroutine: ``args`` is the one job payload."""
        job = args[0] if len(args) == 1 and not kwargs else None
        announcer = Announcer(ctx, job, self._keep_result)
        ctx[_ANNOUNCE] = announcer
        job_id = ctx.get("job_id")
        name = str(job_id)
        self._starting.discard(name)
        self._begun.add(name)
        try:
            return await self._run(ctx, job, announcer)
        finally:
            self._begun.discard(name)

    async def _run(self, ctx: dict[Any, Any], job: object, announcer: Announcer) -> dict[str, Any]:
        job_id = ctx.get("job_id")
        try:
            fields, accounts = job_fields(job)
        except Refused as exc:
            return self._refuse(job, exc, announcer)
        self._chunk_size = len(accounts)
        self._unfinished += len(accounts)
        outcomes: list[dict[str, Any]] = []
        try:
            await self._traced_chunk(job_id, fields, accounts, announcer, outcomes)
        except Refused as exc:
            return self._refuse(job, exc, announcer)
        finally:
            self._unfinished -= len(accounts) - len(outcomes)
        return {"outcomes": outcomes}

    def _refuse(self, job: object, exc: Refused, announcer: Announcer) -> dict[str, Any]:
        result, entry = refusal(job, str(exc))
        announcer.last(entry)
        return result

    async def announce(self, ctx: dict[Any, Any]) -> None:
        """arq's ``after_job_end``: announce the job's last outcomes once arq has
        recorded its result, so whoever hears of them and enqueues again finds the job
        kept, never still running."""
        announcer = ctx.pop(_ANNOUNCE, None)
        if isinstance(announcer, Announcer):
            await announcer.finish()

    async def _traced_chunk(
        self,
        job_id: object,
        fields: dict[str, str | None],
        accounts: list[str],
        announcer: Announcer,
        outcomes: list[dict[str, Any]],
    ) -> None:
        """:meth:`_chunk`, inside a ``CONSUMER`` span joined to the run's trace when
        the worker's client reports telemetry."""
        telemetry = instruments_of(self.client)
        if telemetry is None or not telemetry.active():
            await self._chunk(fields, accounts, announcer, outcomes)
            return
        named = job_id if isinstance(job_id, str) else None
        with telemetry.consuming(self.queue_name, named, fields.get("trace"), len(accounts)):
            await self._chunk(fields, accounts, announcer, outcomes)

    async def _chunk(
        self,
        fields: dict[str, str | None],
        accounts: list[str],
        announcer: Announcer,
        outcomes: list[dict[str, Any]],
    ) -> None:
        """Run ``accounts`` through the fan-out, adding their outcomes to ``outcomes``
        as they finish. Those not finished by :attr:`deadline` are left out: the job
        ends in time for arq to keep what it did, and the run queues the rest again."""
        client = self.client
        if client is None:
            raise Refused("the worker has no client (it was not started)")
        if fields["baseUrl"] is not None and fields["baseUrl"] != redact_url(client.base_url):
            raise Refused(
                f"the job is for the API at {fields['baseUrl']}, this worker talks to "
                f"{redact_url(client.base_url)}"
            )
        operation = getattr(getattr(client, str(fields["family"])), str(fields["verb"]), None)
        if operation is None:
            raise Refused(f"{fields['family']} has no {fields['verb']}")
        call = functools.partial(operation, **await self._arguments(fields))
        if self._slots is None:
            # Made here, in the worker's event loop; every chunk of this worker shares it.
            self._slots = anyio.CapacityLimiter(self.concurrency)
        fan_out = FanOut(
            accounts,
            call,
            concurrency=self._slots,
            rate_limit=self._limiter,
            telemetry=instruments_of(client),
        )
        with anyio.move_on_after(self.deadline) as scope:
            async with anyio.create_task_group() as timer, fan_out as results:
                timer.start_soon(announcer.flushing)
                async for result in results:
                    await self._finished(result, announcer, outcomes)
                timer.cancel_scope.cancel()
        if scope.cancelled_caught:
            # Calls that ended as the deadline came, not yet handed out, still count.
            for result in fan_out.remaining():
                if not result.cancelled:
                    await self._finished(result, announcer, outcomes)
            announcer.partial()
            log.warning(
                "a job ran out of time (%d of its %d accounts done): its run queues the rest again",
                len(outcomes),
                len(accounts),
            )

    async def _finished(
        self,
        result: FanOutResult[str, object],
        announcer: Announcer,
        outcomes: list[dict[str, Any]],
    ) -> None:
        outcome = _outcome(result, self._message)
        outcomes.append(outcome)
        self._unfinished -= 1
        await announcer.add(outcome)

    async def _arguments(self, fields: dict[str, str | None]) -> dict[str, object]:
        arguments: dict[str, object] = {
            name: fields.get(name) for name in ("service", "url", "username") if fields.get(name)
        }
        masked, recorded = fields.get("url"), fields.get("urlDigest")
        if masked and recorded:
            arguments["url"] = await self._secrets.url(masked, recorded)
        if fields.get("password"):
            arguments["password"] = await self._secrets.password(str(fields["password"]))
        return arguments

    async def startup(
        self, ctx: dict[Any, Any], factory: Callable[[], AsyncThingSpaceClient]
    ) -> None:
        client = factory()
        await client.__aenter__()
        self.client = client

    async def shutdown(self, ctx: dict[Any, Any]) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.aclose()


def _outcome(
    result: FanOutResult[str, object], message: Callable[[Exception], str]
) -> dict[str, Any]:
    data: dict[str, Any]
    if result.error is None:
        data = {"value": redact(plain_data(result.value))}
    else:
        data = {"error": error_data(result.error, message(result.error))}
    return {"account": result.account, "ok": result.ok, "attempts": result.attempts,
            "elapsed": round(result.elapsed, 6), **data}  # fmt: skip
