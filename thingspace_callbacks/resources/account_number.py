"""Hyper Precise Location listeners, by account number: ``client.account_number``."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._pipeline import Endpoint
from .._validation import callback_url, coerce_body, header_value, identifier
from ..models.hyper_precise import HyperPreciseCallback, HyperPreciseResult
from ._base import Resource, raw

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .._types import RequestOptions

__all__ = ["AccountNumber", "AccountNumberWithRawResponse"]

_PATH = "/hyper-precise/v1/callbacks"
_LIST = Endpoint[builtins.list[HyperPreciseCallback]](
    "account_number.list", "GET", _PATH, builtins.list[HyperPreciseCallback]
)
_REGISTER = Endpoint[HyperPreciseCallback](
    "account_number.register", "POST", _PATH, HyperPreciseCallback
)
_DEREGISTER = Endpoint[HyperPreciseResult](
    "account_number.deregister", "DELETE", _PATH, HyperPreciseResult
)


class AccountNumber(Resource):
    """Register, list and remove Hyper Precise Location listeners of an account number."""

    async def list(
        self, account_number: str, **options: Unpack[RequestOptions]
    ) -> builtins.list[HyperPreciseCallback]:
        """Every listener registered for the account.

        ``GET /hyper-precise/v1/callbacks?accountNumber=...``
        """
        params = {"accountNumber": identifier(account_number, "account_number")}
        return await self._call(_LIST, options, params=params)

    async def register(
        self,
        account_number: str,
        name: str,
        url: str,
        body: HyperPreciseCallback | Mapping[str, Any] | None = None,
        **options: Unpack[RequestOptions],
    ) -> HyperPreciseCallback:
        """Send the ``name`` listener's messages for the account to ``url``.

        ``POST /hyper-precise/v1/callbacks?accountNumber=...``. Older servers read the
        listener from the ``name`` and ``url`` request headers, newer ones from the JSON
        body ``{aname, name, url}``; both are sent. ``body`` (optional) replaces the
        body built from the arguments.
        """
        account = identifier(account_number, "account_number")
        name = header_value(identifier(name, "name"), "name")
        url = header_value(callback_url(url), "url")
        request = coerce_body(
            HyperPreciseCallback,
            body,
            {} if body is not None else {"aname": account, "name": name, "url": url},
        )
        return await self._call(
            _REGISTER,
            options,
            params={"accountNumber": account},
            body=request,
            headers={"name": name, "url": url},
        )

    async def deregister(
        self, account_number: str, name: str, **options: Unpack[RequestOptions]
    ) -> HyperPreciseResult:
        """Stop the ``name`` listener's messages for the account.

        ``DELETE /hyper-precise/v1/callbacks?accountNumber=...&service=...``. The seed
        SDK names the query parameter ``name``, newer Verizon SDKs ``service``; both are
        sent.
        """
        account = identifier(account_number, "account_number")
        service = identifier(name, "name")
        params = {"accountNumber": account, "name": service, "service": service}
        return await self._call(_DEREGISTER, options, params=params)

    @property
    def with_raw_response(self) -> AccountNumberWithRawResponse:
        """The same operations, returning :class:`APIResponse` (status, headers, model)."""
        return AccountNumberWithRawResponse(AccountNumber(self._pipeline, raw=True))


class AccountNumberWithRawResponse:
    """:class:`AccountNumber` operations that return :class:`APIResponse`."""

    def __init__(self, resource: AccountNumber) -> None:
        self.list = raw(resource.list)
        self.register = raw(resource.register)
        self.deregister = raw(resource.deregister)
