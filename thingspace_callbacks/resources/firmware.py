"""Software Management (FOTA) listeners: ``client.firmware`` (v2) and
``client.firmware_v3`` (v3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from .._families import family
from .._pipeline import Endpoint
from .._validation import account_segment, callback_url, coerce_body
from ..models.firmware import FirmwareCallback, FirmwareDeletion
from ._base import Resource, raw

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._options import RequestOptions
    from .._pipeline import Pipeline

__all__ = ["Firmware", "FirmwareWithRawResponse"]


class _Endpoints:
    __slots__ = ("get", "register", "unregister", "update")

    def __init__(self, name: str) -> None:
        fota = family(name)
        self.get = Endpoint[FirmwareCallback](*fota.endpoint("get"), FirmwareCallback)
        self.register = Endpoint[FirmwareCallback](*fota.endpoint("register"), FirmwareCallback)
        self.update = Endpoint[FirmwareCallback](*fota.endpoint("update"), FirmwareCallback)
        self.unregister = Endpoint[FirmwareDeletion](*fota.endpoint("unregister"), FirmwareDeletion)


_ENDPOINTS = {"v2": _Endpoints("firmware"), "v3": _Endpoints("firmware_v3")}


class Firmware(Resource):
    """Register, read, update and remove the HTTPS listener of a Software Management
    (FOTA) account. One listener per account (so no service argument); ThingSpace
    sends firmware availability and upgrade progress there.

    ``client.firmware`` speaks FOTA v2 (``/fota/v2/callbacks/{account}``),
    ``client.firmware_v3`` FOTA v3 (``/fota/v3/callbacks/{acc}``); the operations are
    the same.
    """

    def __init__(
        self, pipeline: Pipeline, *, version: Literal["v2", "v3"] = "v2", raw: bool = False
    ) -> None:
        super().__init__(pipeline, raw=raw)
        self._version: Literal["v2", "v3"] = version
        self._endpoints = _ENDPOINTS[version]

    async def get(self, account: str, **options: Unpack[RequestOptions]) -> FirmwareCallback:
        """The listener registered for ``account``. ``GET .../callbacks/{account}``"""
        return await self._call(
            self._endpoints.get, options, path={"account": account_segment(account)}
        )

    async def register(
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
        return await self._send_url(self._endpoints.register, account, body, url, options)

    async def update(
        self,
        account: str,
        body: FirmwareCallback | Mapping[str, Any] | None = None,
        *,
        url: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> FirmwareCallback:
        """Point the listener of ``account`` at ``url``. ``PUT .../callbacks/{account}``"""
        return await self._send_url(self._endpoints.update, account, body, url, options)

    async def unregister(self, account: str, **options: Unpack[RequestOptions]) -> FirmwareDeletion:
        """Remove the listener of ``account``. ``DELETE .../callbacks/{account}``"""
        return await self._call(
            self._endpoints.unregister, options, path={"account": account_segment(account)}
        )

    async def _send_url(
        self,
        endpoint: Endpoint[FirmwareCallback],
        account: str,
        body: FirmwareCallback | Mapping[str, Any] | None,
        url: str | None,
        options: RequestOptions,
    ) -> FirmwareCallback:
        segment = account_segment(account)
        request = coerce_body(FirmwareCallback, body, {"url": url})
        callback_url(request.url)
        return await self._call(endpoint, options, path={"account": segment}, body=request)

    @property
    def with_raw_response(self) -> FirmwareWithRawResponse:
        """The same operations, returning :class:`APIResponse` (status, headers, model)."""
        return FirmwareWithRawResponse(Firmware(self._pipeline, version=self._version, raw=True))


class FirmwareWithRawResponse:
    """:class:`Firmware` operations that return :class:`APIResponse`."""

    def __init__(self, resource: Firmware) -> None:
        self.get = raw(resource.get)
        self.register = raw(resource.register)
        self.update = raw(resource.update)
        self.unregister = raw(resource.unregister)
