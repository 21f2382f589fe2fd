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
``redis`` extra), ``--chunk-size`` accounts to a job, run by ``thingspace-callbacks
worker`` processes on any machine, and this command waits for their outcomes: the same
results file, display, ``--resume`` rules and exit codes. The run records in Redis which
job each account went to, so a run enqueued twice (or resumed) adds no job for an
account that is queued, running or done; Ctrl-C stops the waiting, not the jobs, and
``--resume`` collects them.

Every argument (the plan's values, the queue, the accounts and results files, the
credentials) is checked before the first request: a bad one exits 2 in one line, with
nothing sent and no results file created.

An account no request may name (``0252012345/00001``: see
:func:`~thingspace_callbacks._validation.checked_account`) is not an argument but a
row of the file, which may be read as the run goes (stdin): it fails on its own line,
with nothing sent (with ``--queue``, no job), and the run goes on.

Exit codes: 0 every account succeeded, 1 some failed, 2 bad usage, 3 a package extra is
missing, 130 interrupted.

This module holds the click commands; the rest lives beside it: :mod:`._plan` (what
to call, and what a results line records of it), :mod:`._accounts` (accounts in),
:mod:`._results` (results out, and what ``--resume`` reads back), :mod:`._display`
(the progress bar and the summary), :mod:`._run` (a run in this process) and
:mod:`._queued` (a run through ``--queue``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click
from click.core import ParameterSource
from pydantic import SecretStr

from ... import _families as families
from ..._constants import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE
from .._common import UsageFailure, json_option, run
from .._metrics import serves_metrics
from .._run_options import (
    concurrency_option,
    progress_option,
    queue_name_option,
    rate_limit_option,
)
from ._accounts import AccountFile
from ._display import report
from ._plan import FAMILIES, Plan
from ._queued import QueuedBulkRun, check_queue
from ._results import Recorded
from ._run import BulkRun, Options

__all__ = ["bulk"]


def execute(plan: Plan, options: Options) -> None:
    """Run ``plan`` over the accounts file and print the summary; exit 1 when some
    account failed, 130 when interrupted."""
    # Every argument is checked before the first request: a bad one would otherwise
    # fail each account alike, and leave a results file nobody needs.
    plan.check()
    check_queue(options)
    source = AccountFile(options.accounts, options.column)
    recorded = _recorded(options)
    source.check()
    kind = BulkRun if options.queue is None else QueuedBulkRun
    task = kind(plan, options, source, recorded)
    try:
        run(task)
    except KeyboardInterrupt:
        task.outcome.interrupted = task.outcome.stopped_at_once = True
    report(plan, task.outcome, options.results)


def _recorded(options: Options) -> Recorded | None:
    """The results file ``--resume`` continues, if it exists; refuses to overwrite one."""
    path = options.results
    if options.resume and path in (None, "-"):
        raise UsageFailure("--resume needs --results FILE (the file of the earlier run)")
    if path is None or path == "-":
        return None
    _check_writable(path, options.resume)
    if not os.path.exists(path):
        return None
    if not options.resume:
        raise UsageFailure(
            f"{path!r} exists: pass --resume to continue that run, or choose another --results file"
        )
    return Recorded.read(path)


def _check_writable(path: str, resume: bool) -> None:
    """Refuse a results file that could not be written, before the first request
    rather than when the first outcome arrives."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageFailure(f"--results {path!r} is a directory: name a file")
    if not os.path.isdir(directory):
        raise UsageFailure(f"--results {path!r}: directory {directory!r} does not exist")
    if os.path.exists(path):
        # --resume also rewrites it, through a new file beside it.
        writable = os.access(path, os.R_OK | os.W_OK)
        writable = writable and (not resume or os.access(directory, os.W_OK))
    else:
        writable = os.access(directory, os.W_OK)
    if not writable:
        raise UsageFailure(f"--results {path!r} cannot be written")


def _shared_options(command: Callable[..., None]) -> Callable[..., None]:
    command = serves_metrics("bulk")(command)
    decorators = [
        click.argument("family", type=click.Choice(FAMILIES), metavar="FAMILY"),
        click.argument("accounts", metavar="ACCOUNTS_FILE"),
        click.option(
            "--column",
            metavar="NAME|N",
            help="The accounts column of a CSV file: a header name or a 1-based number "
            "(default: the first column).",
        ),
        concurrency_option("Accounts handled"),
        rate_limit_option("accounts"),
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
        progress_option,
        click.option(
            "--queue",
            metavar="REDIS_URL",
            help="Enqueue the accounts as jobs in this Redis (redis://HOST:PORT/DB) for "
            "'thingspace-callbacks worker' processes, and wait for their outcomes "
            "(the redis extra).",
        ),
        click.option(
            "--chunk-size",
            type=click.IntRange(min=1, max=MAX_CHUNK_SIZE),
            metavar="N",
            help=f"With --queue: accounts per job (default: {DEFAULT_CHUNK_SIZE}). Bigger "
            "chunks cost fewer Redis commands per account; smaller ones spread a short run "
            "more evenly across the workers, and a killed worker leaves less to run again.",
        ),
        queue_name_option,
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
        rate_limit=values["rate_limit"],
        results=values["results"],
        resume=values["resume"],
        fail_fast=values["fail_fast"],
        progress=values["progress"],
        queue=values["queue"],
        queue_name=values["queue_name"],
        chunk_size=values["chunk_size"],
        explicit=explicit,
    )


@click.group()
def bulk() -> None:
    """Register, list or remove listeners on many accounts at once.

    ACCOUNTS_FILE holds one account per line, or is a CSV file (pick the column with
    --column); '-' reads stdin. An account listed twice is done once. FAMILY is one
    of: location, diagnostics, firmware, firmware-v3, connectivity, hyper-precise.

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

    --queue REDIS_URL puts the accounts in jobs of --chunk-size accounts in Redis for
    'thingspace-callbacks worker' processes (anywhere: they share the token and the
    rate budget) and waits for their outcomes, with the same lines, --resume rules and
    exit codes. The run records which job each account went to: a run enqueued again
    adds no job for an account that is queued, running or done (kept outcomes are
    collected). Ctrl-C stops the waiting, not the jobs: --resume collects them.
    While Redis is away the command waits, and then queues again the jobs Redis
    lost. No secret goes to Redis in clear: a
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
    help="connectivity: username ThingSpace puts in each message.",
)
@click.option(
    "--callback-password",
    metavar="PASSWORD",
    envvar="THINGSPACE_CALLBACK_PASSWORD",
    help="connectivity: password ThingSpace puts in each message [$THINGSPACE_CALLBACK_PASSWORD].",
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
    takes_password = "password" in families.family(family).register_keywords
    if not takes_password and source is ParameterSource.ENVIRONMENT:
        # $THINGSPACE_CALLBACK_PASSWORD is exported for the connectivity runs (and the
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
