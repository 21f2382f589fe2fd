"""``bulk --queue``: the accounts become jobs of an arq queue in Redis, ``--chunk-size``
accounts to a job, run by ``thingspace-callbacks worker`` processes, and
:class:`QueuedBulkRun` enqueues them and records their outcomes as they arrive. Needs
the ``redis`` extra, imported only here."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio

from .._common import APIFailure, MissingExtra, UsageFailure, get_settings, open_client
from ._accounts import Scan
from ._display import Display
from ._results import ResultSink, queued_line
from ._run import BulkRun, Options, stop_on_signal

if TYPE_CHECKING:
    from types import ModuleType

    from anyio.abc import TaskStatus
    from arq.connections import ArqRedis

    from ...redis import QueuedFanOut, QueuedResult
    from ._plan import Work

__all__ = ["QueuedBulkRun", "check_queue"]


@dataclass
class QueuedBulkRun(BulkRun):
    """A run whose accounts are jobs of an arq queue, done by ``worker`` processes:
    it enqueues them and writes their outcomes as they arrive."""

    async def __call__(self) -> None:
        queue = _queue_module()
        settings = get_settings()
        async with open_client(settings) as client:
            base_url = client.base_url  # only named: the workers call it
        work, done = self._prepare(base_url)
        self.outcome.scan = self.source.scan(done) or Scan()
        total = self.outcome.scan.todo if self.source.path != "-" else None
        pool = await _connect(queue, self.options)
        try:
            operation, arguments = self.plan.queued()
            queued = queue.QueuedFanOut(
                pool, operation, base_url=base_url, **self._queue_options(), **arguments
            )
            with (
                ResultSink(self.options.results, resuming=self.recorded is not None) as sink,
                Display(
                    f"{self.plan.operation} {self.plan.family}",
                    total,
                    enabled=self.options.progress,
                ) as display,
                _redis_notes(display),
            ):
                accounts = self.source.read(done, self.outcome.scan if total is None else None)
                record = functools.partial(self._record_queued, sink, display, work)
                await self._wait(queued, accounts, record)
                display.refresh(self.outcome)
        finally:
            with anyio.CancelScope(shield=True):
                await pool.aclose()

    def _queue_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.options.queue_name is not None:
            options["queue_name"] = self.options.queue_name
        if self.options.chunk_size is not None:
            options["chunk_size"] = self.options.chunk_size
        return options

    def _record_queued(
        self, sink: ResultSink, display: Display, work: Work, result: QueuedResult
    ) -> None:
        sink.write(queued_line(result, work))
        if result.ok:
            self.outcome.succeeded += 1
        else:
            self.outcome.failed += 1
            display.failure(result.account, str((result.error or {}).get("message")))
        display.refresh(self.outcome)

    async def _wait(
        self,
        queued: QueuedFanOut,
        accounts: Iterable[str],
        record: Callable[[QueuedResult], None],
    ) -> None:
        """Enqueue while collecting; Ctrl-C stops both, leaving the jobs queued."""
        failures: list[Exception] = []
        try:
            with anyio.CancelScope() as scope:
                guarded = functools.partial(_guarded, scope, failures)
                async with anyio.create_task_group() as group:
                    group.start_soon(stop_on_signal, scope, self.outcome)
                    await group.start(guarded, functools.partial(queued.enqueue, accounts))
                    await guarded(functools.partial(_collect, queued, record))
                    group.cancel_scope.cancel()
        finally:
            # Also when a second Ctrl-C stops the run at once.
            self.outcome.cancelled = queued.pending
            self.outcome.elapsed = queued.elapsed
            self.outcome.jobs = {
                "enqueued": queued.enqueued,
                "found": queued.existing,
                "requeued": queued.requeued,
            }
        if failures:
            if isinstance(failures[0], UsageFailure):
                raise failures[0]
            raise APIFailure(f"Redis refused a command: {failures[0]}")


async def _collect(queued: QueuedFanOut, record: Callable[[QueuedResult], None]) -> None:
    async with contextlib.aclosing(queued.results()) as results:
        async for result in results:
            record(result)


async def _guarded(
    scope: anyio.CancelScope,
    failures: list[Exception],
    step: Callable[..., Awaitable[None]],
    *,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Run ``step``; a command Redis refuses (not an outage, which is waited out), or
    stdin that stops being readable, stops the run, to be reported once it has
    stopped."""
    from redis.exceptions import RedisError

    try:
        if task_status is anyio.TASK_STATUS_IGNORED:
            await step()
        else:
            await step(task_status=task_status)
    except (RedisError, UsageFailure) as exc:
        failures.append(exc)
        scope.cancel()


def _queue_module() -> ModuleType:
    try:
        from ... import redis
    except ModuleNotFoundError as exc:
        raise MissingExtra.of("bulk --queue", exc, "redis") from None
    return redis


async def _connect(queue: ModuleType, options: Options) -> ArqRedis:
    from redis.exceptions import RedisError

    from ...redis._connection import redis_address

    assert options.queue is not None
    pool: ArqRedis
    try:
        pool = await queue.queue_pool(options.queue)
    except (RedisError, OSError) as exc:
        raise APIFailure(
            f"Redis at {redis_address(options.queue)} does not answer "
            f"({type(exc).__name__}): check --queue"
        ) from None
    return pool


@contextlib.contextmanager
def _redis_notes(display: Display) -> Iterator[None]:
    """Show what the queue says about Redis (gone, back, jobs lost) on the display."""
    handler = _NoteHandler(display)
    logger = logging.getLogger("thingspace_callbacks.redis")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


class _NoteHandler(logging.Handler):
    def __init__(self, display: Display) -> None:
        super().__init__(logging.WARNING)
        self._display = display

    def emit(self, record: logging.LogRecord) -> None:
        self._display.note(record.getMessage())


def check_queue(options: Options) -> None:
    """Refuse what a queued run cannot do, before anything is enqueued."""
    if options.queue is None:
        for name in ("queue_name", "chunk_size"):
            if getattr(options, name) is not None:
                raise UsageFailure(f"--{name.replace('_', '-')} needs --queue")
        return
    if get_settings().sandbox:
        raise UsageFailure(
            "--queue needs an API the workers reach: drop --sandbox, pass --base-url"
        )
    if options.fail_fast:
        raise UsageFailure("--fail-fast cannot stop jobs already queued: drop it with --queue")
    if options.queue_name is not None and not options.queue_name.strip():
        # No worker reads it: the run would wait for outcomes that never come.
        raise UsageFailure("--queue-name must not be empty or blank")
    for name in sorted(options.explicit & {"concurrency", "rate_limit"}):
        flag = "--" + name.replace("_", "-")
        raise UsageFailure(
            f"with --queue, {flag} is the workers' option: thingspace-callbacks worker {flag}"
        )
    from arq.connections import RedisSettings

    try:
        RedisSettings.from_dsn(options.queue)
    except (RuntimeError, ValueError):
        raise UsageFailure(
            "--queue: expected redis://[[user]:password@]host[:port][/db], rediss://... "
            "or unix:///path"
        ) from None
