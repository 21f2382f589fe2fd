"""``thingspace-callbacks connectivity``: Connectivity Management (M2M) listeners."""

from __future__ import annotations

import click

from .._client import AsyncThingSpaceClient
from ..models import ConnectivityCallback, ConnectivityRegistration
from ._common import call, json_option, output

__all__ = ["connectivity"]


@click.group(name="connectivity")
def connectivity() -> None:
    """Connectivity Management (M2M) listeners, by account name."""


@connectivity.command("list")
@click.argument("account")
@click.option("--show-secrets", is_flag=True, help="Print the listeners' passwords.")
@json_option
def list_(account: str, show_secrets: bool) -> None:
    """List ACCOUNT's listeners."""

    async def operation(client: AsyncThingSpaceClient) -> list[ConnectivityCallback]:
        return await client.connectivity.list(account)

    output(
        call(operation),
        title=f"Connectivity Management listeners of {account}",
        empty="No listeners.",
        show_secrets=show_secrets,
    )


@connectivity.command()
@click.argument("account")
@click.argument("service")
@click.argument("url")
@click.option(
    "--callback-username", metavar="NAME", help="Username ThingSpace puts in each message."
)
@click.option(
    "--callback-password",
    metavar="PASSWORD",
    envvar="THINGSPACE_CALLBACK_PASSWORD",
    help="Password ThingSpace puts in each message [$THINGSPACE_CALLBACK_PASSWORD].",
)
@json_option
def register(
    account: str,
    service: str,
    url: str,
    callback_username: str | None,
    callback_password: str | None,
) -> None:
    """Send ACCOUNT's SERVICE messages (CarrierService, DeviceUsage...) to URL."""

    async def operation(client: AsyncThingSpaceClient) -> ConnectivityRegistration:
        return await client.connectivity.register(
            account,
            service=service,
            url=url,
            username=callback_username,
            password=callback_password,
        )

    output(call(operation), title="Registered")


@connectivity.command()
@click.argument("account")
@click.argument("service")
@json_option
def unregister(account: str, service: str) -> None:
    """Stop sending ACCOUNT's SERVICE messages."""

    async def operation(client: AsyncThingSpaceClient) -> ConnectivityRegistration:
        return await client.connectivity.unregister(account, service=service)

    output(call(operation), title="Unregistered")
