"""What a bulk run shows: the :class:`Outcome` counts, the live progress bar and
failure notes on stderr, and the summary and exit code at the end."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from ..._redact import redact_url
from .._common import EXIT_API_ERROR, make_console, output
from ._accounts import Scan

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID
    from typing_extensions import Self

    from ._plan import Plan

__all__ = ["EXIT_INTERRUPTED", "Display", "Outcome", "report"]


EXIT_INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT), as shells expect."""


_FAILURES_SHOWN = 20


@dataclass
class Outcome:
    """What a run did, for the bar and the summary (the same counts)."""

    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    """Taken up but stopped before an outcome (Ctrl-C, --fail-fast): no line, redone
    by --resume."""
    scan: Scan = field(default_factory=Scan)
    interrupted: bool = False
    stopped_at_once: bool = False
    """A second Ctrl-C: the run stopped without waiting for what was in flight."""
    aborted: bool = False
    elapsed: float = 0.0
    jobs: dict[str, int] | None = None
    """With ``--queue``, in accounts: those put in jobs this run added (``enqueued``),
    those whose job was queued, running or done already (``found``), and those queued
    again because Redis lost their job (``requeued``); ``cancelled`` then counts the
    accounts whose jobs were left in the queue."""

    @property
    def done(self) -> int:
        """Accounts with a final outcome."""
        return self.succeeded + self.failed

    @property
    def taken(self) -> int:
        return self.succeeded + self.failed + self.cancelled


class Display:
    """A live progress bar on stderr (done, failed, cancelled, rate, ETA), and failure
    notes."""

    def __init__(self, description: str, total: int | None, *, enabled: bool | None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console: Console = make_console(stderr=True)
        if enabled is None:
            enabled = self.console.is_terminal
        self.progress: Progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed[/red]"),
            TextColumn("[yellow]{task.fields[cancelled]} cancelled[/yellow]"),
            TextColumn("{task.fields[rate]:.1f}/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            disable=not enabled,
        )
        self.task: TaskID = self.progress.add_task(
            description, total=total, failed=0, cancelled=0, rate=0.0
        )
        self.failures_shown = 0
        self.started = time.perf_counter()

    def refresh(self, outcome: Outcome) -> None:
        elapsed = time.perf_counter() - self.started
        self.progress.update(
            self.task,
            completed=outcome.done,
            failed=outcome.failed,
            cancelled=outcome.cancelled,
            rate=outcome.done / elapsed if elapsed > 0 else 0.0,
        )

    def failure(self, account: str, message: str) -> None:
        """Note a failed account on stderr (the first few; the file has them all)."""
        from rich.text import Text

        self.failures_shown += 1
        if self.failures_shown <= _FAILURES_SHOWN:
            self.console.print(Text.assemble(("failed", "red"), f" {account}: {message}"))
        elif self.failures_shown == _FAILURES_SHOWN + 1:
            self.console.print("... more failures: see the results file")

    def note(self, message: str) -> None:
        """A line about the run itself (Redis going away, coming back) on stderr."""
        from rich.text import Text

        self.console.print(Text(message, style="yellow"))

    def __enter__(self) -> Self:
        self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()


def report(plan: Plan, outcome: Outcome, results_path: str | None) -> None:
    """Print the summary (on stdout, as JSON after the lines with ``--results -``) and
    end with the exit code: 1 when some account failed, 130 when interrupted."""
    rate = outcome.done / outcome.elapsed if outcome.elapsed > 0 else 0.0
    summary: dict[str, Any] = {
        "operation": plan.operation,
        "family": plan.family,
        "service": plan.service,
        "url": redact_url(plan.url) if plan.url else None,
        "accounts": outcome.taken,
        "succeeded": outcome.succeeded,
        "failed": outcome.failed,
        "cancelled": outcome.cancelled,
        "skipped": outcome.scan.skipped,
        "duplicates": outcome.scan.duplicates,
        "interrupted": outcome.interrupted,
        "stoppedAtFirstFailure": outcome.aborted,
        "elapsed": round(outcome.elapsed, 3),
        "perSecond": round(rate, 1),
        "results": results_path,
    }
    if outcome.jobs is not None:
        summary["jobs"] = outcome.jobs
    if results_path == "-":
        click.echo(json.dumps({"summary": summary}, separators=(",", ":")))
    else:
        output(summary, title=f"bulk {plan.operation} {plan.family}")
    _exit(outcome, results_path)


def _exit(outcome: Outcome, results_path: str | None) -> None:
    to_file = results_path not in (None, "-")
    queued = outcome.jobs is not None
    if queued:
        cancelled = f", {outcome.cancelled} still queued or running"
    else:
        cancelled = f", {outcome.cancelled} cancelled before they finished"
    if outcome.interrupted:
        how = " at once" if outcome.stopped_at_once else ""
        hint = f" (rerun with --resume to {'collect them' if queued else 'finish'})"
        hint = hint if to_file else ""
        click.echo(
            f"Interrupted{how}: {outcome.done} accounts done ({outcome.failed} failed)"
            f"{cancelled}{hint}",
            err=True,
        )
        raise SystemExit(EXIT_INTERRUPTED)
    if outcome.failed:
        where = f"; see {results_path}" if to_file else ""
        click.echo(
            f"Error: {outcome.failed} of {outcome.done} accounts failed"
            f"{cancelled if outcome.cancelled else ''}{where}",
            err=True,
        )
        raise SystemExit(EXIT_API_ERROR)
