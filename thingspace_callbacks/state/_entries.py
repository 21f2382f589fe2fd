"""A plan's entries and how they are found: :func:`diff` is a pure function of what
an account should have and what its read answered, tested as a table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from .._exports import publish
from .._families import Family, family
from ._observed import NOT_RETURNED, Snapshot

__all__ = ["KINDS", "Kind", "PlanEntry", "diff"]

Kind = Literal["add", "change", "remove", "unchanged", "unreadable"]
"""What a plan does with one (account, family, service)."""

KINDS: tuple[Kind, ...] = get_args(Kind)
CHANGES: frozenset[str] = frozenset({"add", "change", "remove"})
"""The kinds an apply acts on."""


@dataclass(frozen=True, slots=True)
class PlanEntry:
    """One (account, family, service) of a plan: what ThingSpace has (``before``),
    what the state asks for (``after``), and what to do (``kind``).

    ``service`` is ``""`` for the FOTA families (one listener per account), and
    ``None`` on an ``unreadable`` entry that stands for every undeclared listener of a
    pruned family.
    """

    account: str
    family: str
    service: str | None
    kind: Kind
    before: Snapshot | None = None
    """What the read answered; ``None`` when there is no such listener, or the read
    failed."""
    after: Snapshot | None = None
    """What the state asks for; ``None`` for a remove (and for an unreadable listener
    the state does not declare)."""
    changes: tuple[str, ...] = ()
    """The fields that differ, on a ``change`` (``"url"``, ``"username"``,
    ``"password"``, ``"http_headers"``)."""
    error: str | None = None
    """Why the read failed, on an ``unreadable`` entry."""

    @property
    def key(self) -> tuple[str, str, str | None]:
        """(account, family, service): what the entry is about."""
        return self.account, self.family, self.service

    @property
    def facts(self) -> Family:
        """The family's entry in the registry."""
        return family(self.family)

    def data(self) -> dict[str, Any]:
        """The entry as a JSON object (``plan --json``, a saved plan)."""
        facts = self.facts
        data: dict[str, Any] = {
            "account": self.account,
            "family": self.family,
            "service": self.service,
            "kind": self.kind,
            "before": self.before.data(facts) if self.before is not None else None,
            "after": self.after.data(facts) if self.after is not None else None,
        }
        if self.changes:
            data["changes"] = list(self.changes)
        if self.error is not None:
            data["error"] = self.error
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> PlanEntry:
        """The entry of :meth:`data`'s object.

        :raises ValueError: it is not one.
        """
        kind = data.get("kind")
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        account, name, service = data.get("account"), data.get("family"), data.get("service")
        if not isinstance(account, str) or not isinstance(name, str):
            raise ValueError("an entry needs an account and a family")
        if service is not None and not isinstance(service, str):
            raise ValueError("service must be a string")
        family(name)  # KeyError (a LookupError) for a family that does not exist
        before, after = data.get("before"), data.get("after")
        changes = data.get("changes") or []
        error = data.get("error")
        return cls(
            account=account,
            family=name,
            service=service,
            kind=kind,
            before=Snapshot.from_data(before) if isinstance(before, dict) else None,
            after=Snapshot.from_data(after) if isinstance(after, dict) else None,
            changes=tuple(str(c) for c in changes),
            error=error if isinstance(error, str) else None,
        )


def differences(before: Snapshot, after: Snapshot, *, resend_secrets: bool) -> tuple[str, ...]:
    """The fields of ``after`` that ``before`` does not have."""
    found = []
    if before.url != after.url:
        found.append("url")
    if before.username != after.username:
        found.append("username")
    if before.password != after.password:
        unknown = before.password == NOT_RETURNED
        if not unknown or (resend_secrets and after.password is not None):
            found.append("password")
    if before.http_headers != after.http_headers:
        found.append("http_headers")
    return tuple(found)


def diff(
    account: str,
    facts: Family,
    wanted: Mapping[str, Snapshot],
    seen: Sequence[tuple[str, Snapshot]] | None,
    *,
    prune: bool,
    resend_secrets: bool = False,
    error: str | None = None,
) -> list[PlanEntry]:
    """The entries of one (account, family).

    :param wanted: Service to the snapshot the state asks for.
    :param seen: What the read answered (service and snapshot of each listener);
        ``None`` when it failed, and then nothing is added or removed: every declared
        listener (and, for a pruned family, the undeclared ones) is ``unreadable``.
    :param prune: Whether listeners no declared one matches are removed.
    :param resend_secrets: Count a password ThingSpace does not return as changed.
    """
    name = facts.name
    if seen is None:
        entries = [
            PlanEntry(account, name, service, "unreadable", None, after, error=error)
            for service, after in wanted.items()
        ]
        if prune and not wanted:
            entries.append(PlanEntry(account, name, None, "unreadable", error=error))
        return entries
    found: dict[str, Snapshot] = {}
    for service, snapshot in seen:
        found.setdefault(service, snapshot)
    entries = []
    for service, after in wanted.items():
        before = found.get(service)
        if before is None:
            entries.append(PlanEntry(account, name, service, "add", None, after))
            continue
        changes = differences(before, after, resend_secrets=resend_secrets)
        if changes:
            entries.append(PlanEntry(account, name, service, "change", before, after, changes))
        else:
            # The state's own snapshot: unchanged listeners of a fleet share one object.
            same = after if before.same_as(after) else before
            entries.append(PlanEntry(account, name, service, "unchanged", same, after))
    if prune:
        for service, before in found.items():
            if service not in wanted:
                entries.append(PlanEntry(account, name, service, "remove", before, None))
    return entries


publish(globals(), ["PlanEntry"], module="thingspace_callbacks.state")
