"""Device Diagnostics listeners: ``client.diagnostics``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._families import family
from .._pipeline import Endpoint
from .._validation import callback_url, checked_account, coerce_body, identifier
from ..models.diagnostics import DiagnosticsCallback, DiagnosticsCallbackRegistration
from ._base import Resource, raw

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._options import RequestOptions

__all__ = ["Diagnostics", "DiagnosticsWithRawResponse"]

_FAMILY = family("diagnostics")
_GET = Endpoint[DiagnosticsCallback](*_FAMILY.endpoint("get"), DiagnosticsCallback)
_REGISTER = Endpoint[DiagnosticsCallback](*_FAMILY.endpoint("register"), DiagnosticsCallback)
_UNREGISTER = Endpoint[DiagnosticsCallback](*_FAMILY.endpoint("unregister"), DiagnosticsCallback)


class Diagnostics(Resource):
    """Register, read and remove the listener for Device Diagnostics callbacks.

    ThingSpace signs diagnostics messages with HMAC-SHA256; the registration answer
    carries the shared secret in a response header, which
    ``client.diagnostics.with_raw_response.register(...)`` exposes.
    """

    async def get(self, account: str, **options: Unpack[RequestOptions]) -> DiagnosticsCallback:
        """The listener registered for ``account``.

        ``GET /diagnostics/v1/callbacks?accountName=...``
        """
        params = {"accountName": checked_account(account)}
        return await self._call(_GET, options, params=params)

    async def register(
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
        request = coerce_body(
            DiagnosticsCallbackRegistration,
            body,
            {"service": service, "url": url, "http_headers": http_headers},
            fields={"service": "service_name", "url": "endpoint"},
            fixed={"account_name": checked_account(account)},
        )
        identifier(request.service_name, "service")
        callback_url(request.endpoint, "url")
        return await self._call(_REGISTER, options, body=request)

    async def unregister(
        self, account: str, *, service: str, **options: Unpack[RequestOptions]
    ) -> DiagnosticsCallback:
        """Remove the listener of ``service`` for ``account``.

        ``DELETE /diagnostics/v1/callbacks?accountName=...&serviceName=...``
        """
        params = {
            "accountName": checked_account(account),
            "serviceName": identifier(service, "service"),
        }
        return await self._call(_UNREGISTER, options, params=params)

    @property
    def with_raw_response(self) -> DiagnosticsWithRawResponse:
        """The same operations, returning :class:`APIResponse` (status, headers, model)."""
        return DiagnosticsWithRawResponse(Diagnostics(self._pipeline, raw=True))


class DiagnosticsWithRawResponse:
    """:class:`Diagnostics` operations that return :class:`APIResponse`."""

    def __init__(self, resource: Diagnostics) -> None:
        self.get = raw(resource.get)
        self.register = raw(resource.register)
        self.unregister = raw(resource.unregister)
