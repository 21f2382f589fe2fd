"""Applying a plan on the ``worker`` pool (``apply --queue``): this process re-reads
each account's listeners and decides, as :class:`Applier` does, and each change still
to make goes to Redis as it passes, in a
:class:`~thingspace_callbacks.redis.QueuedFanOut` run per operation and arguments;
their outcomes come back as results. Needs the ``redis`` extra, imported only here."""

from __future__ import annotations

import functools
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
    Outcome,
    call_arguments,
    expected_of,
    groups,
    verdict,
)
from ._entries import PlanEntry
from ._observed import observed, read
from ._preflight import check_plan

if TYPE_CHECKING:
    from arq.connections import ArqRedis
    from typing_extensions import Unpack

    from .._client import AsyncThingSpaceClient
    from .._fanout import FanOutOptions
    from ..redis import QueuedFanOut
    from ._plan import Plan

__all__ = ["apply_queued", "check_queueable"]

Run = tuple[str, tuple[tuple[str, Any], ...]]
"""A queue run: the operation (``"location.register"``) and its arguments."""

_FLUSH_EVERY = 0.2
"""Seconds the changes that passed their re-read wait, at most, to go to the queue
with others of their run (a job takes up to ``chunk_size`` accounts)."""


def _run_of(entry: PlanEntry, secrets: Mapping[str, SecretStr]) -> Run:
    verb, arguments = call_arguments(entry, secrets)
    arguments.pop("http_headers", None)  # check_queueable refused any
    return entry.facts.operation(verb), tuple(sorted(arguments.items()))


def check_queueable(changes: Iterable[PlanEntry]) -> None:
    """Refuse, before any request, changes the workers cannot make: a Diagnostics
    listener with ``http_headers`` (jobs carry none), and more than one distinct
    listener password (a worker is given one, ``--callback-password``).

    :raises InvalidArgumentError: naming the listeners.
    """
    passwords: dict[str, list[PlanEntry]] = {}
    for entry in changes:
        after = entry.after
        if entry.kind == "remove" or after is None:
            continue
        if after.http_headers:
            raise InvalidArgumentError(
                f"{entry.family} listeners with http_headers cannot go through the queue "
                f"(its jobs carry no headers; {entry.account} has one): apply them "
                "without --queue"
            )
        if after.password is not None:
            passwords.setdefault(after.password, []).append(entry)
    if len(passwords) > 1:
        named = []
        for entries in passwords.values():
            first = entries[0]
            source = first.after.password_from if first.after is not None else None
            more = f" and {len(entries) - 1} more" if len(entries) > 1 else ""
            named.append(
                f"{first.family} {first.service} of {first.account}{more}"
                + (f" (password {source})" if source else "")
            )
        raise InvalidArgumentError(
            f"the changes send {len(passwords)} different listener passwords, but a worker "
            f"takes one (--callback-password): {'; '.join(named)}. Apply them in separate "
            "runs, or without --queue"
        )


async def apply_queued(
    client: AsyncThingSpaceClient,
    plan: Plan,
    pool: ArqRedis,
    *,
    allow_large_prune: bool = False,
    skip: Iterable[tuple[str, str, str | None]] = (),
    environ: Mapping[str, str] | None = None,
    queue_name: str | None = None,
    recheck: bool = True,
    on_result: Callable[[ApplyResult], object] | None = None,
    **options: Unpack[FanOutOptions],
) -> ApplyReport:
    """Apply ``plan`` through the arq queue of ``pool`` (made by
    :func:`~thingspace_callbacks.redis.queue_pool`), for ``thingspace-callbacks
    worker`` processes to run.

    This process re-reads each account's listeners of a family (a fan-out with
    ``options``) and keeps the conflicts and what is already done; each change that
    passes is enqueued as it passes (within a fraction of a second, with others of
    its operation and arguments), and its outcome comes back as a result. What changes
    between the re-read and the worker's call is not seen: that window is the queue's
    wait. The changes of one account and family run as separate jobs, so an add is
    not sure to come before a remove. Job ids derive from the plan's salt, so the same
    saved plan applied again (``--resume``) adds no job twice, and a new plan's
    changes are new jobs.

    Refused before any request: what :class:`Applier` refuses, a Diagnostics listener
    with ``http_headers``, and changes that send more than one distinct password
    (a worker takes one).

    :param recheck: ``False`` enqueues every change without reading it again (see
        :class:`Applier`): the window is then from the plan to the worker's call.
    """
    from ..redis import QueuedFanOut

    todo = groups(plan.entries, skip)
    changes = [entry for _, _, entries in todo for entry in entries]
    check_queueable(changes)
    secrets = await anyio.to_thread.run_sync(
        functools.partial(
            check_plan,
            plan,
            changes,
            client.base_url,
            allow_large_prune=allow_large_prune,
            environ=environ,
        )
    )
    started = time.perf_counter()
    results: list[ApplyResult] = []

    def emit(result: ApplyResult) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    async def check(group: Group) -> list[tuple[PlanEntry, ApplyResult | None]]:
        account, name, entries = group
        if not recheck:
            return [(entry, None) for entry in entries]
        facts = family(name)
        wanted = expected_of(entries, secrets)
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

    prefix = "thingspace:apply:" + hashlib.sha256(plan.salt.encode()).hexdigest()[:16] + ":"
    extra: dict[str, Any] = {"base_url": client.base_url, "prefix": prefix}
    if queue_name is not None:
        extra["queue_name"] = queue_name
    queues: dict[Run, _Queue] = {}
    checked = anyio.Event()

    async with anyio.create_task_group() as group:

        async def flush(queue: _Queue) -> None:
            accounts, queue.waiting = queue.waiting, []
            if not accounts:
                return
            queue.flushing += 1
            try:
                # start(): the run counts this enqueue before its collector may look.
                await group.start(queue.queued.enqueue, accounts)
            finally:
                queue.flushing -= 1
                queue.more.set()

        async def collect(queue: _Queue) -> None:
            while True:
                more = queue.more
                async for outcome in queue.queued:
                    entry = queue.entries[outcome.account]
                    error = None if outcome.ok else str((outcome.error or {}).get("message"))
                    outcome_of: Outcome = "applied" if outcome.ok else "failed"
                    emit(ApplyResult(entry, outcome_of, error, elapsed=outcome.elapsed))
                # Done once every check is, and no enqueue came or is coming since
                # this pass began (`more` would be set).
                if checked.is_set() and not (more.is_set() or queue.flushing or queue.waiting):
                    return
                await more.wait()
                if more is queue.more:
                    queue.more = anyio.Event()

        async def pass_on(entry: PlanEntry) -> None:
            run = _run_of(entry, secrets)
            queue = queues.get(run)
            if queue is None:
                operation, arguments = run
                queued = QueuedFanOut(pool, operation, **dict(arguments), **extra)
                queue = queues[run] = _Queue(queued)
                group.start_soon(collect, queue)
            queue.entries[entry.account] = entry
            queue.waiting.append(entry.account)
            if len(queue.waiting) >= queue.queued.chunk_size:
                await flush(queue)

        async def tick() -> None:
            while not checked.is_set():
                with anyio.move_on_after(_FLUSH_EVERY):
                    await checked.wait()
                for queue in list(queues.values()):
                    await flush(queue)

        group.start_soon(tick)
        async with client.fan_out(todo, check, **options) as checks:
            async for result in checks:
                if not result.ok or result.value is None:
                    for entry in result.account[2]:
                        reason = f"{type(result.error).__name__}: {result.error}"
                        emit(ApplyResult(entry, "failed", reason))
                    continue
                for entry, decided in result.value:
                    if decided is not None:
                        emit(decided)
                    else:
                        await pass_on(entry)
        for queue in list(queues.values()):
            await flush(queue)
        checked.set()
        for queue in queues.values():
            queue.more.set()
    order = {entry.key: i for i, entry in enumerate(plan.entries)}
    results.sort(key=lambda r: order.get(r.entry.key, 0))
    return ApplyReport(tuple(results), elapsed=time.perf_counter() - started)


class _Queue:
    """One queue run of an apply: its changes by account, those that passed their
    re-read and wait to be enqueued, and a wake-up for its collector."""

    def __init__(self, queued: QueuedFanOut) -> None:
        self.queued = queued
        self.entries: dict[str, PlanEntry] = {}
        self.waiting: list[str] = []
        self.flushing = 0
        self.more = anyio.Event()


publish(globals(), __all__, module="thingspace_callbacks.state")
