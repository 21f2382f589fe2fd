"""Running ``plan`` and ``apply``: the state or saved plan in, the client, the
progress bar, the results file, the exit code."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio
import click

from ...state import Applier, ApplyResult, Plan, PlanFileError, State, StateFileError
from ...state import plan as make_plan
from .._common import (
    APIFailure,
    MissingExtra,
    UsageFailure,
    get_settings,
    open_client,
    output,
    run,
)
from ..bulk._display import EXIT_INTERRUPTED, Display, Outcome
from ..bulk._results import ResultSink, lines
from ..bulk._run import stop_on_signal
from ._options import fan_out_options
from ._render import print_plan

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType

    from arq.connections import ArqRedis

    from ..._client import AsyncThingSpaceClient
    from ..._fanout import FanOutProgress

__all__ = ["run_apply", "run_plan"]


def _load_state(path: str) -> State:
    try:
        return State.load(path)
    except StateFileError as exc:
        raise UsageFailure(str(exc)) from None


def _progress(display: Display, outcome: Outcome, progress: FanOutProgress) -> None:
    outcome.succeeded = progress.succeeded_count
    outcome.failed = progress.failed_count
    outcome.cancelled = progress.cancelled_count
    display.refresh(outcome)


async def _plan(client: AsyncThingSpaceClient, state: State, values: dict[str, Any]) -> Plan:
    total = sum(1 for _ in state.reads())
    outcome = Outcome()
    with Display("plan: reading", total, enabled=values["progress"]) as display:
        return await make_plan(
            client,
            state,
            resend_secrets=values["resend_secrets"],
            max_prune_share=values["max_prune_share"],
            on_progress=functools.partial(_progress, display, outcome),
            total=total,
            **fan_out_options(values),
        )


def run_plan(state_file: str, out: str | None, values: dict[str, Any]) -> None:
    """``plan``: exit 0, 2 or 1 as ``terraform plan -detailed-exitcode``."""
    settings = get_settings()
    try:
        state = _load_state(state_file)
        if out is not None:
            _check_writable(out, "--out")

        async def main() -> Plan:
            async with open_client(settings) as client:
                return await _plan(client, state, values)

        made = run(main)
    except UsageFailure as exc:
        # Exit 2 says "changes pending" here: a refusal is an error, 1.
        raise APIFailure(exc.message) from None
    print_plan(made, as_json=settings.json)
    if out is not None:
        made.save(out)
        if not settings.json:
            click.echo(f"Saved the plan to {out}: 'thingspace-callbacks apply {out}' applies it.")
    raise SystemExit(made.exit_code)


def _check_writable(path: str, option: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageFailure(f"{option} {path!r} is a directory: name a file")
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        raise UsageFailure(f"{option} {path!r} cannot be written")


def _is_saved_plan(path: str) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            start = stream.read(64).lstrip()
    except OSError as exc:
        raise UsageFailure(f"{path!r} cannot be read ({exc.strerror or exc})") from None
    return start.startswith("{")


def _interactive() -> bool:
    """Whether someone at a terminal can be asked."""
    return sys.stdin.isatty()


def _key(line: dict[str, Any]) -> object:
    return (line.get("account"), line.get("family"), line.get("service"))


@dataclass
class _Recorded:
    """What an earlier apply's results file says: the entries done (or left alone as
    conflicts), and the state digests it records."""

    done: set[tuple[str, str, str | None]] = field(default_factory=set)
    states: set[str] = field(default_factory=set)


def _recorded(path: str | None, resume: bool) -> _Recorded | None:
    if resume and path in (None, "-"):
        raise UsageFailure("--resume needs --results FILE (the file of the earlier apply)")
    if path is None or path == "-":
        return None
    _check_writable(path, "--results")
    if not os.path.exists(path):
        return None
    if not resume:
        raise UsageFailure(
            f"{path!r} exists: pass --resume to continue that apply, or choose another "
            "--results file"
        )
    recorded = _Recorded()
    for _, line in lines(path):
        recorded.states.add(str(line.get("stateDigest")))
        if line.get("ok") is True or line.get("outcome") == "conflict":
            recorded.done.add((line["account"], str(line.get("family")), line.get("service")))
    return recorded


@dataclass
class _Applied:
    outcome: Outcome = field(default_factory=Outcome)
    counts: dict[str, int] = field(default_factory=dict)
    plan: Plan | None = None
    confirmed: bool = True


def run_apply(source: str, values: dict[str, Any]) -> None:
    """``apply``: exit 0 when every entry is done, 1 when some are not, 2 refused,
    130 interrupted."""
    settings = get_settings()
    saved = _is_saved_plan(source)
    if not saved and not values["yes"] and not _interactive():
        raise UsageFailure(
            "apply STATE.toml asks before changing anything: pass --yes when stdin is not "
            "a terminal (or apply a plan saved with 'plan --out')"
        )
    check_queue(values)
    recorded = _recorded(values["results"], values["resume"])
    state = None if saved else _load_state(source)
    loaded = None
    if saved:
        try:
            loaded = Plan.load(source)
        except PlanFileError as exc:
            raise UsageFailure(str(exc)) from None
        if values["max_prune_share_given"]:
            loaded = dataclasses.replace(loaded, max_prune_share=values["max_prune_share"])
    applied = _Applied()

    async def main() -> None:
        async with open_client(settings) as client:
            if loaded is not None:
                made = loaded
            else:
                assert state is not None
                made = await _plan(client, state, values)
                # stdout is the results' or the JSON summary's: the plan goes to stderr.
                print_plan(made, as_json=False, err=_pure_stdout(values))
                if not made.pending:
                    applied.plan = made
                    return
                # Whatever would refuse the apply refuses it before anyone is asked.
                await _check(client, made, recorded, values)
                if not values["yes"]:
                    applied.confirmed = await anyio.to_thread.run_sync(
                        functools.partial(
                            click.confirm,
                            f"Apply {len(made.changes)} changes?",
                            err=_pure_stdout(values),
                        )
                    )
                    if not applied.confirmed:
                        return
            applied.plan = made
            await _apply(client, made, recorded, values, applied)

    try:
        run(main)
    except KeyboardInterrupt:
        applied.outcome.interrupted = applied.outcome.stopped_at_once = True
    _report(applied, values)


def _pure_stdout(values: dict[str, Any]) -> bool:
    """Whether stdout takes JSON only: ``--json``, or the results (``--results -``)."""
    return bool(get_settings().json or values["results"] == "-")


def _check_resume(made: Plan, recorded: _Recorded | None, values: dict[str, Any]) -> None:
    if recorded is not None and recorded.states - {made.state_digest}:
        raise UsageFailure(
            f"{values['results']!r} records an apply of another state: --resume would skip "
            "work that was not done. Nothing was done; use another --results file"
        )


async def _check(
    client: AsyncThingSpaceClient,
    made: Plan,
    recorded: _Recorded | None,
    values: dict[str, Any],
) -> None:
    """Every refusal of the apply ahead, before asking: the results file's state, the
    prunes, the API root, the secrets, what the queue cannot carry."""
    from ...state._apply import groups
    from ...state._preflight import check_plan

    _check_resume(made, recorded, values)
    skip = recorded.done if recorded is not None else set()
    changes = [entry for _, _, entries in groups(made.entries, skip) for entry in entries]
    if values["queue"] is not None:
        from ...state._queued import check_queueable

        check_queueable(changes)
    await anyio.to_thread.run_sync(
        functools.partial(
            check_plan,
            made,
            changes,
            client.base_url,
            allow_large_prune=values["allow_large_prune"],
        )
    )


async def _apply(
    client: AsyncThingSpaceClient,
    made: Plan,
    recorded: _Recorded | None,
    values: dict[str, Any],
    applied: _Applied,
) -> None:
    _check_resume(made, recorded, values)
    skip = recorded.done if recorded is not None else set()
    extra = {"stateDigest": made.state_digest, "baseUrl": made.data()["baseUrl"]}
    outcome = applied.outcome
    counts = applied.counts

    def record(sink: ResultSink, display: Display, result: ApplyResult) -> None:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
        if result.outcome == "cancelled":
            outcome.cancelled += 1
        else:
            sink.write(json.dumps({**result.data(), **extra}, separators=(",", ":")) + "\n")
            if result.ok:
                outcome.succeeded += 1
            else:
                outcome.failed += 1
                display.failure(result.entry.account, f"{result.outcome}: {result.error}")
        display.refresh(outcome)

    if values["queue"] is not None:
        await _apply_queued(client, made, skip, values, record, applied)
        return
    applier = Applier(
        client,
        made,
        allow_large_prune=values["allow_large_prune"],
        skip=skip,
        recheck=not values["no_recheck"],
        **fan_out_options(values),
    )
    await applier.prepare()

    with (
        ResultSink(values["results"], resuming=recorded is not None, key=_key) as sink,
        Display("apply", applier.total, enabled=values["progress"]) as display,
    ):
        step = functools.partial(record, sink, display)
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as watch:
                watch.start_soon(stop_on_signal, scope, outcome)
                try:
                    async with applier as results:
                        async for result in results:
                            step(result)
                finally:
                    for result in applier.remaining():
                        step(result)
                watch.cancel_scope.cancel()
    outcome.elapsed = applier.elapsed


def check_queue(values: dict[str, Any]) -> None:
    """Refuse what ``apply --queue`` cannot do, before anything is read."""
    queue = values["queue"]
    if queue is None:
        if values["queue_name"] is not None:
            raise UsageFailure("--queue-name needs --queue")
        return
    if get_settings().sandbox:
        raise UsageFailure(
            "--queue needs an API the workers reach: drop --sandbox, pass --base-url"
        )
    if values["queue_name"] is not None and not values["queue_name"].strip():
        raise UsageFailure("--queue-name must not be empty or blank")
    _queue_module()
    from arq.connections import RedisSettings

    try:
        RedisSettings.from_dsn(queue)
    except (RuntimeError, ValueError):
        raise UsageFailure(
            "--queue: expected redis://[[user]:password@]host[:port][/db], rediss://... "
            "or unix:///path"
        ) from None


async def _apply_queued(
    client: AsyncThingSpaceClient,
    made: Plan,
    skip: set[tuple[str, str, str | None]],
    values: dict[str, Any],
    record: Callable[[ResultSink, Display, ApplyResult], None],
    applied: _Applied,
) -> None:
    from ...state import apply_queued

    queue = _queue_module()
    pool = await _connect(queue, values["queue"])
    outcome = applied.outcome
    total = sum(1 for entry in made.changes if entry.key not in skip)
    try:
        with (
            ResultSink(
                values["results"], resuming=bool(skip) or values["resume"], key=_key
            ) as sink,
            Display("apply (queued)", total, enabled=values["progress"]) as display,
        ):
            with anyio.CancelScope() as scope:
                async with anyio.create_task_group() as watch:
                    watch.start_soon(stop_on_signal, scope, outcome)
                    report = await apply_queued(
                        client,
                        made,
                        pool,
                        allow_large_prune=values["allow_large_prune"],
                        skip=skip,
                        queue_name=values["queue_name"],
                        recheck=not values["no_recheck"],
                        on_result=functools.partial(record, sink, display),
                        **fan_out_options(values),
                    )
                    outcome.elapsed = report.elapsed
                    watch.cancel_scope.cancel()
            if outcome.interrupted:
                outcome.cancelled = total - outcome.done
    finally:
        with anyio.CancelScope(shield=True):
            await pool.aclose()


def _queue_module() -> ModuleType:
    try:
        from ... import redis
    except ModuleNotFoundError as exc:
        raise MissingExtra.of("apply --queue", exc, "redis") from None
    return redis


async def _connect(queue: ModuleType, url: str) -> ArqRedis:
    from redis.exceptions import RedisError

    from ...redis._connection import redis_address

    pool: ArqRedis
    try:
        pool = await queue.queue_pool(url)
    except (RedisError, OSError) as exc:
        raise APIFailure(
            f"Redis at {redis_address(url)} does not answer ({type(exc).__name__}): check --queue"
        ) from None
    return pool


def _report(applied: _Applied, values: dict[str, Any]) -> None:
    made, outcome = applied.plan, applied.outcome
    if not applied.confirmed:
        click.echo("Nothing was applied.", err=True)
        raise SystemExit(1)
    unreadable = len(made.unreadable) if made is not None else 0
    summary = {
        "applied": applied.counts.get("applied", 0),
        "already": applied.counts.get("already", 0),
        "conflicts": applied.counts.get("conflict", 0),
        "failed": applied.counts.get("failed", 0),
        "cancelled": outcome.cancelled,
        "unreadable": unreadable,
        "elapsed": round(outcome.elapsed, 3),
        "results": values["results"],
    }
    nothing = made is not None and not made.pending and not outcome.interrupted
    if values["results"] == "-":
        # The results' lines are on stdout: the summary is one more, as bulk's.
        click.echo(json.dumps({"summary": summary}, separators=(",", ":")))
    elif nothing and not get_settings().json:
        click.echo("Nothing to do.")
    else:
        output(summary, title="apply")
    if nothing:
        raise SystemExit(1 if unreadable else 0)
    if outcome.interrupted:
        hint = " (rerun with --resume to finish)" if values["results"] not in (None, "-") else ""
        click.echo(f"Interrupted: {outcome.done} entries done{hint}", err=True)
        raise SystemExit(EXIT_INTERRUPTED)
    if summary["conflicts"] or summary["failed"] or unreadable:
        click.echo(
            f"Error: {summary['failed']} failed, {summary['conflicts']} in conflict (left "
            f"alone), {unreadable} unreadable: plan again to see them",
            err=True,
        )
        raise SystemExit(1)
    click.echo(f"Applied: every one of the {outcome.done} entries is as the state says.", err=True)
