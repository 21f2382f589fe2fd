"""``thingspace-callbacks firmware`` and ``firmware-v3``: Software Management (FOTA)
listeners, one per account."""

from __future__ import annotations

from typing import Literal

import click

from .._client import AsyncThingSpaceClient
from ..models import FirmwareCallback, FirmwareDeletion
from ..resources import Firmware
from ._common import call, json_option, output

__all__ = ["firmware", "firmware_v3"]


def _group(version: Literal["v2", "v3"]) -> click.Group:
    def resource(client: AsyncThingSpaceClient) -> Firmware:
        return client.firmware if version == "v2" else client.firmware_v3

    label = f"FOTA {version}"

    @click.group(name="firmware" if version == "v2" else "firmware-v3")
    def group() -> None:
        pass

    group.help = f"Software Management ({label}) listeners: one per account."

    @group.command()
    @click.argument("account")
    @json_option
    def get(account: str) -> None:
        """Show ACCOUNT's listener."""

        async def operation(client: AsyncThingSpaceClient) -> FirmwareCallback:
            return await resource(client).get(account)

        output(call(operation), title=f"{label} listener of {account}")

    @group.command()
    @click.argument("account")
    @click.argument("url")
    @json_option
    def register(account: str, url: str) -> None:
        """Register URL as ACCOUNT's listener."""

        async def operation(client: AsyncThingSpaceClient) -> FirmwareCallback:
            return await resource(client).register(account, url=url)

        output(call(operation), title="Registered")

    @group.command()
    @click.argument("account")
    @click.argument("url")
    @json_option
    def update(account: str, url: str) -> None:
        """Point ACCOUNT's listener at URL."""

        async def operation(client: AsyncThingSpaceClient) -> FirmwareCallback:
            return await resource(client).update(account, url=url)

        output(call(operation), title="Updated")

    @group.command()
    @click.argument("account")
    @json_option
    def unregister(account: str) -> None:
        """Remove ACCOUNT's listener."""

        async def operation(client: AsyncThingSpaceClient) -> FirmwareDeletion:
            return await resource(client).unregister(account)

        output(call(operation), title="Unregistered")

    return group


firmware = _group("v2")
firmware_v3 = _group("v3")
