"""How ``plan`` and ``apply`` show a plan: the human text (grouped by kind, with
counts; secrets only as ``(sensitive)``), or JSON lines."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from ...state import SENSITIVE

if TYPE_CHECKING:
    from ...state import Plan, PlanEntry, Snapshot

__all__ = ["print_plan", "summary_line"]

_HEADINGS = {
    "add": ("+", "to add"),
    "change": ("~", "to change"),
    "remove": ("-", "to remove"),
    "unreadable": ("?", "unreadable (nothing is done to them)"),
}


def summary_line(plan: Plan) -> str:
    """``Plan: 3 to add, 1 to change, 0 to remove, 10 unchanged, 0 unreadable.``"""
    counts = plan.counts
    return (
        f"Plan: {counts['add']} to add, {counts['change']} to change, "
        f"{counts['remove']} to remove, {counts['unchanged']} unchanged, "
        f"{counts['unreadable']} unreadable."
    )


def print_plan(plan: Plan, *, as_json: bool, err: bool = False) -> None:
    """Print ``plan`` on stdout (stderr when ``err``): one JSON object per entry then
    a summary object, or the entries grouped by kind (unchanged ones only counted)
    and the counts. Secrets show as ``(sensitive)`` in the text, as salted digests in
    the JSON."""
    if as_json:
        for entry in plan.entries:
            click.echo(json.dumps(entry.data(), separators=(",", ":")))
        summary: dict[str, Any] = {"counts": plan.counts, "stateDigest": plan.state_digest}
        click.echo(json.dumps({"summary": summary}, separators=(",", ":")))
        return
    for kind, (mark, heading) in _HEADINGS.items():
        entries = [entry for entry in plan.entries if entry.kind == kind]
        if not entries:
            continue
        click.echo(f"{heading} ({len(entries)}):", err=err)
        for entry in entries:
            click.echo(f"  {mark} {_describe(entry)}", err=err)
        click.echo(err=err)
    click.echo(summary_line(plan), err=err)
    for reason in plan.large_prunes():
        click.echo(f"Large prune (needs --allow-large-prune): {reason}", err=True)


def _describe(entry: PlanEntry) -> str:
    what = " ".join(part for part in (entry.account, entry.family, entry.service) if part)
    if entry.service is None:
        what += " (its undeclared listeners)"
    if entry.kind == "unreadable":
        return f"{what}: {entry.error}"
    if entry.kind == "change" and entry.before is not None and entry.after is not None:
        changes = "; ".join(_change(name, entry.before, entry.after) for name in entry.changes)
        return f"{what}: {changes}"
    shown = entry.after if entry.kind == "add" else entry.before
    return f"{what} {_values(shown)}".rstrip()


def _change(name: str, before: Snapshot, after: Snapshot) -> str:
    if name == "password":
        return "password (sensitive) changes"
    if name == "http_headers":
        was, will = _headers(before), _headers(after)
        if was == will:  # only secret values differ
            return "http_headers (sensitive) change"
        return f"http_headers {was} -> {will}"
    return f"{name} {getattr(before, name)} -> {getattr(after, name)}"


def _headers(snapshot: Snapshot) -> str:
    """The headers as JSON, each secret one's value as ``(sensitive)``."""
    secret = snapshot.secret_headers
    shown = {
        name: SENSITIVE if name in secret else value for name, value in snapshot.http_headers or ()
    }
    return json.dumps(shown, separators=(",", ":"))


def _values(snapshot: Snapshot | None) -> str:
    if snapshot is None:
        return ""
    parts = [f"url={snapshot.url}"]
    if snapshot.username:
        parts.append(f"username={snapshot.username}")
    if snapshot.password:
        parts.append("password=(sensitive)")
    if snapshot.http_headers:
        parts.append(f"http_headers={_headers(snapshot)}")
    return " ".join(parts)
