"""Software Management (FOTA) listeners: ``client.firmware`` (v2) and
``client.firmware_v3`` (v3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from .._pipeline import Endpoint
from .._validation import callback_url, coerce_body, path_segment
from ..models.firmware import FirmwareCallback, FirmwareDeletion
from ._base import Resource, raw

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._pipeline import Pipeline
    from .._types import RequestOptions

__all__ = ["Firmware", "FirmwareWithRawResponse"]


class _Endpoints:
    __slots__ = ("create", "delete", "get", "update")

    def __init__(self, version: str) -> None:
        path = f"/fota/{version}/callbacks/{{account}}"
        name = f"firmware_{version}"
        self.get = Endpoint[FirmwareCallback](f"{name}.get", "GET", path, FirmwareCallback)
        self.create = Endpoint[FirmwareCallback](f"{name}.create", "POST", path, FirmwareCallback)
        self.update = Endpoint[FirmwareCallback](f"{name}.update", "PUT", path, FirmwareCallback)
        self.delete = Endpoint[FirmwareDeletion](f"{name}.delete", "DELETE", path, FirmwareDeletion)


_ENDPOINTS = {"v2": _Endpoints("v2"), "v3": _Endpoints("v3")}


class Firmware(Resource):
    """Create, read, update and delete the HTTPS listener of a Software Management
    (FOTA) account. One listener per account; ThingSpace sends firmware availability
    and upgrade progress there.

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
            self._endpoints.get, options, path={"account": path_segment(account, "account")}
        )

    async def create(
        self,
        account: str,
        body: FirmwareCallback | Mapping[str, Any] | None = None,
        *,
        url: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> FirmwareCallback:
        """Register ``url`` as the account's listener. ``POST .../callbacks/{account}``"""
        return await self._send_url(self._endpoints.create, account, body, url, options)

    async def update(
        self,
        account: str,
        body: FirmwareCallback | Mapping[str, Any] | None = None,
        *,
        url: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> FirmwareCallback:
        """Point the account's listener at ``url``. ``PUT .../callbacks/{account}``"""
        return await self._send_url(self._endpoints.update, account, body, url, options)

    async def delete(self, account: str, **options: Unpack[RequestOptions]) -> FirmwareDeletion:
        """Remove the account's listener. ``DELETE .../callbacks/{account}``"""
        return await self._call(
            self._endpoints.delete, options, path={"account": path_segment(account, "account")}
        )

    async def _send_url(
        self,
        endpoint: Endpoint[FirmwareCallback],
        account: str,
        body: FirmwareCallback | Mapping[str, Any] | None,
        url: str | None,
        options: RequestOptions,
    ) -> FirmwareCallback:
        segment = path_segment(account, "account")
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
        self.create = raw(resource.create)
        self.update = raw(resource.update)
        self.delete = raw(resource.delete)
