"""``thingspace-callbacks location``: Device Location listeners."""

from __future__ import annotations

import click

from .._client import AsyncThingSpaceClient
from .._constants import SHARED_SECRET_HEADER
from ..models import LocationCallback, LocationDeregistration
from ._common import call, json_option, output

__all__ = ["location"]


@click.group()
def location() -> None:
    """Device Location listeners (services Location and DeviceLocation)."""


@location.command("list")
@click.argument("account")
@json_option
def list_(account: str) -> None:
    """List the listeners of ACCOUNT."""

    async def operation(client: AsyncThingSpaceClient) -> list[LocationCallback]:
        return await client.location.list(account)

    output(call(operation), title=f"Location listeners of {account}", empty="No listeners.")


@location.command()
@click.argument("account")
@click.argument("service", metavar="SERVICE")
@click.argument("url")
@click.option("--show-secret", is_flag=True, help="Print the shared secret for signatures.")
@click.option(
    "--secret-header",
    default=SHARED_SECRET_HEADER,
    show_default=True,
    help="Answer header carrying the shared secret.",
)
@json_option
def register(account: str, service: str, url: str, show_secret: bool, secret_header: str) -> None:
    """Send ACCOUNT's SERVICE messages (Location or DeviceLocation) to URL.

    ThingSpace signs those messages with a shared secret it returns only now: use
    --show-secret to print it and keep it for your listener.
    """

    async def operation(client: AsyncThingSpaceClient) -> dict[str, object]:
        raw = await client.location.with_raw_response.register(account, service=service, url=url)
        registration = raw.parse()
        return {
            "accountName": registration.account_id,
            "serviceName": str(registration.service) if registration.service else None,
            "sharedSecret": raw.headers.get(secret_header),
        }

    output(call(operation), title="Registered", show_secrets=show_secret)


@location.command()
@click.argument("account")
@click.argument("service")
@json_option
def unregister(account: str, service: str) -> None:
    """Stop sending ACCOUNT's SERVICE messages."""

    async def operation(client: AsyncThingSpaceClient) -> LocationDeregistration:
        return await client.location.unregister(account, service=service)

    output(call(operation), title="Unregistered")
