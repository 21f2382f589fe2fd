"""``thingspace-callbacks account-number``: Hyper Precise Location listeners."""

from __future__ import annotations

import click

from .._client import AsyncThingSpaceClient
from ..models import HyperPreciseCallback, HyperPreciseResult
from ._common import call, json_option, output

__all__ = ["account_number"]


@click.group(name="account-number")
def account_number() -> None:
    """Hyper Precise Location listeners, by account number."""


@account_number.command("list")
@click.argument("account")
@json_option
def list_(account: str) -> None:
    """List ACCOUNT's listeners."""

    async def operation(client: AsyncThingSpaceClient) -> list[HyperPreciseCallback]:
        return await client.account_number.list(account)

    output(
        call(operation),
        title=f"Hyper Precise Location listeners of {account}",
        empty="No listeners.",
    )


@account_number.command()
@click.argument("account")
@click.argument("name")
@click.argument("url")
@json_option
def register(account: str, name: str, url: str) -> None:
    """Send ACCOUNT's NAME listener messages (e.g. BullseyeReporting) to URL."""

    async def operation(client: AsyncThingSpaceClient) -> HyperPreciseCallback:
        return await client.account_number.register(account, name, url)

    output(call(operation), title="Registered")


@account_number.command()
@click.argument("account")
@click.argument("name")
@json_option
def deregister(account: str, name: str) -> None:
    """Remove ACCOUNT's NAME listener."""

    async def operation(client: AsyncThingSpaceClient) -> HyperPreciseResult:
        return await client.account_number.deregister(account, name)

    output(call(operation), title="Deregistered")
