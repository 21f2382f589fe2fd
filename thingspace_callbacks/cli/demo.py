"""``thingspace-callbacks demo``: the SDK's main job, start to end, against the sandbox."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import click

from .._client import AsyncThingSpaceClient
from .._errors import APIStatusError
from ._common import get_settings, json_option, output, run, to_data

__all__ = ["demo"]

ACCOUNT = "0000123456-00001"
"""The account every demo step uses."""
LISTENER = "https://listener.example.com/thingspace"
"""Where the demo's listeners point (nothing is sent there)."""


Operation = Callable[[AsyncThingSpaceClient], Awaitable[object]]


def _plan(a: str) -> list[tuple[str, str, Operation]]:
    """The demo's calls in order: (step, sub-client call, the call)."""
    hook = LISTENER
    return [
        ("register", "diagnostics.register", lambda c: c.diagnostics.register(
            a, service="Diagnostics", url=f"{hook}/diagnostics")),
        ("get", "diagnostics.get", lambda c: c.diagnostics.get(a)),
        ("remove", "diagnostics.unregister", lambda c: c.diagnostics.unregister(a, "Diagnostics")),
        ("register", "location.register", lambda c: c.location.register(
            a, service="Location", url=f"{hook}/location")),
        ("list", "location.list", lambda c: c.location.list(a)),
        ("remove", "location.unregister", lambda c: c.location.unregister(a, "Location")),
        ("list", "location.list", lambda c: c.location.list(a)),
        ("register", "firmware.register", lambda c: c.firmware.register(a, url=f"{hook}/fota")),
        ("get", "firmware.get", lambda c: c.firmware.get(a)),
        ("remove", "firmware.unregister", lambda c: c.firmware.unregister(a)),
        ("register", "firmware_v3.register", lambda c: c.firmware_v3.register(
            a, url=f"{hook}/fota-v3")),
        ("get", "firmware_v3.get", lambda c: c.firmware_v3.get(a)),
        ("remove", "firmware_v3.unregister", lambda c: c.firmware_v3.unregister(a)),
        ("register", "account_name.register", lambda c: c.account_name.register(
            a, service="CarrierService", url=f"{hook}/carrier",
            username="listener", password="listener-password")),
        ("list", "account_name.list", lambda c: c.account_name.list(a)),
        ("remove", "account_name.unregister", lambda c: c.account_name.unregister(
            a, "CarrierService")),
        ("list", "account_name.list", lambda c: c.account_name.list(a)),
        ("register", "account_number.register", lambda c: c.account_number.register(
            a, service="BullseyeReporting", url=f"{hook}/hpl")),
        ("list", "account_number.list", lambda c: c.account_number.list(a)),
        ("remove", "account_number.unregister", lambda c: c.account_number.unregister(
            a, "BullseyeReporting")),
        ("list", "account_number.list", lambda c: c.account_number.list(a)),
    ]  # fmt: skip


def _summary(value: object) -> str:
    data = to_data(value)
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
    shown = {k: v for k, v in data.items() if k not in ("password", "httpHeaders", "createdOn")}
    return ", ".join(f"{k}={v}" for k, v in shown.items())


@click.command()
@json_option
def demo() -> None:
    """Register a listener in each of the six families, list it and remove it, against
    an in-process sandbox (no credentials, no network), and show what happened."""
    try:
        from ..sandbox import Sandbox
    except ModuleNotFoundError as exc:
        raise click.UsageError(
            f"the demo needs the {exc.name!r} package; install it with: "
            "pip install 'thingspace-callbacks[sandbox]'"
        ) from None
    sandbox = Sandbox()

    async def main() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        async with sandbox.client() as client:
            for step, call, operation in _plan(ACCOUNT):
                try:
                    result, ok = _summary(await operation(client)), True
                except APIStatusError as exc:
                    result, ok = exc.message, False
                family = call.partition(".")[0]
                rows.append(
                    {
                        "family": family,
                        "step": step,
                        "call": f"client.{call}",
                        "ok": ok,
                        "result": result,
                    }
                )
        return rows

    rows = run(main)
    calls = sandbox.calls
    if get_settings().json:
        output({"account": ACCOUNT, "steps": rows, "sandboxCalls": dict(calls)})
        return
    output(rows, title=f"Callback listeners of account {ACCOUNT} (embedded sandbox)")
    failed = sum(not row["ok"] for row in rows)
    click.echo(
        f"{len(rows)} calls, {failed} failed. The client fetched {calls['token']} OAuth "
        f"token and opened {calls['login']} M2M session by itself."
    )
    click.echo(
        "Next: point the same commands at ThingSpace with THINGSPACE_CLIENT_ID, "
        "THINGSPACE_CLIENT_SECRET, THINGSPACE_USERNAME and THINGSPACE_PASSWORD set, "
        "e.g. thingspace-callbacks location list <account>."
    )
