"""The family sub-clients of :class:`ThingSpaceClient`: each method has the signature of
its async twin's (a test compares them) and runs it on the process's event loop
(:mod:`._loop`), blocking until it completes. No logic lives here: it is about 500
lines only because it forwards the twenty operations of the six families (and their
raw-response variants), a few lines each, which read best side by side."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._exports import publish
from ..resources import (
    Connectivity,
    ConnectivityWithRawResponse,
    Diagnostics,
    DiagnosticsWithRawResponse,
    Firmware,
    FirmwareWithRawResponse,
    HyperPrecise,
    HyperPreciseWithRawResponse,
    Location,
    LocationWithRawResponse,
)
from ._loop import call
from ._twin import Twin

if TYPE_CHECKING:
    from pydantic import SecretStr
    from typing_extensions import Unpack

    from .._options import RequestOptions
    from .._response import APIResponse
    from ..models import (
        ConnectivityCallback,
        ConnectivityCallbackRequest,
        ConnectivityRegistration,
        ConnectivityServiceName,
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

__all__ = [
    "SyncConnectivity",
    "SyncConnectivityWithRawResponse",
    "SyncDiagnostics",
    "SyncDiagnosticsWithRawResponse",
    "SyncFirmware",
    "SyncFirmwareWithRawResponse",
    "SyncHyperPrecise",
    "SyncHyperPreciseWithRawResponse",
    "SyncLocation",
    "SyncLocationWithRawResponse",
]


class SyncDiagnostics(Twin[Diagnostics]):
    """Register, read and remove the listener for Device Diagnostics callbacks.

    ThingSpace signs diagnostics messages with HMAC-SHA256; the registration answer
    carries the shared secret in a response header, which
    ``client.diagnostics.with_raw_response.register(...)`` exposes.

    The synchronous face of :class:`~thingspace_callbacks.resources.Diagnostics`: each
    call blocks until it completes.
    """

    def get(self, account: str, **options: Unpack[RequestOptions]) -> DiagnosticsCallback:
        """The listener registered for ``account``.

        ``GET /diagnostics/v1/callbacks?accountName=...``
        """
        return call(self._async.get(account, **options))

    def register(
        self,
        account: str,
        body: DiagnosticsCallbackRegistration | Mapping[str, Any] | None = None,
        *,
        service: str | None = None,
        url: str | None = None,
        http_headers: Mapping[str, object] | None = None,
        **options: Unpack[RequestOptions],
    ) -> DiagnosticsCallback:
        """Register (or replace) the listener ``url`` for the ``service`` of ``account``;
        ThingSpace adds ``http_headers`` to every message it sends there.

        Give either ``body`` or the keyword fields; a body without ``accountName`` gets
        ``account``. ``POST /diagnostics/v1/callbacks``
        """
        return call(
            self._async.register(
                account, body, service=service, url=url, http_headers=http_headers, **options
            )
        )

    def unregister(
        self, account: str, *, service: str, **options: Unpack[RequestOptions]
    ) -> DiagnosticsCallback:
        """Remove the listener of ``service`` for ``account``.

        ``DELETE /diagnostics/v1/callbacks?accountName=...&serviceName=...``
        """
        return call(self._async.unregister(account, service=service, **options))

    @property
    def with_raw_response(self) -> SyncDiagnosticsWithRawResponse:
        """The same operations, returning :class:`APIResponse` (status, headers, model)."""
        return SyncDiagnosticsWithRawResponse(lambda: self._async.with_raw_response)


class SyncDiagnosticsWithRawResponse(Twin[DiagnosticsWithRawResponse]):
    """:class:`SyncDiagnostics` operations that return :class:`APIResponse`."""

    def get(
        self, account: str, **options: Unpack[RequestOptions]
    ) -> APIResponse[DiagnosticsCallback]:
        """Same as :meth:`SyncDiagnostics.get`, returning the :class:`APIResponse`."""
        return call(self._async.get(account, **options))

    def register(
        self,
        account: str,
        body: DiagnosticsCallbackRegistration | Mapping[str, Any] | None = None,
        *,
        service: str | None = None,
        url: str | None = None,
        http_headers: Mapping[str, object] | None = None,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[DiagnosticsCallback]:
        """Same as :meth:`SyncDiagnostics.register`, returning the :class:`APIResponse`."""
        return call(
            self._async.register(
                account, body, service=service, url=url, http_headers=http_headers, **options
            )
        )

    def unregister(
        self, account: str, *, service: str, **options: Unpack[RequestOptions]
    ) -> APIResponse[DiagnosticsCallback]:
        """Same as :meth:`SyncDiagnostics.unregister`, returning the :class:`APIResponse`."""
        return call(self._async.unregister(account, service=service, **options))


class SyncLocation(Twin[Location]):
    """Register, list and remove Device Location listeners (services ``Location`` and
    ``DeviceLocation``).

    The registration answer carries the shared secret for the HMAC-SHA256 signatures of
    later messages in a response header; call
    ``client.location.with_raw_response.register(...)`` and read ``.headers`` to keep it.

    The synchronous face of :class:`~thingspace_callbacks.resources.Location`: each
    call blocks until it completes.
    """

    def list(
        self, account: str, **options: Unpack[RequestOptions]
    ) -> builtins.list[LocationCallback]:
        """Every listener registered for ``account``. ``GET /loc/v1/callbacks/{account}``"""
        return call(self._async.list(account, **options))

    def register(
        self,
        account: str,
        body: LocationCallback | Mapping[str, Any] | None = None,
        *,
        service: LocationServiceName | str | None = None,
        url: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> LocationRegistration:
        """Send the ``service`` messages of ``account`` to ``url``.

        Give either ``body`` or ``service`` and ``url``. ``POST /loc/v1/callbacks/{account}``
        """
        return call(self._async.register(account, body, service=service, url=url, **options))

    def unregister(
        self, account: str, *, service: LocationServiceName | str, **options: Unpack[RequestOptions]
    ) -> LocationDeregistration:
        """Stop the ``service`` messages of ``account``.

        ``DELETE /loc/v1/callbacks/{account}/name/{service}``
        """
        return call(self._async.unregister(account, service=service, **options))

    @property
    def with_raw_response(self) -> SyncLocationWithRawResponse:
        """The same operations, returning :class:`APIResponse` (status, headers, model)."""
        return SyncLocationWithRawResponse(lambda: self._async.with_raw_response)


class SyncLocationWithRawResponse(Twin[LocationWithRawResponse]):
    """:class:`SyncLocation` operations that return :class:`APIResponse`."""

    def list(
        self, account: str, **options: Unpack[RequestOptions]
    ) -> APIResponse[builtins.list[LocationCallback]]:
        """Same as :meth:`SyncLocation.list`, returning the :class:`APIResponse`."""
        return call(self._async.list(account, **options))

    def register(
        self,
        account: str,
        body: LocationCallback | Mapping[str, Any] | None = None,
        *,
        service: LocationServiceName | str | None = None,
        url: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[LocationRegistration]:
        """Same as :meth:`SyncLocation.register`, returning the :class:`APIResponse`."""
        return call(self._async.register(account, body, service=service, url=url, **options))

    def unregister(
        self, account: str, *, service: LocationServiceName | str, **options: Unpack[RequestOptions]
    ) -> APIResponse[LocationDeregistration]:
        """Same as :meth:`SyncLocation.unregister`, returning the :class:`APIResponse`."""
        return call(self._async.unregister(account, service=service, **options))


class SyncFirmware(Twin[Firmware]):
    """Register, read, update and remove the HTTPS listener of a Software Management
    (FOTA) account. One listener per account (so no service argument); ThingSpace
    sends firmware availability and upgrade progress there.

    ``client.firmware`` speaks FOTA v2 (``/fota/v2/callbacks/{account}``),
    ``client.firmware_v3`` FOTA v3 (``/fota/v3/callbacks/{acc}``); the operations are
    the same.

    The synchronous face of :class:`~thingspace_callbacks.resources.Firmware`: each
    call blocks until it completes.
    """

    def get(self, account: str, **options: Unpack[RequestOptions]) -> FirmwareCallback:
        """The listener registered for ``account``. ``GET .../callbacks/{account}``"""
        return call(self._async.get(account, **options))

    def register(
        self,
        account: str,
        body: FirmwareCallback | Mapping[str, Any] | None = None,
        *,
        url: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> FirmwareCallback:
        """Register ``url`` as the listener of ``account``. ``POST .../callbacks/{account}``

        Give either ``body`` or ``url``.
        """
        return call(self._async.register(account, body, url=url, **options))

    def update(
        self,
        account: str,
        body: FirmwareCallback | Mapping[str, Any] | None = None,
        *,
        url: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> FirmwareCallback:
        """Point the listener of ``account`` at ``url``. ``PUT .../callbacks/{account}``"""
        return call(self._async.update(account, body, url=url, **options))

    def unregister(self, account: str, **options: Unpack[RequestOptions]) -> FirmwareDeletion:
        """Remove the listener of ``account``. ``DELETE .../callbacks/{account}``"""
        return call(self._async.unregister(account, **options))

    @property
    def with_raw_response(self) -> SyncFirmwareWithRawResponse:
        """The same operations, returning :class:`APIResponse` (status, headers, model)."""
        return SyncFirmwareWithRawResponse(lambda: self._async.with_raw_response)


class SyncFirmwareWithRawResponse(Twin[FirmwareWithRawResponse]):
    """:class:`SyncFirmware` operations that return :class:`APIResponse`."""

    def get(self, account: str, **options: Unpack[RequestOptions]) -> APIResponse[FirmwareCallback]:
        """Same as :meth:`SyncFirmware.get`, returning the :class:`APIResponse`."""
        return call(self._async.get(account, **options))

    def register(
        self,
        account: str,
        body: FirmwareCallback | Mapping[str, Any] | None = None,
        *,
        url: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[FirmwareCallback]:
        """Same as :meth:`SyncFirmware.register`, returning the :class:`APIResponse`."""
        return call(self._async.register(account, body, url=url, **options))

    def update(
        self,
        account: str,
        body: FirmwareCallback | Mapping[str, Any] | None = None,
        *,
        url: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[FirmwareCallback]:
        """Same as :meth:`SyncFirmware.update`, returning the :class:`APIResponse`."""
        return call(self._async.update(account, body, url=url, **options))

    def unregister(
        self, account: str, **options: Unpack[RequestOptions]
    ) -> APIResponse[FirmwareDeletion]:
        """Same as :meth:`SyncFirmware.unregister`, returning the :class:`APIResponse`."""
        return call(self._async.unregister(account, **options))


class SyncConnectivity(Twin[Connectivity]):
    """Register, list and remove Connectivity Management (M2M) listeners of an account,
    one per service (``CarrierService``, ``DeviceUsage``, ...).

    ThingSpace sends the ``username`` and ``password`` given at registration in the body
    of every message, so the listener can check them.

    The synchronous face of :class:`~thingspace_callbacks.resources.Connectivity`: each
    call blocks until it completes.
    """

    def list(
        self, account: str, **options: Unpack[RequestOptions]
    ) -> builtins.list[ConnectivityCallback]:
        """Every listener registered for ``account``. ``GET /m2m/v1/callbacks/{aname}``

        An account with no listener answers an empty body, returned as ``[]``.
        """
        return call(self._async.list(account, **options))

    def register(
        self,
        account: str,
        body: ConnectivityCallbackRequest | Mapping[str, Any] | None = None,
        *,
        service: ConnectivityServiceName | str | None = None,
        url: str | None = None,
        username: str | None = None,
        password: str | SecretStr | None = None,
        **options: Unpack[RequestOptions],
    ) -> ConnectivityRegistration:
        """Send the ``service`` messages of ``account`` to ``url``, with ``username`` and
        ``password`` in each.

        Give either ``body`` or the keyword fields. ``POST /m2m/v1/callbacks/{aname}``
        """
        return call(
            self._async.register(
                account,
                body,
                service=service,
                url=url,
                username=username,
                password=password,
                **options,
            )
        )

    def unregister(
        self,
        account: str,
        *,
        service: ConnectivityServiceName | str,
        **options: Unpack[RequestOptions],
    ) -> ConnectivityRegistration:
        """Stop the ``service`` messages of ``account``.

        ``DELETE /m2m/v1/callbacks/{aname}/name/{sname}``
        """
        return call(self._async.unregister(account, service=service, **options))

    @property
    def with_raw_response(self) -> SyncConnectivityWithRawResponse:
        """The same operations, returning :class:`APIResponse` (status, headers, model)."""
        return SyncConnectivityWithRawResponse(lambda: self._async.with_raw_response)


class SyncConnectivityWithRawResponse(Twin[ConnectivityWithRawResponse]):
    """:class:`SyncConnectivity` operations that return :class:`APIResponse`."""

    def list(
        self, account: str, **options: Unpack[RequestOptions]
    ) -> APIResponse[builtins.list[ConnectivityCallback]]:
        """Same as :meth:`SyncConnectivity.list`, returning the :class:`APIResponse`."""
        return call(self._async.list(account, **options))

    def register(
        self,
        account: str,
        body: ConnectivityCallbackRequest | Mapping[str, Any] | None = None,
        *,
        service: ConnectivityServiceName | str | None = None,
        url: str | None = None,
        username: str | None = None,
        password: str | SecretStr | None = None,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[ConnectivityRegistration]:
        """Same as :meth:`SyncConnectivity.register`, returning the :class:`APIResponse`."""
        return call(
            self._async.register(
                account,
                body,
                service=service,
                url=url,
                username=username,
                password=password,
                **options,
            )
        )

    def unregister(
        self,
        account: str,
        *,
        service: ConnectivityServiceName | str,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[ConnectivityRegistration]:
        """Same as :meth:`SyncConnectivity.unregister`, returning the :class:`APIResponse`."""
        return call(self._async.unregister(account, service=service, **options))


class SyncHyperPrecise(Twin[HyperPrecise]):
    """Register, list and remove Hyper Precise Location listeners of an account number.

    The synchronous face of :class:`~thingspace_callbacks.resources.HyperPrecise`: each
    call blocks until it completes.
    """

    def list(
        self, account: str, **options: Unpack[RequestOptions]
    ) -> builtins.list[HyperPreciseCallback]:
        """Every listener registered for ``account``.

        ``GET /hyper-precise/v1/callbacks?accountNumber=...``
        """
        return call(self._async.list(account, **options))

    def register(
        self,
        account: str,
        body: HyperPreciseCallback | Mapping[str, Any] | None = None,
        *,
        service: str | None = None,
        url: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> HyperPreciseCallback:
        """Send the ``service`` messages of ``account`` to ``url``.

        Give either ``body`` or ``service`` and ``url``; a body without ``aname`` (or
        ``accountName``) gets ``account``.
        ``POST /hyper-precise/v1/callbacks?accountNumber=...``: older servers read the
        listener from the ``name`` and ``url`` request headers, newer ones from the JSON
        body ``{aname, name, url}``; both are sent. The answer names the account ``aname``
        or, in Verizon's newest SDK, ``accountName``; either fills
        :attr:`HyperPreciseCallback.aname`.
        """
        return call(self._async.register(account, body, service=service, url=url, **options))

    def unregister(
        self, account: str, *, service: str, **options: Unpack[RequestOptions]
    ) -> HyperPreciseResult:
        """Stop the ``service`` messages of ``account``.

        ``DELETE /hyper-precise/v1/callbacks?accountNumber=...&service=...``. The seed
        SDK names the query parameter ``name``, newer Verizon SDKs ``service``; both are
        sent.
        """
        return call(self._async.unregister(account, service=service, **options))

    @property
    def with_raw_response(self) -> SyncHyperPreciseWithRawResponse:
        """The same operations, returning :class:`APIResponse` (status, headers, model)."""
        return SyncHyperPreciseWithRawResponse(lambda: self._async.with_raw_response)


class SyncHyperPreciseWithRawResponse(Twin[HyperPreciseWithRawResponse]):
    """:class:`SyncHyperPrecise` operations that return :class:`APIResponse`."""

    def list(
        self, account: str, **options: Unpack[RequestOptions]
    ) -> APIResponse[builtins.list[HyperPreciseCallback]]:
        """Same as :meth:`SyncHyperPrecise.list`, returning the :class:`APIResponse`."""
        return call(self._async.list(account, **options))

    def register(
        self,
        account: str,
        body: HyperPreciseCallback | Mapping[str, Any] | None = None,
        *,
        service: str | None = None,
        url: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> APIResponse[HyperPreciseCallback]:
        """Same as :meth:`SyncHyperPrecise.register`, returning the :class:`APIResponse`."""
        return call(self._async.register(account, body, service=service, url=url, **options))

    def unregister(
        self, account: str, *, service: str, **options: Unpack[RequestOptions]
    ) -> APIResponse[HyperPreciseResult]:
        """Same as :meth:`SyncHyperPrecise.unregister`, returning the :class:`APIResponse`."""
        return call(self._async.unregister(account, service=service, **options))


publish(globals())  # exported classes report the package as their module
