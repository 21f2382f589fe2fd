"""The workers: what a worker does with each job of :func:`enqueue_fan_out`, the arq
settings that run them (:func:`worker_settings`, for ``arq yourmodule.WorkerSettings``),
and :func:`serve`, the worker of ``thingspace-callbacks worker``, which outlives Redis
outages.

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
import contextlib
import dataclasses
import functools
import json
import math
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

import anyio
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.worker import Function, Worker, func
from pydantic import SecretStr

from .._checks import count, seconds
from .._digest import matches
from .._error_data import error_data
from .._errors import APIError
from .._fanout import FanOut, FanOutResult
from .._ratelimit import Limiter, as_limiter
from .._redact import redact, redact_url
from .._telemetry import instruments_of
from ..models._base import plain_data
from ._connection import RETRY_INTERVAL, log, redis_address
from ._jobs import (
    DEFAULT_CHUNK_SIZE,
    FUNCTION_NAME,
    QUEUE_NAME,
    Refused,
    checked_chunk_size,
    deserialize,
    has_userinfo,
    job_fields,
    refusal,
    serialize,
)
from ._outage import OUTAGE_ERRORS, Outage

if TYPE_CHECKING:
    from .._client import AsyncThingSpaceClient

__all__ = [
    "DEFAULT_JOB_TIMEOUT",
    "DEFAULT_KEEP_RESULT",
    "DEFAULT_MAX_TRIES",
    "DEFAULT_POLL_DELAY",
    "chunks_at_once",
    "describe",
    "serve",
    "worker_settings",
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


_PUSH_TIMEOUT = 5.0
"""Seconds an announcement may take once begun, cancelled or not (Redis not
answering)."""

_ANNOUNCE = "thingspace_callbacks.announce"
"""The job context's entry holding the job's last outcomes to announce, from the job
to arq's ``after_job_end``."""
_ANNOUNCE_EVERY = 25
"""Outcomes announced in one push while a chunk runs..."""
_ANNOUNCE_AFTER = 0.25
"""...or fewer, once the oldest has waited this many seconds."""


_DEADLINE_SHARE = 0.9
"""The share of the job timeout a chunk's fan-out may take: what it has not finished by
then is left out of the job's result, which arq keeps (a job that timed out is neither
kept nor retried), and the run queues those accounts again."""


def chunks_at_once(concurrency: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """The jobs an arq worker of :func:`worker_settings` runs at once (arq's
    ``max_jobs``): enough chunks of ``chunk_size`` accounts to keep ``concurrency``
    accounts going while one chunk ends and the next starts, and no more, so that the
    other workers get the rest of the queue."""
    return max(2, math.ceil(concurrency / chunk_size) + 1)


# -- what a job does ---------------------------------------------------------------------


class _Secrets:
    """The secrets a worker was given, revealed to a job that carries their digest."""

    def __init__(self, password: str | SecretStr | None, urls: Iterable[str]) -> None:
        self._password = SecretStr(password) if isinstance(password, str) else password
        self._urls = [url for url in urls if has_userinfo(url)]
        self._known: dict[str, str | None] = {}
        self._lock = anyio.Lock()

    async def password(self, recorded: str) -> SecretStr:
        candidates = [self._password.get_secret_value()] if self._password else []
        found = await self._reveal(recorded, candidates)
        if found is None:
            raise Refused(
                "the job's callback password is not this worker's: give the worker the "
                "same one (worker --callback-password or $THINGSPACE_CALLBACK_PASSWORD; "
                "worker_settings(callback_password=...))"
            )
        return SecretStr(found)

    async def url(self, masked: str, recorded: str) -> str:
        candidates = [url for url in self._urls if redact_url(url) == masked]
        found = await self._reveal(recorded, candidates)
        if found is None:
            raise Refused(
                f"the job's listener URL {masked} has credentials this worker was not "
                "given: pass the URL to the worker (worker --url; "
                "worker_settings(listener_urls=[...]))"
            )
        return found

    async def _reveal(self, recorded: str, candidates: list[str]) -> str | None:
        # One digest per run, computed once (in a thread: it takes a tenth of a
        # second) however many jobs ask at once.
        async with self._lock:
            if recorded not in self._known:
                self._known[recorded] = await anyio.to_thread.run_sync(
                    _first_match, recorded, candidates
                )
            return self._known[recorded]


def _first_match(recorded: str, candidates: list[str]) -> str | None:
    return next((secret for secret in candidates if matches(secret, recorded)), None)


def describe(exc: Exception) -> str:
    """An error as an outcome's message: the API's message, or the exception's."""
    return exc.message if isinstance(exc, APIError) else str(exc) or type(exc).__name__


class _Announcer:
    """Pushes a job's outcomes onto the run's list in batches as its accounts finish:
    every :data:`_ANNOUNCE_EVERY`, or those :data:`_ANNOUNCE_AFTER` seconds old
    (:meth:`flushing`). The newest is always held back, and the last batch left for
    :meth:`finish`, once arq has kept the job's result."""

    def __init__(self, ctx: dict[Any, Any], job: object, keep_result: float) -> None:
        redis = ctx.get("redis")
        key = job.get("notify") if isinstance(job, dict) else None
        self._redis = redis if isinstance(redis, ArqRedis) else None
        self._key = key if isinstance(key, str) else None
        self._job_id = ctx.get("job_id")
        self._ttl = max(1, math.ceil(keep_result))
        self._unsent: list[dict[str, Any]] = []
        self._since = 0.0
        self._last: dict[str, Any] | None = None
        self._partial = False
        self._more: anyio.Event | None = None

    async def add(self, outcome: dict[str, Any]) -> None:
        # The batch is pushed before the next outcome joins it, so an outcome is always
        # left for finish(): the run hears of a job's last account once it is kept.
        unsent = self._unsent
        if unsent and (
            len(unsent) >= _ANNOUNCE_EVERY or time.monotonic() - self._since >= _ANNOUNCE_AFTER
        ):
            self._unsent = []
            await self._push({"results": unsent})
        if not self._unsent:
            self._since = time.monotonic()
        self._unsent.append(outcome)
        if len(self._unsent) > 1 and self._more is not None:
            self._more.set()

    async def flushing(self) -> None:
        """Push the outcomes not pushed, but the newest, once the oldest has waited
        :data:`_ANNOUNCE_AFTER` seconds, without waiting for another to finish (a
        chunk whose accounts finish slowly still shows its progress); until cancelled."""
        while True:
            if len(self._unsent) < 2:
                self._more = anyio.Event()
                await self._more.wait()
                continue
            wait = self._since + _ANNOUNCE_AFTER - time.monotonic()
            if wait > 0:
                await anyio.sleep(wait)
                continue
            batch, self._unsent = self._unsent[:-1], self._unsent[-1:]
            self._since = time.monotonic()
            await self._push({"results": batch})

    def last(self, entry: dict[str, Any]) -> None:
        """Announce ``entry`` (``results`` or a format 1 ``result``) at the end instead
        of what was not pushed yet."""
        self._unsent = []
        self._last = entry

    def partial(self) -> None:
        """Say at the end that the job's result lacks some of its accounts, so that its
        run queues them again at once."""
        self._partial = True

    async def finish(self) -> None:
        entry = self._last if self._last is not None else {"results": self._unsent}
        if self._partial:
            entry = {**entry, "partial": True}
        self._unsent, self._last = [], None
        await self._push(entry)

    async def _push(self, entry: dict[str, Any]) -> None:
        """Announce ``entry`` to whoever waits for it; when Redis fails, they find the
        outcomes among arq's results instead."""
        redis, key = self._redis, self._key
        if redis is None or key is None or (entry.get("results") == [] and len(entry) == 1):
            return
        data = json.dumps({"job": self._job_id, **entry}, separators=(",", ":"), default=str)
        # Shielded, within a bound: cancelled halfway (the chunk's end stops the
        # flushing task, a job's time runs out), anyio would cancel the pipeline's own
        # clean-up too, and its connection would never go back to the pool; and the
        # batch, already taken from the unsent outcomes, would be announced by nobody.
        limit = anyio.current_time() + _PUSH_TIMEOUT
        with contextlib.suppress(*OUTAGE_ERRORS), anyio.CancelScope(shield=True, deadline=limit):
            # Each push renews the list's lifetime: a run nobody collects leaves nothing
            # behind, even when its worker died before the job's end.
            async with redis.pipeline(transaction=False) as pipe:
                pipe.rpush(key, data)
                pipe.expire(key, self._ttl)
                await pipe.execute()


class _Jobs:
    """What a worker runs for each job: its chunk of accounts, through the fan-out, with
    the worker's client and secrets."""

    def __init__(
        self,
        *,
        secrets: _Secrets,
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
        self.deadline = DEFAULT_JOB_TIMEOUT * _DEADLINE_SHARE
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
        free: :class:`_Worker` takes jobs only then, so that a small chunk size does
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
        announcer = _Announcer(ctx, job, self._keep_result)
        ctx[_ANNOUNCE] = announcer
        job_id = ctx.get("job_id")
        name = str(job_id)
        self._starting.discard(name)
        self._begun.add(name)
        try:
            return await self._run(ctx, job, announcer)
        finally:
            self._begun.discard(name)

    async def _run(self, ctx: dict[Any, Any], job: object, announcer: _Announcer) -> dict[str, Any]:
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

    def _refuse(self, job: object, exc: Refused, announcer: _Announcer) -> dict[str, Any]:
        result, entry = refusal(job, str(exc))
        announcer.last(entry)
        return result

    async def announce(self, ctx: dict[Any, Any]) -> None:
        """arq's ``after_job_end``: announce the job's last outcomes once arq has
        recorded its result, so whoever hears of them and enqueues again finds the job
        kept, never still running."""
        announcer = ctx.pop(_ANNOUNCE, None)
        if isinstance(announcer, _Announcer):
            await announcer.finish()

    async def _traced_chunk(
        self,
        job_id: object,
        fields: dict[str, str | None],
        accounts: list[str],
        announcer: _Announcer,
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
        announcer: _Announcer,
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
        announcer: _Announcer,
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


# -- arq's settings ----------------------------------------------------------------------


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
    jobs = _Jobs(
        secrets=_Secrets(callback_password, listener_urls),
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
        **_worker_arguments(
            jobs, queue_name, job_timeout, keep_result, max_tries, poll_delay, max_jobs
        ),
        "redis_settings": RedisSettings.from_dsn(redis) if isinstance(redis, str) else redis,
        "on_startup": on_startup,
        "on_shutdown": jobs.shutdown,
    }


def _worker_arguments(
    jobs: _Jobs,
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
    jobs.deadline = job_timeout * _DEADLINE_SHARE
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


# -- a worker that outlives Redis outages ------------------------------------------------


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
    jobs = _Jobs(
        secrets=_Secrets(callback_password, listener_urls),
        concurrency=count(concurrency, "concurrency", minimum=1),
        limiter=rate_limit,
        keep_result=keep_result,
        message=message,
    )
    jobs.client = client
    # A job needs a slot at least: the worker takes jobs while its slots are free
    # (_Worker.start_jobs), up to one per slot.
    arguments = _worker_arguments(
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

    def __init__(self, jobs: _Jobs, *args: Any, **kwargs: Any) -> None:
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
