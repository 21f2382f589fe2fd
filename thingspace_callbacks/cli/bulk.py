"""``thingspace-callbacks bulk``: register, list or remove listeners on many accounts.

Accounts come from a text or CSV file (or ``-`` for stdin), read lazily. Each result
is appended to ``--results FILE`` (JSON lines) as it arrives, so a run stopped by
Ctrl-C or a crash loses nothing, and ``--resume`` skips the accounts that already
succeeded. Exit codes: 0 every account succeeded, 1 some failed, 2 bad usage,
130 interrupted.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import anyio
import click
from pydantic import SecretStr

from .._errors import ThingSpaceError
from ._common import (
    EXIT_API_ERROR,
    UsageFailure,
    error_data,
    get_settings,
    json_option,
    mask_secrets,
    open_client,
    output,
    run,
    to_data,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID
    from typing_extensions import Self

    from .._client import AsyncThingSpaceClient
    from .._fanout import FanOutProgress, FanOutResult

__all__ = ["bulk"]

EXIT_INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT), as shells expect."""

FAMILIES = (
    "location",
    "diagnostics",
    "firmware",
    "firmware-v3",
    "account-name",
    "account-number",
)
_NO_SERVICE = frozenset({"firmware", "firmware-v3"})
"""Families with one listener per account: no service name."""
_ONE_LISTENER = frozenset({"diagnostics", "firmware", "firmware-v3"})
"""Families whose read answers one listener (``get``) rather than a list."""

_HEADER_NAMES = frozenset(
    {"account", "accounts", "accountname", "aname", "accountnumber", "acc", "accountid"}
)
"""First-row cells that mark a header (compared lower-case, without ``_``, ``-``, spaces)."""

_FAILURES_SHOWN = 20


# -- what to call ----------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """One bulk command: the operation, the family, and its arguments."""

    operation: str
    family: str
    service: str | None = None
    url: str | None = None
    callback_username: str | None = None
    callback_password: SecretStr | None = field(default=None, repr=False)

    def check(self) -> None:
        """Refuse missing or meaningless arguments before anything runs."""
        needs_service = self.operation != "list" and self.family not in _NO_SERVICE
        if needs_service and not self.service:
            raise UsageFailure(f"{self.family} {self.operation} needs --service NAME")
        if self.family in _NO_SERVICE and self.service:
            raise UsageFailure(f"{self.family} has one listener per account: drop --service")
        if self.operation == "register" and not self.url:
            raise UsageFailure("register needs --url URL")
        if (self.callback_username or self.callback_password) and self.family != "account-name":
            raise UsageFailure("--callback-username/--callback-password are for account-name")

    def matches(self, line: dict[str, Any]) -> bool:
        """Whether a results-file line was written by the same command."""
        return (
            line.get("operation") == self.operation
            and line.get("family") == self.family
            and line.get("service") == self.service
        )

    def bind(self, client: AsyncThingSpaceClient) -> Callable[[str], Awaitable[object]]:
        """The per-account call for ``client``: every family speaks the same verbs, so
        only the arguments differ."""
        resource = getattr(client, self.family.replace("-", "_"))
        if self.operation == "list":
            return resource.get if self.family in _ONE_LISTENER else resource.list  # type: ignore[no-any-return]
        arguments: dict[str, object] = {}
        if self.family not in _NO_SERVICE:
            arguments["service"] = self.service
        if self.operation == "register":
            arguments["url"] = self.url
            if self.family == "account-name":
                arguments.update(username=self.callback_username, password=self.callback_password)
        return functools.partial(getattr(resource, self.operation), **arguments)


# -- accounts in -----------------------------------------------------------------------


class AccountFile:
    """The accounts of a text or CSV file (``-``: stdin), one per row, read lazily.

    Blank rows and rows starting with ``#`` are skipped. The account is the first
    column, or ``column`` (a 1-based number or a header name). A first row naming the
    column (``account``, ``accountName``, ``aname``, ``accountNumber``...) is a header.
    """

    def __init__(self, path: str, column: str | None = None) -> None:
        self.path = path
        self.column = column
        if path != "-" and not os.path.isfile(path):
            raise UsageFailure(f"accounts file {path!r} does not exist")
        if column is not None and column.isdigit() and int(column) < 1:
            raise UsageFailure("--column numbers start at 1")

    def read(self, skip: frozenset[str] = frozenset()) -> Iterator[str]:
        """Yield every account not in ``skip``."""
        stream: IO[str]
        if self.path == "-":
            stream = sys.stdin
        else:
            stream = open(self.path, newline="", encoding="utf-8-sig")  # noqa: SIM115
        try:
            index: int | None = None
            for row in csv.reader(stream):
                if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                    continue
                if index is None:
                    index, header = self._locate(row)
                    if header:
                        continue
                if index >= len(row):
                    continue
                account = row[index].strip()
                if account and account not in skip:
                    yield account
        finally:
            if stream is not sys.stdin:
                stream.close()

    def count(self, skip: frozenset[str] = frozenset()) -> int | None:
        """How many accounts :meth:`read` yields; ``None`` for stdin (read once only)."""
        if self.path == "-":
            return None
        return sum(1 for _ in self.read(skip))

    def _locate(self, first_row: list[str]) -> tuple[int, bool]:
        """The account column's index, and whether ``first_row`` is a header."""
        cells = [_normal(cell) for cell in first_row]
        column = self.column
        if column is not None and not column.isdigit():
            wanted = _normal(column)
            if wanted not in cells:
                raise UsageFailure(f"no column {column!r} in the header of {self.path!r}")
            return cells.index(wanted), True
        index = int(column) - 1 if column is not None else 0
        header = index < len(cells) and cells[index] in _HEADER_NAMES
        return index, header


def _normal(cell: str) -> str:
    return cell.strip().lower().replace("_", "").replace("-", "").replace(" ", "")


# -- results out -----------------------------------------------------------------------


def succeeded_accounts(path: str, plan: Plan) -> frozenset[str]:
    """Accounts a results file records as done by the same command. Lines cut short
    by a crash are ignored."""
    done: set[str] = set()
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict) and data.get("ok") is True and plan.matches(data):
                account = data.get("account")
                if isinstance(account, str):
                    done.add(account)
    return frozenset(done)


def result_line(result: FanOutResult[str, object], plan: Plan) -> str:
    """One JSON line for a result; secrets in answers are masked."""
    data: dict[str, Any] = {
        "account": result.account,
        "ok": result.ok,
        "operation": plan.operation,
        "family": plan.family,
        "service": plan.service,
        "attempts": result.attempts,
        "elapsed": round(result.elapsed, 6),
    }
    if result.ok:
        data["value"] = mask_secrets(to_data(result.value))
    else:
        data["error"] = _error(result.error)
    return json.dumps(data, separators=(",", ":"), default=str) + "\n"


def _error(exc: Exception | None) -> dict[str, Any]:
    if isinstance(exc, ThingSpaceError):
        data = error_data(exc)
        started = getattr(exc, "started", None)
        if started is not None:
            data["started"] = started
        return data
    return {"type": type(exc).__name__, "message": str(exc)}


class ResultSink:
    """Appends result lines to a file (flushed line by line) or stdout (``-``)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._stream: IO[str] | None = None

    def __enter__(self) -> Self:
        if self.path == "-":
            self._stream = sys.stdout
        elif self.path is not None:
            _end_with_newline(self.path)
            self._stream = open(self.path, "a", encoding="utf-8", buffering=1)
        return self

    def write(self, line: str) -> None:
        if self._stream is not None:
            self._stream.write(line)
            if self._stream is sys.stdout:
                self._stream.flush()

    def __exit__(self, *exc_info: object) -> None:
        if self._stream is not None and self._stream is not sys.stdout:
            self._stream.close()


def _end_with_newline(path: str) -> None:
    """After a crash mid-line, start the next line on a line of its own."""
    with contextlib.suppress(FileNotFoundError), open(path, "rb+") as existing:
        if existing.seek(0, os.SEEK_END) > 0:
            existing.seek(-1, os.SEEK_END)
            if existing.read(1) != b"\n":
                existing.write(b"\n")


# -- progress --------------------------------------------------------------------------


class Display:
    """A live progress bar on stderr (done, failed, rate, ETA), and failure notes."""

    def __init__(self, description: str, total: int | None, *, enabled: bool | None) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console: Console = Console(stderr=True, highlight=False)
        if enabled is None:
            enabled = self.console.is_terminal
        self.progress: Progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed[/red]"),
            TextColumn("{task.fields[rate]:.1f}/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
            disable=not enabled,
        )
        self.task: TaskID = self.progress.add_task(description, total=total, failed=0, rate=0.0)
        self.failures_shown = 0

    def update(self, progress: FanOutProgress) -> None:
        self.progress.update(
            self.task, completed=progress.done, failed=progress.failed, rate=progress.rate
        )

    def failure(self, result: FanOutResult[str, object]) -> None:
        """Note a failed account on stderr (the first few; the file has them all)."""
        self.failures_shown += 1
        if self.failures_shown <= _FAILURES_SHOWN:
            self.console.print(f"[red]failed[/red] {result.account}: {result.error}", markup=True)
        elif self.failures_shown == _FAILURES_SHOWN + 1:
            self.console.print("... more failures: see the results file")

    def __enter__(self) -> Self:
        self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()


# -- running ---------------------------------------------------------------------------


@dataclass
class Options:
    """The options every bulk command shares."""

    accounts: str
    column: str | None
    concurrency: int
    rate: float | None
    results: str | None
    resume: bool
    fail_fast: bool
    progress: bool | None


@dataclass
class Outcome:
    """What a run did, for the summary."""

    taken: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    interrupted: bool = False
    aborted: bool = False
    elapsed: float = 0.0


def execute(plan: Plan, options: Options) -> None:
    """Run ``plan`` over the accounts file and print the summary; exit 1 when some
    account failed, 130 when interrupted."""
    plan.check()
    source = AccountFile(options.accounts, options.column)
    results_path = options.results
    done: frozenset[str] = frozenset()
    if options.resume and results_path in (None, "-"):
        raise UsageFailure("--resume needs --results FILE (the file of the earlier run)")
    if results_path not in (None, "-") and os.path.exists(results_path):
        if not options.resume:
            raise UsageFailure(
                f"{results_path!r} exists: pass --resume to continue that run, "
                "or choose another --results file"
            )
        done = succeeded_accounts(results_path, plan)
    total = source.count(done)
    outcome = Outcome(skipped=_skipped(source, done) if done else 0)
    settings = get_settings()
    description = f"{plan.operation} {plan.family}"

    async def main() -> None:
        with (
            ResultSink(results_path) as sink,
            Display(description, total, enabled=options.progress) as display,
        ):
            async with open_client(settings) as client:
                fan_out = client.fan_out(
                    source.read(done),
                    plan.bind(client),
                    concurrency=options.concurrency,
                    rate_limit=options.rate,
                    fail_fast=options.fail_fast,
                    on_progress=display.update,
                    total=total,
                )

                def record(result: FanOutResult[str, object]) -> None:
                    sink.write(result_line(result, plan))
                    if not result.ok:
                        display.failure(result)

                with anyio.CancelScope() as scope:
                    async with anyio.create_task_group() as watch:
                        watch.start_soon(_stop_on_signal, scope, outcome)
                        try:
                            async with fan_out as results:
                                async for result in results:
                                    record(result)
                        finally:
                            # Interrupted: what finished but was not handed out yet, and
                            # one "cancelled" line per account still in flight.
                            for result in fan_out.remaining():
                                record(result)
                        watch.cancel_scope.cancel()
                outcome.taken = fan_out.taken
                outcome.succeeded = fan_out.succeeded
                outcome.failed = fan_out.failed
                outcome.aborted = fan_out.aborted
                outcome.elapsed = fan_out.elapsed

    run(main)
    _report(plan, outcome, results_path)


def _skipped(source: AccountFile, done: frozenset[str]) -> int:
    if source.path == "-":
        return 0
    return sum(1 for account in source.read() if account in done)


async def _stop_on_signal(scope: anyio.CancelScope, outcome: Outcome) -> None:
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


def _report(plan: Plan, outcome: Outcome, results_path: str | None) -> None:
    rate = outcome.taken / outcome.elapsed if outcome.elapsed > 0 else 0.0
    summary = {
        "operation": plan.operation,
        "family": plan.family,
        "service": plan.service,
        "accounts": outcome.taken,
        "succeeded": outcome.succeeded,
        "failed": outcome.failed,
        "skipped": outcome.skipped,
        "interrupted": outcome.interrupted,
        "stoppedAtFirstFailure": outcome.aborted,
        "elapsed": round(outcome.elapsed, 3),
        "perSecond": round(rate, 1),
        "results": results_path,
    }
    if results_path == "-":
        click.echo(json.dumps({"summary": summary}, separators=(",", ":")))
    else:
        output(summary, title=f"bulk {plan.operation} {plan.family}")
    if outcome.interrupted:
        hint = " (rerun with --resume to finish)" if results_path not in (None, "-") else ""
        click.echo(f"Interrupted: {outcome.taken} accounts handled{hint}", err=True)
        raise SystemExit(EXIT_INTERRUPTED)
    if outcome.failed:
        where = f"; see {results_path}" if results_path not in (None, "-") else ""
        click.echo(f"Error: {outcome.failed} of {outcome.taken} accounts failed{where}", err=True)
        raise SystemExit(EXIT_API_ERROR)


# -- commands --------------------------------------------------------------------------


def _shared_options(command: Callable[..., None]) -> Callable[..., None]:
    decorators = [
        click.argument("family", type=click.Choice(FAMILIES), metavar="FAMILY"),
        click.argument("accounts", metavar="ACCOUNTS_FILE"),
        click.option(
            "--column",
            metavar="NAME|N",
            help="The accounts column of a CSV file: a header name or a 1-based number "
            "(default: the first column).",
        ),
        click.option(
            "--concurrency",
            "-c",
            type=click.IntRange(min=1),
            default=20,
            show_default=True,
            help="Accounts handled at once.",
        ),
        click.option(
            "--rate",
            type=click.FloatRange(min=0, min_open=True),
            metavar="PER_SECOND",
            help="Start at most this many accounts per second.",
        ),
        click.option(
            "--results",
            metavar="FILE",
            help="Append one JSON line per account to FILE as results arrive ('-': stdout).",
        ),
        click.option(
            "--resume",
            is_flag=True,
            help="Continue the run recorded in --results: skip accounts that succeeded.",
        ),
        click.option("--fail-fast", is_flag=True, help="Stop at the first failed account."),
        click.option(
            "--progress/--no-progress",
            default=None,
            help="Show a live progress bar on stderr (default: when it is a terminal).",
        ),
        json_option,
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def _options(values: dict[str, Any]) -> Options:
    return Options(
        accounts=values["accounts"],
        column=values["column"],
        concurrency=values["concurrency"],
        rate=values["rate"],
        results=values["results"],
        resume=values["resume"],
        fail_fast=values["fail_fast"],
        progress=values["progress"],
    )


@click.group()
def bulk() -> None:
    """Register, list or remove listeners on many accounts at once.

    ACCOUNTS_FILE holds one account per line, or is a CSV file (pick the column with
    --column); '-' reads stdin. FAMILY is one of: location, diagnostics, firmware,
    firmware-v3, account-name, account-number.

    \b
    thingspace-callbacks bulk register location accounts.csv \\
        --service Location --url https://example.com/hooks --results run.jsonl
    thingspace-callbacks bulk register location accounts.csv \\
        --service Location --url https://example.com/hooks --results run.jsonl --resume
    """


@bulk.command()
@_shared_options
@click.option("--service", "-s", metavar="NAME", help="The service (all but firmware).")
@click.option("--url", "-u", metavar="URL", help="The listener URL.")
@click.option(
    "--callback-username",
    metavar="NAME",
    help="account-name: username ThingSpace puts in each message.",
)
@click.option(
    "--callback-password",
    metavar="PASSWORD",
    envvar="THINGSPACE_CALLBACK_PASSWORD",
    help="account-name: password ThingSpace puts in each message [$THINGSPACE_CALLBACK_PASSWORD].",
)
def register(
    family: str,
    service: str | None,
    url: str | None,
    callback_username: str | None,
    callback_password: str | None,
    **values: Any,
) -> None:
    """Register the listener URL on every account of ACCOUNTS_FILE."""
    plan = Plan(
        "register",
        family,
        service,
        url,
        callback_username,
        SecretStr(callback_password) if callback_password else None,
    )
    execute(plan, _options(values))


@bulk.command()
@_shared_options
@click.option("--service", "-s", metavar="NAME", help="The service (all but firmware).")
def unregister(family: str, service: str | None, **values: Any) -> None:
    """Remove the listener from every account of ACCOUNTS_FILE."""
    execute(Plan("unregister", family, service), _options(values))


@bulk.command("list")
@_shared_options
def list_(family: str, **values: Any) -> None:
    """List the listeners of every account of ACCOUNTS_FILE.

    The listeners go to --results FILE (or stdout with --results -).
    """
    execute(Plan("list", family), _options(values))
