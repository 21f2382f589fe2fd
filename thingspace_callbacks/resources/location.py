"""Device Location listeners: ``client.location``."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._families import family
from .._pipeline import Endpoint
from .._validation import account_segment, callback_url, coerce_body, path_segment
from ..models.location import (
    LocationCallback,
    LocationDeregistration,
    LocationRegistration,
    LocationServiceName,
)
from ._base import Resource, raw

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._options import RequestOptions

__all__ = ["Location", "LocationWithRawResponse"]

_FAMILY = family("location")
_LIST = Endpoint[builtins.list[LocationCallback]](
    *_FAMILY.endpoint("list"), builtins.list[LocationCallback]
)
_REGISTER = Endpoint[LocationRegistration](*_FAMILY.endpoint("register"), LocationRegistration)
_UNREGISTER = Endpoint[LocationDeregistration](
    *_FAMILY.endpoint("unregister"), LocationDeregistration
)
_FIELDS = {"service": "name"}
"""The model field of each keyword argument named otherwise."""


class Location(Resource):
    """Register, list and remove Device Location listeners (services ``Location`` and
    ``DeviceLocation``).

    The registration answer carries the shared secret for the HMAC-SHA256 signatures of
    later messages in a response header; call
    ``client.location.with_raw_response.register(...)`` and read ``.headers`` to keep it.
    """

    async def list(
        self, account: str, **options: Unpack[RequestOptions]
    ) -> builtins.list[LocationCallback]:
        """Every listener registered for ``account``. ``GET /loc/v1/callbacks/{account}``"""
        return await self._call(_LIST, options, path={"account": account_segment(account)})

    async def register(
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
        segment = account_segment(account)
        request = coerce_body(
            LocationCallback, body, {"service": service, "url": url}, fields=_FIELDS
        )
        callback_url(request.url)
        return await self._call(_REGISTER, options, path={"account": segment}, body=request)

    async def unregister(
        self,
        account: str,
        *,
        service: LocationServiceName | str,
        **options: Unpack[RequestOptions],
    ) -> LocationDeregistration:
        """Stop the ``service`` messages of ``account``.

        ``DELETE /loc/v1/callbacks/{account}/name/{service}``
        """
        path = {
            "account": account_segment(account),
            "service": path_segment(service, "service"),
        }
        return await self._call(_UNREGISTER, options, path=path)

    @property
    def with_raw_response(self) -> LocationWithRawResponse:
        """The same operations, returning :class:`APIResponse` (status, headers, model)."""
        return LocationWithRawResponse(Location(self._pipeline, raw=True))


class LocationWithRawResponse:
    """:class:`Location` operations that return :class:`APIResponse`."""

    def __init__(self, resource: Location) -> None:
        self.list = raw(resource.list)
        self.register = raw(resource.register)
        self.unregister = raw(resource.unregister)
