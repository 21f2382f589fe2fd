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
@click.argument("service")
@click.argument("url")
@json_option
def register(account: str, service: str, url: str) -> None:
    """Send ACCOUNT's SERVICE messages (e.g. BullseyeReporting) to URL."""

    async def operation(client: AsyncThingSpaceClient) -> HyperPreciseCallback:
        return await client.account_number.register(account, service=service, url=url)

    output(call(operation), title="Registered")


@account_number.command()
@click.argument("account")
@click.argument("service")
@json_option
def unregister(account: str, service: str) -> None:
    """Remove ACCOUNT's SERVICE listener."""

    async def operation(client: AsyncThingSpaceClient) -> HyperPreciseResult:
        return await client.account_number.unregister(account, service)

    output(call(operation), title="Unregistered")
