"""``thingspace-callbacks hyper-precise``: Hyper Precise Location listeners."""

from __future__ import annotations

import click

from .._client import AsyncThingSpaceClient
from ..models import HyperPreciseCallback, HyperPreciseResult
from ._common import call, json_option, output

__all__ = ["hyper_precise"]


@click.group(name="hyper-precise")
def hyper_precise() -> None:
    """Hyper Precise Location listeners, by account number."""


@hyper_precise.command("list")
@click.argument("account")
@json_option
def list_(account: str) -> None:
    """List ACCOUNT's listeners."""

    async def operation(client: AsyncThingSpaceClient) -> list[HyperPreciseCallback]:
        return await client.hyper_precise.list(account)

    output(
        call(operation),
        title=f"Hyper Precise Location listeners of {account}",
        empty="No listeners.",
    )


@hyper_precise.command()
@click.argument("account")
@click.argument("service")
@click.argument("url")
@json_option
def register(account: str, service: str, url: str) -> None:
    """Send ACCOUNT's SERVICE messages (e.g. BullseyeReporting) to URL."""

    async def operation(client: AsyncThingSpaceClient) -> HyperPreciseCallback:
        return await client.hyper_precise.register(account, service=service, url=url)

    output(call(operation), title="Registered")


@hyper_precise.command()
@click.argument("account")
@click.argument("service")
@json_option
def unregister(account: str, service: str) -> None:
    """Remove ACCOUNT's SERVICE listener."""

    async def operation(client: AsyncThingSpaceClient) -> HyperPreciseResult:
        return await client.hyper_precise.unregister(account, service=service)

    output(call(operation), title="Unregistered")
