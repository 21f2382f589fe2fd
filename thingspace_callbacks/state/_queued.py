"""Applying a plan on the ``worker`` pool (``apply --queue``): this process re-reads
each account's listeners and decides, as :class:`Applier` does, then the changes
still to make go to Redis as :func:`~thingspace_callbacks.redis.enqueue_fan_out` runs,
one per operation and arguments, and their outcomes come back as results. Needs the
``redis`` extra, imported only here."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
from pydantic import SecretStr

from .._errors import InvalidArgumentError, ThingSpaceError
from .._exports import publish
from .._families import family
from ._apply import (
    ApplyReport,
    ApplyResult,
    Group,
    call_arguments,
    check_base_url,
    check_prune,
    groups,
    resolve_secrets,
    verdict,
)
from ._entries import PlanEntry
from ._observed import observed, read

if TYPE_CHECKING:
    from arq.connections import ArqRedis
    from typing_extensions import Unpack

    from .._client import AsyncThingSpaceClient
    from .._fanout import FanOutOptions
    from ._plan import Plan

__all__ = ["apply_queued"]

Run = tuple[str, tuple[tuple[str, Any], ...]]
"""A queue run: the operation (``"location.register"``) and its arguments."""


def _run_of(entry: PlanEntry, secrets: Mapping[str, SecretStr]) -> Run:
    verb, arguments = call_arguments(entry, secrets)
    if arguments.get("http_headers"):
        raise InvalidArgumentError(
            f"{entry.family} listeners with http_headers cannot go through the queue (its "
            "jobs carry no headers): apply them without --queue"
        )
    arguments.pop("http_headers", None)
    return entry.facts.operation(verb), tuple(sorted(arguments.items()))


async def apply_queued(
    client: AsyncThingSpaceClient,
    plan: Plan,
    pool: ArqRedis,
    *,
    allow_large_prune: bool = False,
    skip: Iterable[tuple[str, str, str | None]] = (),
    environ: Mapping[str, str] | None = None,
    queue_name: str | None = None,
    on_result: Callable[[ApplyResult], object] | None = None,
    **options: Unpack[FanOutOptions],
) -> ApplyReport:
    """Apply ``plan`` through the arq queue of ``pool`` (made by
    :func:`~thingspace_callbacks.redis.queue_pool`), for ``thingspace-callbacks
    worker`` processes to run.

    This process re-reads each account's listeners (a fan-out with ``options``) and
    keeps the conflicts and what is already done; the rest is enqueued, grouped by
    operation and arguments. What changes between the re-read and the worker's call
    is not seen: that window is the queue's wait. Job ids derive from the plan's salt,
    so the same saved plan applied again (``--resume``) adds no job twice, and a new
    plan's changes are new jobs. The checks of :class:`Applier` come first.
    """
    from ..redis import enqueue_fan_out

    check_prune(plan, allow_large_prune)
    check_base_url(plan, client.base_url)
    todo = groups(plan.entries, skip)
    changes = [entry for _, _, entries in todo for entry in entries]
    secrets = await anyio.to_thread.run_sync(resolve_secrets, plan, changes, environ)
    runs: dict[Run, dict[str, PlanEntry]] = {}
    for entry in changes:
        runs.setdefault(_run_of(entry, secrets), {})
    started = time.perf_counter()
    results: list[ApplyResult] = []

    def emit(result: ApplyResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    async def check(group: Group) -> list[tuple[PlanEntry, ApplyResult | None]]:
        account, name, entries = group
        facts = family(name)
        wanted = {
            entry.service or "": (secrets.get(entry.after.password or ""), entry.after.password)
            for entry in entries
            if entry.after is not None
        }
        try:
            current = dict(
                observed(facts, model, wanted) for model in await read(client, facts, account)
            )
        except ThingSpaceError as exc:
            reason = f"the listeners could not be read again: {type(exc).__name__}: {exc}"
            return [(entry, ApplyResult(entry, "failed", reason)) for entry in entries]
        decided: list[tuple[PlanEntry, ApplyResult | None]] = []
        for entry in entries:
            now = current.get(entry.service or "")
            outcome, why = verdict(entry, now)
            found = now if outcome == "conflict" else None
            decided.append(
                (entry, None if outcome is None else ApplyResult(entry, outcome, why, found))
            )
        return decided

    async with client.fan_out(todo, check, **options) as checked:
        async for result in checked:
            if not result.ok or result.value is None:
                for entry in result.account[2]:
                    emit(
                        ApplyResult(
                            entry, "failed", f"{type(result.error).__name__}: {result.error}"
                        )
                    )
                continue
            for entry, decided in result.value:
                if decided is not None:
                    emit(decided)
                else:
                    runs[_run_of(entry, secrets)][entry.account] = entry

    prefix = "thingspace:apply:" + hashlib.sha256(plan.salt.encode()).hexdigest()[:16] + ":"
    extra: dict[str, Any] = {"base_url": client.base_url, "prefix": prefix}
    if queue_name is not None:
        extra["queue_name"] = queue_name

    async def enqueue(run: Run, entries: dict[str, PlanEntry]) -> None:
        operation, arguments = run
        queued = await enqueue_fan_out(pool, operation, list(entries), **dict(arguments), **extra)
        async for outcome in queued:
            entry = entries[outcome.account]
            error = None if outcome.ok else str((outcome.error or {}).get("message"))
            emit(
                ApplyResult(
                    entry, "applied" if outcome.ok else "failed", error, elapsed=outcome.elapsed
                )
            )

    async with anyio.create_task_group() as group:
        for run, entries in runs.items():
            if entries:
                group.start_soon(enqueue, run, entries)
    order = {entry.key: i for i, entry in enumerate(plan.entries)}
    results.sort(key=lambda r: order.get(r.entry.key, 0))
    return ApplyReport(tuple(results), elapsed=time.perf_counter() - started)


publish(globals(), __all__, module="thingspace_callbacks.state")
