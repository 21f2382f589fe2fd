"""Connectivity Management listeners, by account name: ``client.connectivity``."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._families import family
from .._pipeline import Endpoint
from .._validation import account_segment, callback_url, coerce_body, path_segment
from ..models.connectivity import (
    ConnectivityCallback,
    ConnectivityCallbackRequest,
    ConnectivityRegistration,
    ConnectivityServiceName,
)
from ._base import Resource, raw

if TYPE_CHECKING:
    from pydantic import SecretStr
    from typing_extensions import Unpack

    from .._options import RequestOptions

__all__ = ["Connectivity", "ConnectivityWithRawResponse"]

_FAMILY = family("connectivity")
_LIST = Endpoint[builtins.list[ConnectivityCallback]](
    *_FAMILY.endpoint("list"), builtins.list[ConnectivityCallback], empty_is_list=True
)
_REGISTER = Endpoint[ConnectivityRegistration](
    *_FAMILY.endpoint("register"), ConnectivityRegistration
)
_UNREGISTER = Endpoint[ConnectivityRegistration](
    *_FAMILY.endpoint("unregister"), ConnectivityRegistration
)


class Connectivity(Resource):
    """Register, list and remove Connectivity Management (M2M) listeners of an account,
    one per service (``CarrierService``, ``DeviceUsage``, ...).

    ThingSpace sends the ``username`` and ``password`` given at registration in the body
    of every message, so the listener can check them.
    """

    async def list(
        self, account: str, **options: Unpack[RequestOptions]
    ) -> builtins.list[ConnectivityCallback]:
        """Every listener registered for ``account``. ``GET /m2m/v1/callbacks/{aname}``

        An account with no listener answers an empty body, returned as ``[]``.
        """
        return await self._call(_LIST, options, path={"account": account_segment(account)})

    async def register(
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
        segment = account_segment(account)
        request = coerce_body(
            ConnectivityCallbackRequest,
            body,
            {"service": service, "url": url, "username": username, "password": password},
            fields={"service": "name"},
        )
        callback_url(request.url)
        return await self._call(_REGISTER, options, path={"account": segment}, body=request)

    async def unregister(
        self,
        account: str,
        *,
        service: ConnectivityServiceName | str,
        **options: Unpack[RequestOptions],
    ) -> ConnectivityRegistration:
        """Stop the ``service`` messages of ``account``.

        ``DELETE /m2m/v1/callbacks/{aname}/name/{sname}``
        """
        path = {
            "account": account_segment(account),
            "service": path_segment(service, "service"),
        }
        return await self._call(_UNREGISTER, options, path=path)

    @property
    def with_raw_response(self) -> ConnectivityWithRawResponse:
        """The same operations, returning :class:`APIResponse` (status, headers, model)."""
        return ConnectivityWithRawResponse(Connectivity(self._pipeline, raw=True))


class ConnectivityWithRawResponse:
    """:class:`Connectivity` operations that return :class:`APIResponse`."""

    def __init__(self, resource: Connectivity) -> None:
        self.list = raw(resource.list)
        self.register = raw(resource.register)
        self.unregister = raw(resource.unregister)
