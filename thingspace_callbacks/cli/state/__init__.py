"""``thingspace-callbacks plan`` and ``apply``: desired state from the command line
(:mod:`thingspace_callbacks.state`).

``plan STATE.toml`` reads what every account has and prints what differs; exit codes as
``terraform plan -detailed-exitcode``: 0 nothing to do, 2 changes pending, 1 errors (an
unreadable account, a refused state file, a bad option). ``apply STATE.toml`` plans,
shows the plan, asks (``--yes`` when stdin is not a terminal) and applies; ``apply
PLAN.json`` applies a plan saved with ``plan --out`` exactly, without asking. Results
go to ``--results FILE`` as ``bulk``'s do, one JSON line per entry, and ``--resume``
continues an interrupted apply.

This module holds the click commands; :mod:`._run` runs them, :mod:`._render` prints
plans, :mod:`._options` holds the shared options.
"""

from __future__ import annotations

from typing import Any

import click

from .._common import json_option
from .._metrics import serves_metrics
from .._run_options import queue_name_option
from ._options import ExitOneOnUsage, planning_options

__all__ = ["apply", "plan"]


@click.command(cls=ExitOneOnUsage)
@click.argument("state_file", metavar="STATE.toml")
@planning_options
@click.option(
    "--out",
    metavar="FILE",
    help="Save the plan to FILE (JSON, no secret in it) for 'apply FILE'.",
)
@json_option
def plan(state_file: str, out: str | None, **values: Any) -> None:
    """Show how the accounts' listeners differ from STATE.toml.

    Reads the listeners of every account for every family the file mentions (bounded,
    rate-limited, retried) and prints what to add, to change (URL, username, password,
    headers) and to remove (only the families under [prune]), the unchanged count, and
    the accounts whose read failed ("unreadable": nothing is ever added over or
    pruned from them). --json prints one object per (account, family, service) with
    its before and after, then a summary; secrets only as salted digests.

    \b
    Exit codes: 0 nothing to do, 2 changes pending, 1 errors (an unreadable account,
    a state file or option refused).
    """
    from ._run import run_plan

    run_plan(state_file, out, values)


@click.command()
@click.argument("source", metavar="STATE.toml|PLAN.json")
@planning_options
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@click.option(
    "--allow-large-prune",
    is_flag=True,
    help="Allow a prune of more than --max-prune-share of a family's listeners, or "
    "of every listener of a family of an account.",
)
@click.option(
    "--results",
    metavar="FILE",
    help="Append one JSON line per entry's outcome to FILE as they arrive ('-': stdout).",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the apply recorded in --results FILE (of the same state): skips the "
    "entries done or in conflict, then rewrites FILE to one line per entry.",
)
@click.option(
    "--no-recheck",
    is_flag=True,
    help="Trust the plan's reads: change each listener without reading it again (one "
    "request per change, not two; as terraform apply). A change made since the plan is "
    "overwritten, not reported as a conflict.",
)
@click.option(
    "--queue",
    metavar="REDIS_URL",
    help="Do the changes on 'thingspace-callbacks worker' processes through this Redis "
    "(redis://HOST:PORT/DB; the redis extra); this process re-reads and waits.",
)
@queue_name_option
@json_option
@serves_metrics("apply")
def apply(source: str, **values: Any) -> None:
    """Make the accounts' listeners what STATE.toml (or a saved PLAN.json) says.

    With STATE.toml it plans, shows the plan and asks for confirmation (refused
    without --yes when stdin is not a terminal). With PLAN.json (from 'plan --out') it
    applies exactly that plan without asking; its passwords are read again from the
    variables the state named, and refused if they are no longer the ones planned.

    Before each change the account's listeners of that family are read again: one
    that is no longer what the plan saw is a conflict, reported and left alone. A
    prune that removes more than --max-prune-share of a family's listeners, or every
    listener of a family of an account, needs --allow-large-prune. --no-recheck
    skips the re-read and trusts the plan (faster; a change made since the plan is
    overwritten).

    --queue REDIS_URL re-reads here and enqueues each change as its re-read passes
    (one run per operation and arguments) for the workers, which need the listener
    password themselves (worker --callback-password): changes that send more than one
    password are refused. A change made between the re-read and a worker's call is
    not seen, and an account's adds are not sure to come before its removes. Ctrl-C
    stops the waiting, not the jobs; --resume collects them.

    With --results - stdout holds the results lines then one {"summary": ...} line,
    with --json the summary; the plan goes to stderr.

    \b
    Exit codes: 0 every entry done, 1 some failed, conflicted or were unreadable,
    2 bad usage or refused (nothing was changed), 130 interrupted (--resume finishes).
    """
    from click.core import ParameterSource

    from ._run import run_apply

    source_of = click.get_current_context().get_parameter_source("max_prune_share")
    values["max_prune_share_given"] = source_of not in (None, ParameterSource.DEFAULT)
    run_apply(source, values)
