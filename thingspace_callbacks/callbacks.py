"""``client.callbacks``: the seed SDK's ``CallbacksController``, async.

Each of the seed's 20 methods keeps its name, its parameter names and their order,
accepts the seed's request models (or plain dicts) and delegates to the family
sub-client that does the work, so code written against the seed ports by adding
``await``. New code reads better with the sub-clients, which share one vocabulary
(``client.location.register(account, service=..., url=...)``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ._errors import InvalidArgumentError
from ._validation import coerce_body
from .models import (
    ConnectivityCallback,
    ConnectivityCallbackRequest,
    ConnectivityRegistration,
    DiagnosticsCallback,
    DiagnosticsCallbackRegistration,
    FirmwareCallback,
    FirmwareDeletion,
    HyperPreciseCallback,
    HyperPreciseResult,
    LocationCallback,
    LocationDeregistration,
    LocationRegistration,
    LocationServiceName,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._options import RequestOptions
    from .resources import Connectivity, Diagnostics, Firmware, HyperPrecise, Location

__all__ = ["Callbacks", "CallbacksController"]


class Families(Protocol):
    """What the facade delegates to: the client's family sub-clients."""

    @property
    def diagnostics(self) -> Diagnostics: ...
    @property
    def location(self) -> Location: ...
    @property
    def firmware(self) -> Firmware: ...
    @property
    def firmware_v3(self) -> Firmware: ...
    @property
    def connectivity(self) -> Connectivity: ...
    @property
    def hyper_precise(self) -> HyperPrecise: ...


_Body = Mapping[str, Any]


class Callbacks:
    """The seed's 20 callback operations under their seed names.

    ================================================  =========================================
    seed method                                       sub-client call
    ================================================  =========================================
    ``get_diagnostics_subscription_callback_info``    ``client.diagnostics.get``
    ``register_diagnostics_callback_url``             ``client.diagnostics.register``
    ``unregister_diagnostics_callback``               ``client.diagnostics.unregister``
    ``get_registered_callback_ur_ls``                 ``client.location.list``
    ``register_callback_url``                         ``client.location.register``
    ``deregister_callback_url``                       ``client.location.unregister``
    ``get_registered_callback_information``           ``client.firmware.get``
    ``update_https_callback_address``                 ``client.firmware.update``
    ``create_https_callback_address``                 ``client.firmware.register``
    ``delete_registered_callback``                    ``client.firmware.unregister``
    ``registered_callback_information``               ``client.firmware_v3.get``
    ``update_https_callback_address_1``               ``client.firmware_v3.update``
    ``create_https_callback_address_1``               ``client.firmware_v3.register``
    ``delete_https_callback_address``                 ``client.firmware_v3.unregister``
    ``list_callbacks_using_get``                      ``client.connectivity.list``
    ``register_callback_using_post``                  ``client.connectivity.register``
    ``unregister_callback_using_delete``              ``client.connectivity.unregister``
    ``callbacks_account_number_get``                  ``client.hyper_precise.list``
    ``callbacks_account_number_post``                 ``client.hyper_precise.register``
    ``callbacks_account_number_name_service_delete``  ``client.hyper_precise.unregister``
    ================================================  =========================================
    """

    def __init__(self, client: Families) -> None:
        self._client = client

    # Device Diagnostics

    async def get_diagnostics_subscription_callback_info(
        self, account_name: str, **options: Unpack[RequestOptions]
    ) -> DiagnosticsCallback:
        """Seed name of :meth:`Diagnostics.get`."""
        return await self._client.diagnostics.get(account_name, **options)

    async def register_diagnostics_callback_url(
        self, body: DiagnosticsCallbackRegistration | _Body, **options: Unpack[RequestOptions]
    ) -> DiagnosticsCallback:
        """Seed name of :meth:`Diagnostics.register`; the account comes from the body."""
        request = coerce_body(DiagnosticsCallbackRegistration, body, {})
        return await self._client.diagnostics.register(request.account_name, request, **options)

    async def unregister_diagnostics_callback(
        self, account_name: str, service_name: str, **options: Unpack[RequestOptions]
    ) -> DiagnosticsCallback:
        """Seed name of :meth:`Diagnostics.unregister`."""
        return await self._client.diagnostics.unregister(
            account_name, service=service_name, **options
        )

    # Device Location

    async def get_registered_callback_ur_ls(
        self, account: str, **options: Unpack[RequestOptions]
    ) -> list[LocationCallback]:
        """Seed name of :meth:`Location.list`."""
        return await self._client.location.list(account, **options)

    async def register_callback_url(
        self, account: str, body: LocationCallback | _Body, **options: Unpack[RequestOptions]
    ) -> LocationRegistration:
        """Seed name of :meth:`Location.register`."""
        return await self._client.location.register(account, body, **options)

    async def deregister_callback_url(
        self,
        account: str,
        service: LocationServiceName | str,
        **options: Unpack[RequestOptions],
    ) -> LocationDeregistration:
        """Seed name of :meth:`Location.unregister`."""
        return await self._client.location.unregister(account, service=service, **options)

    # Software Management (FOTA) v2

    async def get_registered_callback_information(
        self, account: str, **options: Unpack[RequestOptions]
    ) -> FirmwareCallback:
        """Seed name of :meth:`Firmware.get` on ``client.firmware``."""
        return await self._client.firmware.get(account, **options)

    async def update_https_callback_address(
        self, account: str, body: FirmwareCallback | _Body, **options: Unpack[RequestOptions]
    ) -> FirmwareCallback:
        """Seed name of :meth:`Firmware.update` on ``client.firmware``."""
        return await self._client.firmware.update(account, body, **options)

    async def create_https_callback_address(
        self, account: str, body: FirmwareCallback | _Body, **options: Unpack[RequestOptions]
    ) -> FirmwareCallback:
        """Seed name of :meth:`Firmware.register` on ``client.firmware``."""
        return await self._client.firmware.register(account, body, **options)

    async def delete_registered_callback(
        self, account: str, **options: Unpack[RequestOptions]
    ) -> FirmwareDeletion:
        """Seed name of :meth:`Firmware.unregister` on ``client.firmware``."""
        return await self._client.firmware.unregister(account, **options)

    # Software Management (FOTA) v3

    async def registered_callback_information(
        self, acc: str, **options: Unpack[RequestOptions]
    ) -> FirmwareCallback:
        """Seed name of :meth:`Firmware.get` on ``client.firmware_v3``."""
        return await self._client.firmware_v3.get(acc, **options)

    async def update_https_callback_address_1(
        self, acc: str, body: FirmwareCallback | _Body, **options: Unpack[RequestOptions]
    ) -> FirmwareCallback:
        """Seed name of :meth:`Firmware.update` on ``client.firmware_v3``."""
        return await self._client.firmware_v3.update(acc, body, **options)

    async def create_https_callback_address_1(
        self, acc: str, body: FirmwareCallback | _Body, **options: Unpack[RequestOptions]
    ) -> FirmwareCallback:
        """Seed name of :meth:`Firmware.register` on ``client.firmware_v3``."""
        return await self._client.firmware_v3.register(acc, body, **options)

    async def delete_https_callback_address(
        self, acc: str, **options: Unpack[RequestOptions]
    ) -> FirmwareDeletion:
        """Seed name of :meth:`Firmware.unregister` on ``client.firmware_v3``."""
        return await self._client.firmware_v3.unregister(acc, **options)

    # Connectivity Management (account name)

    async def list_callbacks_using_get(
        self, aname: str, **options: Unpack[RequestOptions]
    ) -> list[ConnectivityCallback]:
        """Seed name of :meth:`Connectivity.list`."""
        return await self._client.connectivity.list(aname, **options)

    async def register_callback_using_post(
        self,
        aname: str,
        body: ConnectivityCallbackRequest | _Body,
        **options: Unpack[RequestOptions],
    ) -> ConnectivityRegistration:
        """Seed name of :meth:`Connectivity.register`."""
        return await self._client.connectivity.register(aname, body, **options)

    async def unregister_callback_using_delete(
        self, aname: str, sname: str, **options: Unpack[RequestOptions]
    ) -> ConnectivityRegistration:
        """Seed name of :meth:`Connectivity.unregister`."""
        return await self._client.connectivity.unregister(aname, service=sname, **options)

    # Hyper Precise Location (account number)

    async def callbacks_account_number_get(
        self, account_number: str, **options: Unpack[RequestOptions]
    ) -> list[HyperPreciseCallback]:
        """Seed name of :meth:`HyperPrecise.list`."""
        return await self._client.hyper_precise.list(account_number, **options)

    async def callbacks_account_number_post(
        self,
        account_number: str,
        name: str,
        url: str,
        body: HyperPreciseCallback | _Body | None = None,
        **options: Unpack[RequestOptions],
    ) -> HyperPreciseCallback:
        """Seed name of :meth:`HyperPrecise.register`.

        ``name`` and ``url`` are sent as the seed sends them (as headers, and in the
        body built from them); a ``body`` given beside them must name the same listener.
        """
        if body is None:
            return await self._client.hyper_precise.register(
                account_number, service=name, url=url, **options
            )
        request = coerce_body(HyperPreciseCallback, body, {})
        if (request.name, request.url) != (name, url):
            raise InvalidArgumentError(
                "'body' names another listener than 'name' and 'url'; pass matching values"
            )
        return await self._client.hyper_precise.register(account_number, request, **options)

    async def callbacks_account_number_name_service_delete(
        self, account_number: str, name: str, **options: Unpack[RequestOptions]
    ) -> HyperPreciseResult:
        """Seed name of :meth:`HyperPrecise.unregister`."""
        return await self._client.hyper_precise.unregister(account_number, service=name, **options)


CallbacksController = Callbacks
"""The seed SDK's class name."""
