"""Running a bulk command in this process: the shared :class:`Options`, and
:class:`BulkRun`, which fans the plan's call out over the accounts with the client and
records each outcome."""

from __future__ import annotations

import functools
import secrets
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio

from ..._errors import ThingSpaceError
from ..._fanout import FanOutCancelledError
from .._common import UsageFailure, error_message, get_settings, open_client
from ._accounts import AccountFile, Scan
from ._display import Display, Outcome
from ._plan import Plan, Work
from ._results import Recorded, ResultSink, result_line

if TYPE_CHECKING:
    from ..._fanout import FanOut, FanOutResult

__all__ = ["BulkRun", "Options", "stop_on_signal"]


@dataclass
class Options:
    """The options every bulk command shares."""

    accounts: str
    column: str | None
    concurrency: int
    rate_limit: float | None
    results: str | None
    resume: bool
    fail_fast: bool
    progress: bool | None
    queue: str | None = None
    queue_name: str | None = None
    chunk_size: int | None = None
    explicit: frozenset[str] = frozenset()
    """The options given on the command line rather than left to their default."""


@dataclass
class BulkRun:
    """One run's parts, from the options to the open client."""

    plan: Plan
    options: Options
    source: AccountFile
    recorded: Recorded | None
    """The results file being resumed, if any."""
    outcome: Outcome = field(default_factory=Outcome)

    async def __call__(self) -> None:
        settings = get_settings()
        async with open_client(settings) as client:
            work, done = self._prepare(client.base_url)
            self.outcome.scan = self.source.scan(done) or Scan()
            total = self.outcome.scan.todo if self.source.path != "-" else None
            description = f"{self.plan.operation} {self.plan.family}"
            with (
                ResultSink(self.options.results, resuming=self.recorded is not None) as sink,
                Display(description, total, enabled=self.options.progress) as display,
            ):
                fan_out = client.fan_out(
                    self.source.read(done, self.outcome.scan if total is None else None),
                    self.plan.bind(client),
                    concurrency=self.options.concurrency,
                    rate_limit=self.options.rate_limit,
                    fail_fast=self.options.fail_fast,
                    total=total,
                )
                anonymous = settings.without_credentials
                record = functools.partial(self._record, sink, display, work, anonymous)
                await self._drive(fan_out, record)

    def _prepare(self, base_url: str) -> tuple[Work, frozenset[str]]:
        """The work each line records, and the accounts already done; refuses to resume
        a file that records other work."""
        recorded = self.recorded
        if recorded is None:
            return Work.of(self.plan, base_url, secrets.token_hex(16)), frozenset()
        recorded.check(self.plan, base_url)
        salt = recorded.salt or secrets.token_hex(16)
        return Work.of(self.plan, base_url, salt), recorded.succeeded

    def _record(
        self,
        sink: ResultSink,
        display: Display,
        work: Work,
        anonymous: bool,
        result: FanOutResult[str, object],
    ) -> None:
        outcome = self.outcome
        if isinstance(result.error, FanOutCancelledError):
            outcome.cancelled += 1
        else:
            message = _message(result.error, anonymous)
            sink.write(result_line(result, work, message))
            if result.ok:
                outcome.succeeded += 1
            else:
                outcome.failed += 1
                display.failure(result.account, message)
        display.refresh(outcome)

    async def _drive(
        self,
        fan_out: FanOut[str, object],
        record: Callable[[FanOutResult[str, object]], None],
    ) -> None:
        outcome = self.outcome
        unreadable: UsageFailure | None = None
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as watch:
                watch.start_soon(stop_on_signal, scope, outcome)
                try:
                    async with fan_out as results:
                        async for result in results:
                            record(result)
                except UsageFailure as exc:
                    # Stdin stopped being readable mid-run (a file is read whole before
                    # the run starts): what was in flight is recorded, then it is said
                    # in one line rather than as a group of tracebacks.
                    unreadable = exc
                finally:
                    # Interrupted: what finished but was not handed out yet, and one
                    # cancelled result per account still in flight.
                    for result in fan_out.remaining():
                        record(result)
                watch.cancel_scope.cancel()
        outcome.aborted = fan_out.aborted
        outcome.elapsed = fan_out.elapsed
        if unreadable is not None:
            raise unreadable


def _message(error: Exception | None, anonymous: bool) -> str:
    if isinstance(error, ThingSpaceError):
        return error_message(error, without_credentials=anonymous)
    return str(error)


async def stop_on_signal(scope: anyio.CancelScope, outcome: Outcome) -> None:
    """On the first Ctrl-C (or SIGTERM) stop the run cleanly; a second one, once the
    default handler is back, stops at once."""
    try:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                outcome.interrupted = True
                scope.cancel()
                return
    except NotImplementedError:  # pragma: no cover - Windows
        await anyio.sleep_forever()
