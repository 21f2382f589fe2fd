"""Applying a plan: :class:`Applier` re-reads each account's listeners of a family
just before changing them, leaves alone what moved since the plan (a conflict), and
hands out one :class:`ApplyResult` per entry; :func:`apply` collects them into an
:class:`ApplyReport`."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, get_args

import anyio
from pydantic import SecretStr

from .._errors import ThingSpaceError
from .._exports import publish
from .._families import family
from .._telemetry import Run, instruments_of, traced_run
from ._entries import CHANGES, PlanEntry
from ._observed import Expected, Snapshot, observed, read
from ._preflight import check_base_url, check_prune, resolve_secrets

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

    from .._client import AsyncThingSpaceClient
    from .._fanout import FanOut, FanOutOptions, FanOutResult
    from ._plan import Plan

__all__ = [
    "ApplyReport",
    "ApplyResult",
    "Applier",
    "Outcome",
    "apply",
    "expected_of",
]

Outcome = Literal["applied", "already", "conflict", "failed", "cancelled"]
"""What became of one entry: ``applied`` (the call succeeded), ``already`` (the
re-read found it done: an earlier, interrupted apply), ``conflict`` (the listener
is no longer what the plan saw: left alone), ``failed`` (the re-read or the call
failed), ``cancelled`` (the apply stopped first)."""

OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)

Group = tuple[str, str, tuple[PlanEntry, ...]]
"""An account, a family, and the plan's changes to its listeners of that family."""


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What became of one entry of the plan."""

    entry: PlanEntry
    outcome: Outcome
    error: str | None = None
    """Why it failed, or what the conflict is."""
    found: Snapshot | None = None
    """On a conflict, what the re-read found instead of the plan's ``before``."""
    elapsed: float = 0.0
    """Seconds its call took."""

    @property
    def ok(self) -> bool:
        """Whether the listener is now what the state asks for."""
        return self.outcome in ("applied", "already")

    def data(self) -> dict[str, Any]:
        """The result as a JSON object (a line of ``apply --results``): the entry's
        object, ``ok``, ``outcome``, and ``error`` or ``found`` when set."""
        data = self.entry.data()
        data.update(ok=self.ok, outcome=self.outcome, elapsed=round(self.elapsed, 6))
        if self.error is not None:
            data["error"] = self.error
        if self.found is not None:
            data["found"] = self.found.data(self.entry.facts)
        return data


@dataclass(frozen=True)
class ApplyReport:
    """Every result of an apply, in the plan's order."""

    results: tuple[ApplyResult, ...]
    elapsed: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        """How many results of each outcome (every outcome, zeros included)."""
        counted = Counter(result.outcome for result in self.results)
        return {outcome: counted.get(outcome, 0) for outcome in OUTCOMES}

    @property
    def conflicts(self) -> tuple[ApplyResult, ...]:
        """The entries left alone because their listener moved since the plan."""
        return tuple(r for r in self.results if r.outcome == "conflict")

    @property
    def failed(self) -> tuple[ApplyResult, ...]:
        """The entries whose re-read or call failed, or that were cancelled."""
        return tuple(r for r in self.results if r.outcome in ("failed", "cancelled"))

    @property
    def ok(self) -> bool:
        """Whether every entry is now what the state asks for."""
        return all(result.ok for result in self.results)

    def __len__(self) -> int:
        return len(self.results)


def expected_of(
    entries: Iterable[PlanEntry], secrets: Mapping[str, SecretStr]
) -> dict[str, Expected]:
    """Service to what the re-read of each entry's listener is compared with."""
    found: dict[str, Expected] = {}
    for entry in entries:
        after = entry.after
        if after is None:
            continue
        headers = dict(after.http_headers or ())
        found[entry.service or ""] = Expected(
            password=secrets.get(after.password or ""),
            password_digest=after.password,
            headers={
                name: (secrets[headers[name]], headers[name])
                for name in after.secret_headers
                if headers[name] in secrets
            },
        )
    return found


def groups(
    entries: Iterable[PlanEntry], skip: Iterable[tuple[str, str, str | None]] = ()
) -> list[Group]:
    """The changes by (account, family), in plan order, without those in ``skip``."""
    skipped = frozenset(skip)
    grouped: dict[tuple[str, str], list[PlanEntry]] = {}
    for entry in entries:
        if entry.kind in CHANGES and entry.key not in skipped:
            grouped.setdefault((entry.account, entry.family), []).append(entry)
    return [
        # Adds and changes first, removes last: an account never goes without a
        # listener on the way.
        (account, name, tuple(sorted(found, key=lambda e: e.kind == "remove")))
        for (account, name), found in grouped.items()
    ]


def verdict(entry: PlanEntry, now: Snapshot | None) -> tuple[Outcome | None, str | None]:
    """What the re-read says of ``entry``: ``(None, None)`` to go ahead, else its
    outcome (``already`` or ``conflict``) and why."""
    expected = entry.before if entry.kind != "add" else None
    if now is None and expected is None:
        return None, None
    if now is not None and expected is not None and now.same_as(expected):
        return None, None
    if entry.kind == "remove" and now is None:
        return "already", None
    if now is not None and entry.after is not None and now.same_as(entry.after):
        return "already", None
    if now is None:
        return "conflict", "the listener was removed since the plan"
    if expected is None:
        return "conflict", "a listener was registered since the plan"
    return "conflict", "the listener changed since the plan"


def call_arguments(
    entry: PlanEntry, secrets: Mapping[str, SecretStr]
) -> tuple[str, dict[str, Any]]:
    """The verb and keyword arguments (after the account) that make ``entry`` so."""
    facts = entry.facts
    arguments: dict[str, Any] = {}
    if facts.takes_service:
        arguments["service"] = entry.service
    if entry.kind == "remove":
        return "unregister", arguments
    after = entry.after
    assert after is not None
    arguments["url"] = after.url
    keywords = facts.register_keywords
    if "username" in keywords:
        arguments["username"] = after.username
    if "password" in keywords:
        arguments["password"] = secrets[after.password] if after.password else None
    if "http_headers" in keywords:
        secret = after.secret_headers
        arguments["http_headers"] = (
            {
                name: secrets[value].get_secret_value() if name in secret else value
                for name, value in after.http_headers
            }
            if after.http_headers
            else None
        )
    if entry.kind == "change" and "update" in facts.verbs:
        # FOTA points its one listener elsewhere with update; a register would be
        # refused over an existing one by some servers.
        return "update", {"url": after.url}
    return "register", arguments


class Applier:
    """One apply of a plan: enter it with ``async with``, then iterate its results
    (one :class:`ApplyResult` per change of the plan, in completion order)::

        async with Applier(client, plan) as results:
            async for result in results:
                print(result.entry.account, result.outcome)

    The changes of one account and family are done together: its listeners are read
    again, each entry whose listener is still what the plan saw is done (adds and
    changes before removes), and the others are left alone as conflicts (or found
    ``already`` done). They run as one fan-out (``options``: ``concurrency``,
    ``rate_limit``, ``on_progress``...). Everything is checked on entering, before
    any request: the prunes (:class:`PruneRefusedError` unless
    ``allow_large_prune``), the API root (a plan read elsewhere is refused) and the
    secrets (:func:`resolve_secrets`).

    :param skip: Keys (account, family, service) of entries not to do: done by an
        earlier apply (``--resume``).
    :param environ: Where a loaded plan's secrets are read again (default:
        ``os.environ``).
    :param recheck: Read each account's listeners again before changing them
        (default). ``False`` trusts the plan's reads, as ``terraform apply`` does: one
        request per change instead of two, but a change made since the plan is
        overwritten, not a conflict (the window is from the plan to the apply).
    """

    def __init__(
        self,
        client: AsyncThingSpaceClient,
        plan: Plan,
        *,
        allow_large_prune: bool = False,
        skip: Iterable[tuple[str, str, str | None]] = (),
        environ: Mapping[str, str] | None = None,
        recheck: bool = True,
        **options: Unpack[FanOutOptions],
    ) -> None:
        check_prune(plan, allow_large_prune)
        check_base_url(plan, client.base_url)
        self._client = client
        self._plan = plan
        self._environ = environ
        self._recheck = recheck
        self._groups = groups(plan.entries, skip)
        self.total = sum(len(entries) for _, _, entries in self._groups)
        """How many entries this apply does."""
        options.setdefault("total", len(self._groups))
        self._options = options
        self._secrets: dict[str, SecretStr] = {}
        self._prepared = False
        self._ready: deque[ApplyResult] = deque()
        self._fan_out: FanOut[Group, list[ApplyResult]] | None = None
        self._started = 0.0
        self._trace = ExitStack()
        self._run: Run | None = None
        self._counts: Counter[str] = Counter()
        self.elapsed = 0.0
        """Seconds the apply took (so far)."""

    async def prepare(self) -> None:
        """Read the secrets the changes send and check them (:func:`resolve_secrets`,
        in a worker thread); entering does it when it was not done."""
        if self._prepared:
            return
        changes = [entry for _, _, entries in self._groups for entry in entries]
        self._secrets = await anyio.to_thread.run_sync(
            resolve_secrets, self._plan, changes, self._environ
        )
        self._prepared = True

    async def __aenter__(self) -> Self:
        await self.prepare()
        self._started = time.perf_counter()
        trace = self._trace = ExitStack()
        self._run = trace.enter_context(
            traced_run(
                instruments_of(self._client),
                "thingspace apply",
                "thingspace.apply",
                {"thingspace.apply.total": self.total},
            )
        )
        self._fan_out = self._client.fan_out(self._groups, self._apply, **self._options)
        try:
            await self._fan_out.__aenter__()
        except BaseException as exc:
            trace.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._fan_out is not None
        try:
            return await self._fan_out.__aexit__(exc_type, exc, tb)
        finally:
            self.elapsed = time.perf_counter() - self._started
            if self._run is not None:
                self._run.counts = dict(self._counts)
            self._trace.__exit__(exc_type, exc, tb)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> ApplyResult:
        if self._fan_out is None:
            raise RuntimeError("enter the apply first: `async with Applier(...) as results:`")
        while not self._ready:
            self._ready.extend(_results(await self._fan_out.__anext__()))
        result = self._ready.popleft()
        self._counts[result.outcome] += 1
        return result

    def remaining(self) -> list[ApplyResult]:
        """After the apply stopped: the results not iterated yet, then one
        ``cancelled`` result per entry that was not done (as
        :meth:`FanOut.remaining <thingspace_callbacks.FanOut.remaining>`)."""
        found = list(self._ready)
        self._ready.clear()
        if self._fan_out is not None:
            for result in self._fan_out.remaining():
                found.extend(_results(result))
        return found

    async def collect(self) -> ApplyReport:
        """Run to the end and return every result, in the plan's order."""
        async with self:
            results = [result async for result in self]
        order = {entry.key: i for i, entry in enumerate(self._plan.entries)}
        results.sort(key=lambda r: order.get(r.entry.key, 0))
        return ApplyReport(tuple(results), elapsed=self.elapsed)

    async def _apply(self, group: Group) -> list[ApplyResult]:
        account, name, entries = group
        facts = family(name)
        current: dict[str, Snapshot] | None = None
        if self._recheck:
            wanted = expected_of(entries, self._secrets)
            try:
                models = await read(self._client, facts, account)
            except ThingSpaceError as exc:
                reason = f"the listeners could not be read again: {_reason(exc)}"
                return [ApplyResult(entry, "failed", reason) for entry in entries]
            current = dict(observed(facts, model, wanted) for model in models)
        resource = getattr(self._client, facts.name)
        results = []
        for entry in entries:
            if current is not None:
                now = current.get(entry.service or "")
                outcome, why = verdict(entry, now)
                if outcome is not None:
                    found = now if outcome == "conflict" else None
                    results.append(ApplyResult(entry, outcome, why, found))
                    continue
            verb, arguments = call_arguments(entry, self._secrets)
            started = time.perf_counter()
            try:
                await getattr(resource, verb)(account, **arguments)
            except ThingSpaceError as exc:
                results.append(
                    ApplyResult(
                        entry, "failed", _reason(exc), elapsed=time.perf_counter() - started
                    )
                )
            else:
                results.append(ApplyResult(entry, "applied", elapsed=time.perf_counter() - started))
        return results


def _results(result: FanOutResult[Group, list[ApplyResult]]) -> list[ApplyResult]:
    if result.ok and result.value is not None:
        return result.value
    outcome: Outcome = "cancelled" if result.cancelled else "failed"
    return [ApplyResult(entry, outcome, _reason(result.error)) for entry in result.account[2]]


def _reason(error: BaseException | None) -> str:
    return f"{type(error).__name__}: {error}" if error is not None else "unknown"


async def apply(
    client: AsyncThingSpaceClient,
    plan: Plan,
    *,
    allow_large_prune: bool = False,
    skip: Iterable[tuple[str, str, str | None]] = (),
    environ: Mapping[str, str] | None = None,
    recheck: bool = True,
    on_result: Callable[[ApplyResult], object] | None = None,
    **options: Unpack[FanOutOptions],
) -> ApplyReport:
    """Apply ``plan`` with ``client`` and return every entry's result (see
    :class:`Applier` for how, what is checked first, and ``recheck``).

    :param on_result: Called with each result as it arrives.
    """
    applier = Applier(
        client,
        plan,
        allow_large_prune=allow_large_prune,
        skip=skip,
        environ=environ,
        recheck=recheck,
        **options,
    )
    results = []
    async with applier:
        async for result in applier:
            results.append(result)
            if on_result is not None:
                on_result(result)
    order = {entry.key: i for i, entry in enumerate(plan.entries)}
    results.sort(key=lambda r: order.get(r.entry.key, 0))
    return ApplyReport(tuple(results), elapsed=applier.elapsed)


publish(
    globals(),
    ["ApplyReport", "ApplyResult", "Applier", "apply"],
    module="thingspace_callbacks.state",
)
