"""``thingspace-callbacks bulk``: register, list or remove listeners on many accounts.

Accounts come from a text or CSV file (or ``-`` for stdin), read lazily; an account
listed twice is done once. Each final outcome is appended to ``--results FILE`` (JSON
lines) as it arrives, so a run stopped by Ctrl-C or a crash loses nothing.

A results line records the work it did, not only the account: the operation, the
family, the service, the listener URL (its userinfo masked, with ``urlDigest`` when it
had one), the callback username, the API root (``baseUrl``) and, for a callback
password, a salted PBKDF2 digest (``callbackPassword``), never the password. An account
whose call was cancelled in flight (Ctrl-C, ``--fail-fast``) has no outcome: it is
counted as cancelled, gets no line, and ``--resume`` does it.

``--resume`` continues a run only if every line of FILE records the work asked for now;
otherwise it refuses (exit 2) and says what differs, so it never skips an account whose
recorded work is not the requested one. It skips the accounts whose last line
succeeded, does the rest, and then rewrites FILE (a temporary file and ``os.replace``)
to hold one line per account, its final outcome.

With ``--queue redis://HOST:PORT/DB`` the accounts become jobs of an arq queue (the
``redis`` extra), run by ``thingspace-callbacks worker`` processes on any machine, and
this command waits for their outcomes: the same results file, display, ``--resume``
rules and exit codes. A job's id is derived from the work and the account, so a run
enqueued twice (or resumed) adds no job that is queued, running or done; Ctrl-C stops
the waiting, not the jobs, and ``--resume`` collects them.

Exit codes: 0 every account succeeded, 1 some failed, 2 bad usage, 3 a package extra is
missing, 130 interrupted.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import hmac
import json
import logging
import os
import secrets
import signal
import stat
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import anyio
import click
from click.core import ParameterSource
from pydantic import SecretStr

from .._errors import ThingSpaceError
from .._fanout import FanOutCancelledError
from .._redact import redact_url
from ._common import (
    EXIT_API_ERROR,
    APIFailure,
    MissingExtra,
    UsageFailure,
    error_data,
    error_message,
    get_settings,
    json_option,
    make_console,
    mask_secrets,
    open_client,
    output,
    run,
    to_data,
)

if TYPE_CHECKING:
    from types import ModuleType

    from anyio.abc import TaskStatus
    from arq.connections import ArqRedis
    from rich.console import Console
    from rich.progress import Progress, TaskID
    from typing_extensions import Self

    from .._client import AsyncThingSpaceClient
    from .._fanout import FanOut, FanOutResult
    from ..redis._queue import QueuedFanOut, QueuedResult

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

WORK_KEYS = ("operation", "family", "service", "url", "callbackUsername", "baseUrl")
"""What a results line records about the request, compared as they are by ``--resume``."""
SECRET_KEYS = ("urlDigest", "callbackPassword")
"""What a results line records as digests: compared by digesting the requested value."""

_DIGEST_SCHEME = "pbkdf2_sha256"
_DIGEST_ITERATIONS = 200_000
"""Slow on purpose: a results file is shared more freely than the secret behind it."""


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
        self._check_service()
        if self.operation == "register" and not self.url:
            raise UsageFailure("register needs --url URL")
        if (self.callback_username or self.callback_password) and self.family != "account-name":
            raise UsageFailure("--callback-username/--callback-password are for account-name")

    def _check_service(self) -> None:
        needs_service = self.operation != "list" and self.family not in _NO_SERVICE
        if needs_service and not self.service:
            raise UsageFailure(f"{self.family} {self.operation} needs --service NAME")
        if self.family in _NO_SERVICE and self.service:
            raise UsageFailure(f"{self.family} has one listener per account: drop --service")

    def work(self, base_url: str) -> dict[str, Any]:
        """The plain part of what a results line records (:data:`WORK_KEYS`)."""
        return {
            "operation": self.operation,
            "family": self.family,
            "service": self.service,
            "url": redact_url(self.url) if self.url else None,
            "callbackUsername": self.callback_username,
            "baseUrl": redact_url(base_url),
        }

    def secrets(self) -> dict[str, str | None]:
        """The secret part (:data:`SECRET_KEYS`), in clear: recorded only as digests."""
        url = self.url if self.url and redact_url(self.url) != self.url else None
        password = self.callback_password.get_secret_value() if self.callback_password else None
        return {"urlDigest": url, "callbackPassword": password}

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

    def queued(self) -> tuple[str, dict[str, Any]]:
        """The operation as a queue names it (``family.verb``) and its arguments."""
        verb = self.operation
        if verb == "list" and self.family in _ONE_LISTENER:
            verb = "get"
        arguments: dict[str, Any] = {"service": self.service, "url": self.url}
        if self.family == "account-name":
            arguments.update(username=self.callback_username, password=self.callback_password)
        return f"{self.family.replace('-', '_')}.{verb}", arguments


def digest(secret: str, salt: str, iterations: int = _DIGEST_ITERATIONS) -> str:
    """``secret`` as a results line records it: ``pbkdf2_sha256$ITERATIONS$SALT$HEX``."""
    value = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt.encode(), iterations)
    return f"{_DIGEST_SCHEME}${iterations}${salt}${value.hex()}"


def _parse_digest(recorded: object) -> tuple[int, str] | None:
    """The iterations and salt of a recorded digest; ``None`` if it is not one of ours
    (or would take unreasonably long to check)."""
    if not isinstance(recorded, str):
        return None
    scheme, _, rest = recorded.partition("$")
    iterations, _, rest = rest.partition("$")
    salt, _, _ = rest.partition("$")
    if scheme != _DIGEST_SCHEME or not iterations.isdigit() or not salt:
        return None
    if not 0 < int(iterations) <= 10 * _DIGEST_ITERATIONS:
        return None
    return int(iterations), salt


def _same_secret(recorded: object, secret: str | None) -> bool:
    if recorded is None or secret is None:
        return recorded is None and secret is None
    parsed = _parse_digest(recorded)
    if parsed is None:
        return False
    iterations, salt = parsed
    return hmac.compare_digest(str(recorded), digest(secret, salt, iterations))


@dataclass(frozen=True)
class Work:
    """What each results line of this run records about its request."""

    fields: dict[str, Any]
    """:data:`WORK_KEYS` and :data:`SECRET_KEYS` as written (secrets digested)."""

    @classmethod
    def of(cls, plan: Plan, base_url: str, salt: str) -> Work:
        fields = plan.work(base_url)
        for key, secret in plan.secrets().items():
            if secret is not None:
                fields[key] = digest(secret, salt)
        return cls(fields)


def differences(recorded: Mapping[str, Any], plan: Plan, base_url: str) -> list[str]:
    """How the work a results line records differs from what ``plan`` asks for now."""
    found = []
    for key, wanted in plan.work(base_url).items():
        if recorded.get(key) != wanted:
            found.append(f"{key} {recorded.get(key)!r} there, {wanted!r} now")
    for key, secret in plan.secrets().items():
        if not _same_secret(recorded.get(key), secret):
            found.append(f"{key} differs (it is recorded as a digest)")
    return found


# -- accounts in -----------------------------------------------------------------------


@dataclass
class Scan:
    """What reading the accounts found besides the accounts to do."""

    todo: int = 0
    skipped: int = 0
    """Accounts whose last results line succeeded (``--resume``)."""
    duplicates: int = 0
    """Accounts listed again after their first row."""


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

    def read(self, skip: frozenset[str] = frozenset(), scan: Scan | None = None) -> Iterator[str]:
        """Yield every account once, except those in ``skip``; count in ``scan``."""
        scan = scan if scan is not None else Scan()
        seen: set[str] = set()
        for account in self._rows():
            if account in seen:
                scan.duplicates += 1
            elif account in skip:
                seen.add(account)
                scan.skipped += 1
            else:
                seen.add(account)
                scan.todo += 1
                yield account

    def scan(self, skip: frozenset[str] = frozenset()) -> Scan | None:
        """What :meth:`read` finds; ``None`` for stdin (read once only)."""
        if self.path == "-":
            return None
        scan = Scan()
        for _ in self.read(skip, scan):
            pass
        return scan

    def _rows(self) -> Iterator[str]:
        stream: IO[str]
        if self.path == "-":
            stream = sys.stdin
        else:
            stream = open(self.path, newline="", encoding="utf-8-sig")  # noqa: SIM115
        try:
            index: int | None = None
            for row in csv.reader(stream):
                if _is_blank(row):
                    continue
                if index is None:
                    index, header = self._locate(row)
                    if header:
                        continue
                account = row[index].strip() if index < len(row) else ""
                if account:
                    yield account
        finally:
            if stream is not sys.stdin:
                stream.close()

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


def _is_blank(row: list[str]) -> bool:
    """Whether a row holds no account: empty, blank, or a ``#`` comment."""
    return not row or not "".join(row).strip() or row[0].lstrip().startswith("#")


def _normal(cell: str) -> str:
    return cell.strip().lower().replace("_", "").replace("-", "").replace(" ", "")


# -- results out -----------------------------------------------------------------------


def _lines(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The whole lines of a results file, numbered; lines cut short by a crash (and
    anything else that is not a line of ours) are left out."""
    # Split on "\n" only, as the binary pass of compact() does, so line numbers agree.
    with open(path, encoding="utf-8", errors="replace", newline="\n") as lines:
        for number, line in enumerate(lines):
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict) and isinstance(data.get("account"), str):
                yield number, data


@dataclass
class Recorded:
    """What an existing results file says."""

    path: str
    outcomes: dict[str, bool] = field(default_factory=dict)
    """Each account's last outcome."""
    works: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The distinct works recorded, by their JSON."""

    @classmethod
    def read(cls, path: str) -> Recorded:
        recorded = cls(path)
        for _, line in _lines(path):
            recorded.outcomes[line["account"]] = line.get("ok") is True
            work = {key: line.get(key) for key in (*WORK_KEYS, *SECRET_KEYS)}
            recorded.works.setdefault(json.dumps(work, sort_keys=True), work)
        return recorded

    @property
    def succeeded(self) -> frozenset[str]:
        return frozenset(account for account, ok in self.outcomes.items() if ok)

    @property
    def salt(self) -> str | None:
        """The salt of the digests already recorded, so that every line agrees."""
        for work in self.works.values():
            for key in SECRET_KEYS:
                parsed = _parse_digest(work.get(key))
                if parsed is not None:
                    return parsed[1]
        return None

    def check(self, plan: Plan, base_url: str) -> None:
        """Refuse to resume when any line records other work than ``plan``'s."""
        for work in self.works.values():
            found = differences(work, plan, base_url)
            if found:
                raise UsageFailure(
                    f"{self.path!r} records another run ({'; '.join(found)}): --resume would "
                    "skip work that was not done. Nothing was done; use another "
                    "--results file, or repeat the recorded command to resume it"
                )


def compact(path: str) -> None:
    """Rewrite a results file to one line per account, its last, in file order; torn
    lines go. Atomic: a temporary file beside it replaces it."""
    last = {line["account"]: number for number, line in _lines(path)}
    keep = set(last.values())
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".results-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as target, open(path, "rb") as source:
            for number, line in enumerate(source):
                if number in keep:
                    target.write(line if line.endswith(b"\n") else line + b"\n")
            target.flush()
            os.fsync(target.fileno())
        os.chmod(temporary, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def result_line(result: FanOutResult[str, object], work: Work, message: str) -> str:
    """One JSON line for a final outcome; secrets in answers are masked."""
    if result.ok:
        outcome = {"value": mask_secrets(to_data(result.value))}
    else:
        outcome = {"error": error_data(result.error, message)}
    return _json_line(result.account, result.ok, work, result.attempts, result.elapsed, outcome)


def queued_line(result: QueuedResult, work: Work) -> str:
    """The line of a job's outcome: the same as :func:`result_line`'s."""
    outcome = {"value": result.value} if result.ok else {"error": result.error}
    return _json_line(
        result.account, result.ok, work, result.attempts, result.elapsed, mask_secrets(outcome)
    )


def _json_line(
    account: str, ok: bool, work: Work, attempts: int, elapsed: float, outcome: dict[str, Any]
) -> str:
    data: dict[str, Any] = {"account": account, "ok": ok, **work.fields}
    data.update(attempts=attempts, elapsed=round(elapsed, 6), **outcome)
    return json.dumps(data, separators=(",", ":"), default=str) + "\n"


class ResultSink:
    """Appends result lines to a file (flushed line by line) or stdout (``-``); a sink
    that continues a file compacts it when it closes, however the run ended."""

    def __init__(self, path: str | None, *, resuming: bool = False) -> None:
        self.path = path
        self.resuming = resuming and path not in (None, "-")
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
        if self._stream is None or self._stream is sys.stdout:
            return
        self._stream.close()
        if self.resuming and self.path is not None:
            compact(self.path)


def _end_with_newline(path: str) -> None:
    """After a crash mid-line, start the next line on a line of its own."""
    with contextlib.suppress(FileNotFoundError), open(path, "rb+") as existing:
        if existing.seek(0, os.SEEK_END) > 0:
            existing.seek(-1, os.SEEK_END)
            if existing.read(1) != b"\n":
                existing.write(b"\n")


# -- progress --------------------------------------------------------------------------


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
    """With ``--queue``: jobs enqueued, found (queued, running or done already) and
    queued again (lost by Redis); ``cancelled`` then counts jobs left in the queue."""

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
    queue: str | None = None
    queue_name: str | None = None
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
                    rate_limit=self.options.rate,
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
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as watch:
                watch.start_soon(_stop_on_signal, scope, outcome)
                try:
                    async with fan_out as results:
                        async for result in results:
                            record(result)
                finally:
                    # Interrupted: what finished but was not handed out yet, and one
                    # cancelled result per account still in flight.
                    for result in fan_out.remaining():
                        record(result)
                watch.cancel_scope.cancel()
        outcome.aborted = fan_out.aborted
        outcome.elapsed = fan_out.elapsed


def _message(error: Exception | None, anonymous: bool) -> str:
    if isinstance(error, ThingSpaceError):
        return error_message(error, without_credentials=anonymous)
    return str(error)


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
        name = self.options.queue_name
        return {} if name is None else {"queue_name": name}

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
                    group.start_soon(_stop_on_signal, scope, self.outcome)
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
    """Run ``step``; a command Redis refuses (not an outage, which is waited out) stops
    the run, to be reported once it has stopped."""
    from redis.exceptions import RedisError

    try:
        if task_status is anyio.TASK_STATUS_IGNORED:
            await step()
        else:
            await step(task_status=task_status)
    except RedisError as exc:
        failures.append(exc)
        scope.cancel()


def _queue_module() -> ModuleType:
    try:
        from ..redis import _queue
    except ModuleNotFoundError as exc:
        package = (exc.name or "").partition(".")[0] or "redis"
        raise MissingExtra("bulk --queue", package, "redis") from None
    return _queue


async def _connect(queue: ModuleType, options: Options) -> ArqRedis:
    from redis.exceptions import RedisError

    assert options.queue is not None
    pool: ArqRedis
    try:
        pool = await queue.queue_pool(options.queue)
    except (RedisError, OSError) as exc:
        raise APIFailure(
            f"Redis at {_redis_address(options.queue)} does not answer "
            f"({type(exc).__name__}): check --queue"
        ) from None
    return pool


def _redis_address(url: str) -> str:
    """``host:port/db`` of a Redis URL; never its password."""
    from arq.connections import RedisSettings

    settings = RedisSettings.from_dsn(url)
    return settings.unix_socket_path or f"{settings.host}:{settings.port}/{settings.database}"


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


def _check_queue(options: Options) -> None:
    """Refuse what a queued run cannot do, before anything is enqueued."""
    if options.queue is None:
        if options.queue_name is not None:
            raise UsageFailure("--queue-name needs --queue")
        return
    if get_settings().sandbox:
        raise UsageFailure(
            "--queue needs an API the workers reach: drop --sandbox, pass --base-url"
        )
    if options.fail_fast:
        raise UsageFailure("--fail-fast cannot stop jobs already queued: drop it with --queue")
    for name in sorted(options.explicit & {"concurrency", "rate"}):
        raise UsageFailure(
            f"with --queue, --{name} is the workers' option: thingspace-callbacks worker --{name}"
        )
    from arq.connections import RedisSettings

    try:
        RedisSettings.from_dsn(options.queue)
    except (RuntimeError, ValueError):
        raise UsageFailure(
            "--queue: expected redis://[[user]:password@]host[:port][/db], rediss://... "
            "or unix:///path"
        ) from None


def execute(plan: Plan, options: Options) -> None:
    """Run ``plan`` over the accounts file and print the summary; exit 1 when some
    account failed, 130 when interrupted."""
    plan.check()
    _check_queue(options)
    source = AccountFile(options.accounts, options.column)
    kind = BulkRun if options.queue is None else QueuedBulkRun
    task = kind(plan, options, source, _recorded(options))
    try:
        run(task)
    except KeyboardInterrupt:
        task.outcome.interrupted = task.outcome.stopped_at_once = True
    _report(plan, task.outcome, options.results)


def _recorded(options: Options) -> Recorded | None:
    """The results file ``--resume`` continues, if it exists; refuses to overwrite one."""
    path = options.results
    if options.resume and path in (None, "-"):
        raise UsageFailure("--resume needs --results FILE (the file of the earlier run)")
    if path is None or path == "-" or not os.path.exists(path):
        return None
    if not options.resume:
        raise UsageFailure(
            f"{path!r} exists: pass --resume to continue that run, or choose another --results file"
        )
    return Recorded.read(path)


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
            help="Append one JSON line per account's final outcome to FILE as results "
            "arrive ('-': stdout).",
        ),
        click.option(
            "--resume",
            is_flag=True,
            help="Continue the run recorded in --results FILE: refused if FILE records "
            "other work; skips accounts whose last line succeeded, then rewrites FILE "
            "to one line per account.",
        ),
        click.option(
            "--fail-fast",
            is_flag=True,
            help="Stop at the first failed account (those in flight are cancelled).",
        ),
        click.option(
            "--progress/--no-progress",
            default=None,
            help="Show a live progress bar on stderr (default: when it is a terminal).",
        ),
        click.option(
            "--queue",
            metavar="REDIS_URL",
            help="Enqueue one job per account in this Redis (redis://HOST:PORT/DB) for "
            "'thingspace-callbacks worker' processes, and wait for their outcomes "
            "(the redis extra).",
        ),
        click.option(
            "--queue-name",
            metavar="NAME",
            help="With --queue: the arq queue the workers read (default: thingspace:queue).",
        ),
        json_option,
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def _options(values: dict[str, Any]) -> Options:
    context = click.get_current_context()
    explicit = frozenset(
        name
        for name in values
        if context.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)
    )
    return Options(
        accounts=values["accounts"],
        column=values["column"],
        concurrency=values["concurrency"],
        rate=values["rate"],
        results=values["results"],
        resume=values["resume"],
        fail_fast=values["fail_fast"],
        progress=values["progress"],
        queue=values["queue"],
        queue_name=values["queue_name"],
        explicit=explicit,
    )


@click.group()
def bulk() -> None:
    """Register, list or remove listeners on many accounts at once.

    ACCOUNTS_FILE holds one account per line, or is a CSV file (pick the column with
    --column); '-' reads stdin. An account listed twice is done once. FAMILY is one
    of: location, diagnostics, firmware, firmware-v3, account-name, account-number.

    \b
    thingspace-callbacks bulk register location accounts.csv \\
        --service Location --url https://example.com/hooks --results run.jsonl
    thingspace-callbacks bulk register location accounts.csv \\
        --service Location --url https://example.com/hooks --results run.jsonl --resume

    --results FILE gets one JSON line per account as its final outcome arrives: the
    account, ok, the work done (operation, family, service, url, callbackUsername,
    baseUrl; a callback password, or a URL's userinfo, only as a salted digest),
    attempts, elapsed, and the value or the error. An account cancelled in flight
    (Ctrl-C, --fail-fast) is neither done nor failed: it is counted as cancelled and
    gets no line.

    --resume continues FILE only if it records the same work (else exit 2, saying
    what differs); it skips the accounts whose last line succeeded, does the others
    (failed and cancelled ones too), then rewrites FILE atomically to one line per
    account, its final outcome.

    --queue REDIS_URL puts one job per account in Redis for 'thingspace-callbacks
    worker' processes (anywhere: they share the token and the rate budget) and waits
    for their outcomes, with the same lines, --resume rules and exit codes. A job's id
    comes from the work and the account: a run enqueued again adds no job that is
    queued, running or done (kept outcomes are collected). Ctrl-C stops the waiting,
    not the jobs: --resume collects them. While Redis is away the command waits, and
    then queues again the jobs Redis lost. No secret goes to Redis in clear: a
    callback password travels as a digest, and the workers need it themselves.

    Exit codes: 0 every account succeeded, 1 some failed, 2 bad usage (a refused
    --resume too), 3 a package extra is missing, 130 interrupted (Ctrl-C or SIGTERM;
    a second Ctrl-C stops without waiting for the calls in flight).
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
    source = click.get_current_context().get_parameter_source("callback_password")
    if family != "account-name" and source is ParameterSource.ENVIRONMENT:
        # $THINGSPACE_CALLBACK_PASSWORD is exported for the account-name runs (and the
        # workers); it does not make other families' runs ask for it. A flag does.
        callback_password = None
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
