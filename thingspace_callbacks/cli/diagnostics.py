"""``thingspace-callbacks diagnostics``: Device Diagnostics listeners."""

from __future__ import annotations

import click

from .._client import AsyncThingSpaceClient
from .._constants import SHARED_SECRET_HEADER
from ..models import DiagnosticsCallback
from ._common import call, json_option, output

__all__ = ["diagnostics"]


@click.group()
def diagnostics() -> None:
    """Device Diagnostics listeners."""


@diagnostics.command()
@click.argument("account")
@json_option
def get(account: str) -> None:
    """Show the listener registered for ACCOUNT."""

    async def operation(client: AsyncThingSpaceClient) -> DiagnosticsCallback:
        return await client.diagnostics.get(account)

    output(call(operation), title=f"Diagnostics listener of {account}")


def _headers(values: tuple[str, ...]) -> dict[str, object]:
    headers: dict[str, object] = {}
    for value in values:
        name, sep, content = value.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(f"expected NAME=VALUE, got {value!r}", param_hint="--header")
        headers[name.strip()] = content
    return headers


@diagnostics.command()
@click.argument("account")
@click.argument("service")
@click.argument("url")
@click.option(
    "--header",
    "headers",
    multiple=True,
    metavar="NAME=VALUE",
    help="An HTTP header stored with the listener (repeatable).",
)
@click.option("--show-secret", is_flag=True, help="Print the shared secret for signatures.")
@click.option(
    "--secret-header",
    default=SHARED_SECRET_HEADER,
    show_default=True,
    help="Answer header carrying the shared secret.",
)
@json_option
def register(
    account: str,
    service: str,
    url: str,
    headers: tuple[str, ...],
    show_secret: bool,
    secret_header: str,
) -> None:
    """Send ACCOUNT's SERVICE messages (e.g. Diagnostics) to URL.

    ThingSpace signs those messages with a shared secret it returns only now: use
    --show-secret to print it and keep it for your listener.
    """
    http_headers = _headers(headers)

    async def operation(client: AsyncThingSpaceClient) -> dict[str, object]:
        raw = await client.diagnostics.with_raw_response.register(
            account,
            service=service,
            url=url,
            http_headers=http_headers or None,
        )
        data = raw.parse().model_dump(mode="json", by_alias=True, exclude_none=True)
        data["sharedSecret"] = raw.headers.get(secret_header)
        return data

    output(call(operation), title="Registered", show_secrets=show_secret)


@diagnostics.command()
@click.argument("account")
@click.argument("service")
@json_option
def unregister(account: str, service: str) -> None:
    """Remove ACCOUNT's SERVICE listener."""

    async def operation(client: AsyncThingSpaceClient) -> DiagnosticsCallback:
        return await client.diagnostics.unregister(account, service=service)

    output(call(operation), title="Unregistered")
