"""Planning: :func:`plan` reads what every account has, through the fan-out
machinery, and compares it with the state; :class:`Plan` is the result, pure data,
saved and loaded as JSON."""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import anyio
from pydantic import SecretStr

from .._checks import count
from .._digest import digest
from .._errors import InvalidArgumentError, ThingSpaceError
from .._exports import publish
from .._families import FAMILIES, family
from .._redact import redact_url
from .._telemetry import instruments_of, traced_run
from ._entries import CHANGES, KINDS, PlanEntry, diff
from ._errors import PlanFileError
from ._observed import Expected, Snapshot, desired_snapshot, observed, read

if TYPE_CHECKING:
    from typing_extensions import Self, Unpack

    from .._client import AsyncThingSpaceClient
    from .._fanout import FanOutOptions, FanOutResult
    from ._model import Listener, State

__all__ = ["DEFAULT_MAX_PRUNE_SHARE", "PLAN_FORMAT", "Plan", "plan"]

PLAN_FORMAT = "thingspace-callbacks/plan/1"
"""The ``format`` of a saved plan."""

DEFAULT_MAX_PRUNE_SHARE = 0.5
"""The largest share of the fleet's listeners of a family that an apply removes
without ``allow_large_prune``."""

_FAMILY_ORDER = {f.name: i for i, f in enumerate(FAMILIES)}


@dataclass(frozen=True)
class Plan:
    """What an apply would do: one :class:`PlanEntry` per (account, family, service)
    the state and the reads mention, in the state's order of accounts.

    Secrets appear only as salted PBKDF2 digests (``salt`` is the plan's). A plan
    made by :func:`plan` keeps the state's secrets in memory for :func:`apply`; a
    loaded one reads them again from the environment (each listener's
    ``passwordFrom``), and an apply refuses one that no longer matches its digest.
    """

    entries: tuple[PlanEntry, ...]
    state_digest: str
    """A SHA-256 of the state the plan came from (:meth:`State.digest`)."""
    base_url: str | None = None
    """The API root the plan read (an apply to another is refused)."""
    salt: str = ""
    """The salt of the plan's secret digests."""
    created_at: str = ""
    """When it was made (ISO 8601, UTC)."""
    max_prune_share: float = DEFAULT_MAX_PRUNE_SHARE
    """The share of a family's listeners an apply removes without
    ``allow_large_prune``."""
    secrets: Mapping[str, SecretStr] = field(default_factory=dict, repr=False, compare=False)
    """The state's secrets by their digest (in memory only; empty once loaded)."""

    # -- what it says ----------------------------------------------------------------

    @property
    def counts(self) -> dict[str, int]:
        """How many entries of each kind (every kind, zeros included)."""
        counted = Counter(entry.kind for entry in self.entries)
        return {kind: counted.get(kind, 0) for kind in KINDS}

    @property
    def changes(self) -> tuple[PlanEntry, ...]:
        """The entries an apply acts on: add, change and remove."""
        return tuple(entry for entry in self.entries if entry.kind in CHANGES)

    @property
    def pending(self) -> bool:
        """Whether there is anything to apply."""
        return any(entry.kind in CHANGES for entry in self.entries)

    @property
    def unreadable(self) -> tuple[PlanEntry, ...]:
        """The entries whose read failed: nothing is known of them, nothing is done."""
        return tuple(entry for entry in self.entries if entry.kind == "unreadable")

    @property
    def exit_code(self) -> int:
        """As ``terraform plan -detailed-exitcode``: 1 when some read failed, else 2
        when changes are pending, else 0."""
        if self.unreadable:
            return 1
        return 2 if self.pending else 0

    def large_prunes(self) -> tuple[str, ...]:
        """Why an apply needs ``allow_large_prune``: each family whose removals pass
        :attr:`max_prune_share` of its listeners read, and each account left with no
        listener of a family (every one removed, none added or kept). Empty when none."""
        held: Counter[str] = Counter()
        removed: Counter[str] = Counter()
        kept: dict[tuple[str, str], int] = {}
        gone: dict[tuple[str, str], int] = {}
        for entry in self.entries:
            pair = (entry.account, entry.family)
            if entry.before is not None and entry.kind in ("change", "unchanged", "remove"):
                held[entry.family] += 1
            if entry.kind == "remove":
                removed[entry.family] += 1
                gone[pair] = gone.get(pair, 0) + 1
            elif entry.kind in ("add", "change", "unchanged", "unreadable"):
                kept[pair] = kept.get(pair, 0) + 1
        reasons = []
        for name, n in removed.items():
            if n > self.max_prune_share * held[name]:
                reasons.append(
                    f"{name}: removes {n} of the {held[name]} listeners read "
                    f"(more than {self.max_prune_share:.0%})"
                )
        emptied = [pair for pair in gone if not kept.get(pair)]
        if emptied:
            shown = ", ".join(f"{account} ({name})" for account, name in emptied[:5])
            more = f" and {len(emptied) - 5} more" if len(emptied) > 5 else ""
            reasons.append(f"leaves {len(emptied)} account(s) with no listener: {shown}{more}")
        return tuple(reasons)

    def __iter__(self) -> Iterator[PlanEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    # -- saving and loading ----------------------------------------------------------

    def data(self) -> dict[str, Any]:
        """The plan as a JSON object (what :meth:`save` writes)."""
        return {
            "format": PLAN_FORMAT,
            "stateDigest": self.state_digest,
            "baseUrl": redact_url(self.base_url) if self.base_url else None,
            "salt": self.salt,
            "createdAt": self.created_at,
            "maxPruneShare": self.max_prune_share,
            "counts": self.counts,
            "entries": [entry.data() for entry in self.entries],
        }

    def to_json(self) -> str:
        """The plan as JSON text (no secret in it)."""
        return json.dumps(self.data(), separators=(",", ":"))

    def save(self, path: str) -> None:
        """Write the plan to ``path`` (atomically: a temporary file beside it, then
        ``os.replace``)."""
        directory = os.path.dirname(os.path.abspath(path))
        handle, temporary = tempfile.mkstemp(prefix=".plan-", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(self.to_json())
                stream.write("\n")
            os.replace(temporary, path)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise

    @classmethod
    def from_json(cls, text: str) -> Self:
        """The plan :meth:`to_json` wrote.

        :raises PlanFileError: it is not a plan of this format.
        """
        try:
            data = json.loads(text)
        except ValueError:
            raise PlanFileError("not a saved plan: not JSON") from None
        if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
            raise PlanFileError(f"not a saved plan: its format is not {PLAN_FORMAT!r}")
        entries = data.get("entries")
        if not isinstance(entries, list):
            raise PlanFileError("not a saved plan: no entries")
        try:
            parsed = tuple(PlanEntry.from_data(item) for item in entries)
        except (ValueError, TypeError, LookupError) as exc:
            raise PlanFileError(f"a saved plan's entry cannot be read: {exc}") from None
        raw_share = data.get("maxPruneShare", DEFAULT_MAX_PRUNE_SHARE)
        try:
            share = prune_share(raw_share)
        except InvalidArgumentError:
            # NaN would pass every comparison as False: no prune would be too large.
            raise PlanFileError(
                f"not a saved plan: its maxPruneShare must be a number between 0 and 1, "
                f"got {raw_share!r}"
            ) from None
        base_url = data.get("baseUrl")
        return cls(
            entries=parsed,
            state_digest=str(data.get("stateDigest", "")),
            base_url=base_url if isinstance(base_url, str) else None,
            salt=str(data.get("salt", "")),
            created_at=str(data.get("createdAt", "")),
            max_prune_share=share,
        )

    @classmethod
    def load(cls, path: str) -> Self:
        """The plan :meth:`save` wrote to ``path``.

        :raises PlanFileError: it cannot be read, or is not a saved plan.
        """
        try:
            with open(path, encoding="utf-8") as stream:
                text = stream.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise PlanFileError(f"{path}: cannot be read ({exc})") from None
        try:
            return cls.from_json(text)
        except PlanFileError as exc:
            raise PlanFileError(f"{path}: {exc}") from None


def prune_share(value: object) -> float:
    """``value`` as a share between 0 and 1.

    :raises InvalidArgumentError: it is not one (NaN included).
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidArgumentError(f"'max_prune_share' must be between 0 and 1, got {value!r}")
    try:
        share = float(value)
    except ValueError:
        share = float("nan")
    if not 0.0 <= share <= 1.0:
        raise InvalidArgumentError(f"'max_prune_share' must be between 0 and 1, got {value!r}")
    return share


@dataclass
class Digests:
    """The salted digests of a state's secrets, and the secrets by digest (in memory
    only)."""

    passwords: dict[int, str] = field(default_factory=dict)
    """Each listener's password digest, by the listener's ``id()``."""
    headers: dict[int, dict[str, str]] = field(default_factory=dict)
    """Each listener's secret headers' digests, by the listener's ``id()``."""
    secrets: dict[str, SecretStr] = field(default_factory=dict)

    def expected(self, listener: Listener) -> Expected:
        """What a read of ``listener`` is compared with."""
        key = id(listener)
        headers = listener.http_headers or {}
        return Expected(
            password=listener.password,
            password_digest=self.passwords.get(key),
            headers={
                name: (SecretStr(headers[name]), found)
                for name, found in self.headers.get(key, {}).items()
            },
        )


class _Planning:
    """One plan being made: the state's snapshots and digests, and the entries found."""

    def __init__(self, state: State, digests: Digests, resend: bool) -> None:
        self.state = state
        self.resend = resend
        self.digests = digests
        self._snapshots: dict[int, Snapshot] = {}
        self._expected: dict[int, Expected] = {}
        self.entries: list[tuple[int, PlanEntry]] = []

    def snapshot(self, listener: Listener) -> Snapshot:
        found = self._snapshots.get(id(listener))
        if found is None:
            key = id(listener)
            found = desired_snapshot(
                listener, self.digests.passwords.get(key), self.digests.headers.get(key)
            )
            self._snapshots[key] = found
        return found

    def expected(self, listener: Listener) -> Expected:
        found = self._expected.get(id(listener))
        if found is None:
            found = self._expected[id(listener)] = self.digests.expected(listener)
        return found

    def wanted(self, account: str, name: str) -> dict[str, Listener]:
        return self.state.desired(account).get(name, {})

    def record(self, result: FanOutResult[tuple[str, str], list[tuple[str, Snapshot]]]) -> None:
        account, name = result.account
        wanted = {s: self.snapshot(listener) for s, listener in self.wanted(account, name).items()}
        error = None if result.ok else _reason(result.error)
        found = diff(
            account,
            family(name),
            wanted,
            result.value if result.ok else None,
            prune=name in self.state.prune,
            resend_secrets=self.resend,
            error=error,
        )
        for entry in found:
            self.entries.append((result.index, entry))


def _reason(error: BaseException | None) -> str:
    if isinstance(error, ThingSpaceError):
        return f"{type(error).__name__}: {error}"
    return f"{type(error).__name__}: {error}" if error is not None else "unknown"


async def secret_digests(state: State, salt: str) -> Digests:
    """The digest of each listener's password and secret header (one PBKDF2 per
    distinct value, in a worker thread), and the secrets by digest."""
    by_value: dict[str, str] = {}
    found = Digests()

    async def digest_of(value: str) -> str:
        if value not in by_value:
            by_value[value] = await anyio.to_thread.run_sync(digest, value, salt)
            found.secrets[by_value[value]] = SecretStr(value)
        return by_value[value]

    for listener in state.listeners:
        if listener.password is not None:
            value = listener.password.get_secret_value()
            found.passwords[id(listener)] = await digest_of(value)
        headers = listener.http_headers or {}
        for name in sorted(listener.secret_headers):
            found.headers.setdefault(id(listener), {})[name] = await digest_of(headers[name])
    return found


async def plan(
    client: AsyncThingSpaceClient,
    state: State,
    *,
    resend_secrets: bool = False,
    max_prune_share: float = DEFAULT_MAX_PRUNE_SHARE,
    **options: Unpack[FanOutOptions],
) -> Plan:
    """Read every (account, family) ``state`` mentions and compare it with the state.

    The reads are one fan-out (:meth:`AsyncThingSpaceClient.fan_out`): bounded,
    rate-limited and retried as ``options`` say (``concurrency``, ``rate_limit``,
    ``on_progress`` with a :class:`~thingspace_callbacks.FanOutProgress` after each
    read). A read that fails makes its entries ``unreadable``: never an add, never a
    remove.

    :param resend_secrets: Count each password ThingSpace's read does not return as
        changed, so that an apply sends it again (a password it returns is compared).
    :param max_prune_share: See :attr:`Plan.max_prune_share`.
    """
    share = prune_share(max_prune_share)
    if "total" not in options:
        options["total"] = count(sum(1 for _ in state.reads()), "total")
    salt = secrets.token_hex(16)
    digests = await secret_digests(state, salt)
    planning = _Planning(state, digests, resend_secrets)

    async def read_one(pair: tuple[str, str]) -> list[tuple[str, Snapshot]]:
        account, name = pair
        facts = family(name)
        wanted = {
            s: planning.expected(listener) for s, listener in planning.wanted(account, name).items()
        }
        return [observed(facts, model, wanted) for model in await read(client, facts, account)]

    reads = {"thingspace.plan.reads": options["total"]}
    with traced_run(instruments_of(client), "thingspace plan", "thingspace.plan", reads) as run:
        async with client.fan_out(state.reads(), read_one, **options) as results:
            async for result in results:
                planning.record(result)
        planning.entries.sort(key=_order)
        made = Plan(
            entries=tuple(entry for _, entry in planning.entries),
            state_digest=state.digest(digests.passwords, digests.headers),
            base_url=redact_url(client.base_url),
            salt=salt,
            created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            max_prune_share=share,
            secrets=digests.secrets,
        )
        run.counts = dict(made.counts)
    return made


def _order(item: tuple[int, PlanEntry]) -> tuple[int, int, str]:
    index, entry = item
    return index, _FAMILY_ORDER[entry.family], entry.service or ""


publish(globals(), ["Plan", "plan"], module="thingspace_callbacks.state")
