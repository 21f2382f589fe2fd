"""``ThingSpaceClient.callbacks``: the seed SDK's ``CallbacksController``, synchronous,
as the seed itself is. Each method has the signature of its twin in
:class:`~thingspace_callbacks.callbacks.Callbacks` (a test compares them) and runs it on
the process's event loop, so code written against the seed ports unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._exports import publish
from ..callbacks import Callbacks
from ._loop import call
from ._twin import Twin

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._options import RequestOptions
    from ..models import (
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

__all__ = ["SyncCallbacks"]

_Body = Mapping[str, Any]


class SyncCallbacks(Twin[Callbacks]):
    """The seed's 20 callback operations under their seed names, blocking; see
    :class:`~thingspace_callbacks.callbacks.Callbacks` for the sub-client call each
    one stands for."""

    def get_diagnostics_subscription_callback_info(
        self, account_name: str, **options: Unpack[RequestOptions]
    ) -> DiagnosticsCallback:
        """Seed name of :meth:`Diagnostics.get`."""
        return call(self._async.get_diagnostics_subscription_callback_info(account_name, **options))

    def register_diagnostics_callback_url(
        self, body: DiagnosticsCallbackRegistration | _Body, **options: Unpack[RequestOptions]
    ) -> DiagnosticsCallback:
        """Seed name of :meth:`Diagnostics.register`; the account comes from the body."""
        return call(self._async.register_diagnostics_callback_url(body, **options))

    def unregister_diagnostics_callback(
        self, account_name: str, service_name: str, **options: Unpack[RequestOptions]
    ) -> DiagnosticsCallback:
        """Seed name of :meth:`Diagnostics.unregister`."""
        return call(
            self._async.unregister_diagnostics_callback(account_name, service_name, **options)
        )

    def get_registered_callback_ur_ls(
        self, account: str, **options: Unpack[RequestOptions]
    ) -> list[LocationCallback]:
        """Seed name of :meth:`Location.list`."""
        return call(self._async.get_registered_callback_ur_ls(account, **options))

    def register_callback_url(
        self, account: str, body: LocationCallback | _Body, **options: Unpack[RequestOptions]
    ) -> LocationRegistration:
        """Seed name of :meth:`Location.register`."""
        return call(self._async.register_callback_url(account, body, **options))

    def deregister_callback_url(
        self, account: str, service: LocationServiceName | str, **options: Unpack[RequestOptions]
    ) -> LocationDeregistration:
        """Seed name of :meth:`Location.unregister`."""
        return call(self._async.deregister_callback_url(account, service, **options))

    def get_registered_callback_information(
        self, account: str, **options: Unpack[RequestOptions]
    ) -> FirmwareCallback:
        """Seed name of :meth:`Firmware.get` on ``client.firmware``."""
        return call(self._async.get_registered_callback_information(account, **options))

    def update_https_callback_address(
        self, account: str, body: FirmwareCallback | _Body, **options: Unpack[RequestOptions]
    ) -> FirmwareCallback:
        """Seed name of :meth:`Firmware.update` on ``client.firmware``."""
        return call(self._async.update_https_callback_address(account, body, **options))

    def create_https_callback_address(
        self, account: str, body: FirmwareCallback | _Body, **options: Unpack[RequestOptions]
    ) -> FirmwareCallback:
        """Seed name of :meth:`Firmware.register` on ``client.firmware``."""
        return call(self._async.create_https_callback_address(account, body, **options))

    def delete_registered_callback(
        self, account: str, **options: Unpack[RequestOptions]
    ) -> FirmwareDeletion:
        """Seed name of :meth:`Firmware.unregister` on ``client.firmware``."""
        return call(self._async.delete_registered_callback(account, **options))

    def registered_callback_information(
        self, acc: str, **options: Unpack[RequestOptions]
    ) -> FirmwareCallback:
        """Seed name of :meth:`Firmware.get` on ``client.firmware_v3``."""
        return call(self._async.registered_callback_information(acc, **options))

    def update_https_callback_address_1(
        self, acc: str, body: FirmwareCallback | _Body, **options: Unpack[RequestOptions]
    ) -> FirmwareCallback:
        """Seed name of :meth:`Firmware.update` on ``client.firmware_v3``."""
        return call(self._async.update_https_callback_address_1(acc, body, **options))

    def create_https_callback_address_1(
        self, acc: str, body: FirmwareCallback | _Body, **options: Unpack[RequestOptions]
    ) -> FirmwareCallback:
        """Seed name of :meth:`Firmware.register` on ``client.firmware_v3``."""
        return call(self._async.create_https_callback_address_1(acc, body, **options))

    def delete_https_callback_address(
        self, acc: str, **options: Unpack[RequestOptions]
    ) -> FirmwareDeletion:
        """Seed name of :meth:`Firmware.unregister` on ``client.firmware_v3``."""
        return call(self._async.delete_https_callback_address(acc, **options))

    def list_callbacks_using_get(
        self, aname: str, **options: Unpack[RequestOptions]
    ) -> list[ConnectivityCallback]:
        """Seed name of :meth:`Connectivity.list`."""
        return call(self._async.list_callbacks_using_get(aname, **options))

    def register_callback_using_post(
        self,
        aname: str,
        body: ConnectivityCallbackRequest | _Body,
        **options: Unpack[RequestOptions],
    ) -> ConnectivityRegistration:
        """Seed name of :meth:`Connectivity.register`."""
        return call(self._async.register_callback_using_post(aname, body, **options))

    def unregister_callback_using_delete(
        self, aname: str, sname: str, **options: Unpack[RequestOptions]
    ) -> ConnectivityRegistration:
        """Seed name of :meth:`Connectivity.unregister`."""
        return call(self._async.unregister_callback_using_delete(aname, sname, **options))

    def callbacks_account_number_get(
        self, account_number: str, **options: Unpack[RequestOptions]
    ) -> list[HyperPreciseCallback]:
        """Seed name of :meth:`HyperPrecise.list`."""
        return call(self._async.callbacks_account_number_get(account_number, **options))

    def callbacks_account_number_post(
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
        return call(
            self._async.callbacks_account_number_post(account_number, name, url, body, **options)
        )

    def callbacks_account_number_name_service_delete(
        self, account_number: str, name: str, **options: Unpack[RequestOptions]
    ) -> HyperPreciseResult:
        """Seed name of :meth:`HyperPrecise.unregister`."""
        return call(
            self._async.callbacks_account_number_name_service_delete(
                account_number, name, **options
            )
        )


publish(globals())  # exported classes report the package as their module
