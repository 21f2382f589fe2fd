"""Hyper Precise Location listeners, by account number: ``client.hyper_precise``."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._families import family
from .._pipeline import Endpoint
from .._validation import callback_url, checked_account, coerce_body, header_value, identifier
from ..models.hyper_precise import HyperPreciseCallback, HyperPreciseResult
from ._base import Resource, raw

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._options import RequestOptions

__all__ = ["HyperPrecise", "HyperPreciseWithRawResponse"]

_FAMILY = family("hyper_precise")
_LIST = Endpoint[builtins.list[HyperPreciseCallback]](
    *_FAMILY.endpoint("list"), builtins.list[HyperPreciseCallback]
)
_REGISTER = Endpoint[HyperPreciseCallback](*_FAMILY.endpoint("register"), HyperPreciseCallback)
_UNREGISTER = Endpoint[HyperPreciseResult](*_FAMILY.endpoint("unregister"), HyperPreciseResult)


class HyperPrecise(Resource):
    """Register, list and remove Hyper Precise Location listeners of an account number."""

    async def list(
        self, account: str, **options: Unpack[RequestOptions]
    ) -> builtins.list[HyperPreciseCallback]:
        """Every listener registered for ``account``.

        ``GET /hyper-precise/v1/callbacks?accountNumber=...``
        """
        params = {"accountNumber": checked_account(account)}
        return await self._call(_LIST, options, params=params)

    async def register(
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
        account = checked_account(account)
        request = coerce_body(
            HyperPreciseCallback,
            body,
            {"service": service, "url": url},
            fields={"service": "name"},
            fixed={"aname": account},
        )
        name = header_value(identifier(request.name, "service"), "service")
        listener = header_value(callback_url(request.url), "url")
        return await self._call(
            _REGISTER,
            options,
            params={"accountNumber": account},
            body=request,
            headers={"name": name, "url": listener},
        )

    async def unregister(
        self, account: str, *, service: str, **options: Unpack[RequestOptions]
    ) -> HyperPreciseResult:
        """Stop the ``service`` messages of ``account``.

        ``DELETE /hyper-precise/v1/callbacks?accountNumber=...&service=...``. The seed
        SDK names the query parameter ``name``, newer Verizon SDKs ``service``; both are
        sent.
        """
        account = checked_account(account)
        name = identifier(service, "service")
        params = {"accountNumber": account, "name": name, "service": name}
        return await self._call(_UNREGISTER, options, params=params)

    @property
    def with_raw_response(self) -> HyperPreciseWithRawResponse:
        """The same operations, returning :class:`APIResponse` (status, headers, model)."""
        return HyperPreciseWithRawResponse(HyperPrecise(self._pipeline, raw=True))


class HyperPreciseWithRawResponse:
    """:class:`HyperPrecise` operations that return :class:`APIResponse`."""

    def __init__(self, resource: HyperPrecise) -> None:
        self.list = raw(resource.list)
        self.register = raw(resource.register)
        self.unregister = raw(resource.unregister)
