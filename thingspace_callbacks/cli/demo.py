"""``thingspace-callbacks demo``: the SDK's main job, start to end, against the sandbox.

The table names each step as the command line does (``connectivity register``), so
that every row is a command the reader can run next; ``--json`` adds the SDK call
behind it (``client.connectivity.register``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import click

from .._client import AsyncThingSpaceClient
from .._errors import APIStatusError
from .._redact import redact
from ..models._base import plain_data
from ._common import MissingExtra, get_settings, json_option, make_console, output, run

__all__ = ["demo"]

ACCOUNT = "0000123456-00001"
"""The account every demo step uses."""
LISTENER = "https://hooks.example.com"
"""Where the demo's listeners point (nothing is sent there); short, so that a result
and its URL fit an 80-column terminal."""

_HIDDEN = frozenset({"accountName", "accountId", "password", "httpHeaders", "createdOn"})
"""Fields a result leaves out: the account is in the title, the rest is noise here."""


Operation = Callable[[AsyncThingSpaceClient], Awaitable[object]]


def _plan(a: str) -> list[tuple[str, str, Operation]]:
    """The demo's calls in order: (CLI family, CLI verb, the call)."""
    hook = LISTENER
    return [
        ("diagnostics", "register", lambda c: c.diagnostics.register(
            a, service="Diagnostics", url=f"{hook}/diagnostics")),
        ("diagnostics", "get", lambda c: c.diagnostics.get(a)),
        ("diagnostics", "unregister", lambda c: c.diagnostics.unregister(a, service="Diagnostics")),
        ("location", "register", lambda c: c.location.register(
            a, service="Location", url=f"{hook}/location")),
        ("location", "list", lambda c: c.location.list(a)),
        ("location", "unregister", lambda c: c.location.unregister(a, service="Location")),
        ("location", "list", lambda c: c.location.list(a)),
        ("firmware", "register", lambda c: c.firmware.register(a, url=f"{hook}/fota")),
        ("firmware", "get", lambda c: c.firmware.get(a)),
        ("firmware", "unregister", lambda c: c.firmware.unregister(a)),
        ("firmware-v3", "register", lambda c: c.firmware_v3.register(
            a, url=f"{hook}/fota-v3")),
        ("firmware-v3", "get", lambda c: c.firmware_v3.get(a)),
        ("firmware-v3", "unregister", lambda c: c.firmware_v3.unregister(a)),
        ("connectivity", "register", lambda c: c.connectivity.register(
            a, service="CarrierService", url=f"{hook}/carrier",
            username="listener", password="listener-password")),
        ("connectivity", "list", lambda c: c.connectivity.list(a)),
        ("connectivity", "unregister", lambda c: c.connectivity.unregister(
            a, service="CarrierService")),
        ("connectivity", "list", lambda c: c.connectivity.list(a)),
        ("hyper-precise", "register", lambda c: c.hyper_precise.register(
            a, service="BullseyeReporting", url=f"{hook}/hpl")),
        ("hyper-precise", "list", lambda c: c.hyper_precise.list(a)),
        ("hyper-precise", "unregister", lambda c: c.hyper_precise.unregister(
            a, service="BullseyeReporting")),
        ("hyper-precise", "list", lambda c: c.hyper_precise.list(a)),
    ]  # fmt: skip


def _summary(value: object) -> str:
    data = plain_data(value)
    if not isinstance(data, list):
        return _describe(data)
    count = f"{len(data)} listener" + ("" if len(data) == 1 else "s")
    return count + (": " + ", ".join(_describe(d) for d in data) if data else "")


def _describe(data: object) -> str:
    if not isinstance(data, dict):
        return str(data)
    for keys in (("serviceName", "url"), ("name", "url"), ("serviceName", "endpoint")):
        if all(k in data for k in keys):
            return " -> ".join(str(data[k]) for k in keys)
    shown = {k: v for k, v in data.items() if k not in _HIDDEN}
    return ", ".join(f"{k}={v}" for k, v in shown.items())


def _call(family: str, step: str) -> str:
    return f"client.{family.replace('-', '_')}.{step}"


@click.command()
@json_option
def demo() -> None:
    """Register a listener in each of the six families, list it and remove it, against
    an in-process sandbox (no credentials, no network), and show what happened."""
    try:
        from ..sandbox import Sandbox
    except ModuleNotFoundError as exc:
        raise MissingExtra.of("demo", exc, "sandbox") from None
    sandbox = Sandbox()

    async def main() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        async with sandbox.client() as client:
            for family, step, operation in _plan(ACCOUNT):
                try:
                    result, ok = _summary(await operation(client)), True
                except APIStatusError as exc:
                    result, ok = exc.message, False
                rows.append(
                    {
                        "family": family,
                        "step": step,
                        "call": _call(family, step),
                        "ok": ok,
                        "result": result,
                    }
                )
        return rows

    rows = run(main)
    calls = dict(sandbox.calls)
    if get_settings().json:
        # Only the steps can hold secrets; the call counts (one is named "token") are
        # numbers, which masking would hide.
        report = {"account": ACCOUNT, "steps": redact(rows), "sandboxCalls": calls}
        output(report, show_secrets=True)
        return
    output(
        rows,
        title=f"Callback listeners of account {ACCOUNT} (embedded sandbox)",
        columns=("family", "step", "ok", "result"),
        wrap="result",
    )
    _epilogue(len(rows), sum(not row["ok"] for row in rows), calls)


def _epilogue(steps: int, failed: int, calls: dict[str, int]) -> None:
    from rich.text import Text

    console = make_console()
    tokens, sessions = calls.get("token", 0), calls.get("login", 0)
    console.print(
        Text(
            f"{steps} calls, {failed} failed. The client fetched {tokens} OAuth "
            f"token{'' if tokens == 1 else 's'} and opened {sessions} M2M "
            f"session{'' if sessions == 1 else 's'} by itself."
        )
    )
    console.print(
        Text(
            "Next: point the same commands at ThingSpace with THINGSPACE_CLIENT_ID, "
            "THINGSPACE_CLIENT_SECRET, THINGSPACE_USERNAME and THINGSPACE_PASSWORD set, "
            "e.g. thingspace-callbacks location list <account>."
        )
    )
