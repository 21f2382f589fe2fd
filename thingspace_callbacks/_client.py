"""``AsyncThingSpaceClient``: configuration, lifecycle and the family sub-clients."""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import SecretStr

from ._auth import Auth, NoAuth, StaticTokenAuth
from ._constants import (
    BASE_URL_ENV,
    DEFAULT_CONNECTION_LIMITS,
    DEFAULT_ENVIRONMENT,
    DEFAULT_TIMEOUT,
    ENVIRONMENTS,
)
from ._errors import RequestValidationError
from ._pipeline import Pipeline
from ._types import TimeoutTypes
from ._version import __version__

if TYPE_CHECKING:
    from typing_extensions import Self

    from .callbacks import Callbacks
    from .resources import AccountName, AccountNumber, Diagnostics, Firmware, Location

__all__ = ["AsyncThingSpaceClient"]

USER_AGENT = (
    f"thingspace-callbacks/{__version__} "
    f"(python {platform.python_version()}; httpx {httpx.__version__})"
)


class AsyncThingSpaceClient:
    """Async client for the ThingSpace callback APIs.

    Use it as an async context manager, or call :meth:`aclose` when done::

        async with AsyncThingSpaceClient(access_token="...", m2m_token="...") as client:
            await client.location.register("0252012345-00001", name="Location",
                                            url="https://example.com/hooks/location")

    One client (and its connection pool) is meant to be shared by every task of a
    process; it is safe to use concurrently.

    :param base_url: The API root; every family's URL derives from it. Defaults to the
        ``THINGSPACE_BASE_URL`` environment variable, else the root of ``environment``.
    :param environment: ``"production"`` (default), ``"staging"`` or ``"mock"``
        (Verizon's mock server). Ignored when ``base_url`` is given.
    :param access_token: A fixed OAuth bearer token, sent as ``Authorization: Bearer``.
    :param m2m_token: A fixed Connectivity Management session token, sent as
        ``VZ-M2M-Token``.
    :param auth: An :class:`~thingspace_callbacks.Auth` of your own, instead of the
        fixed tokens.
    :param timeout: Seconds, or an ``httpx.Timeout``, for each attempt. The default is
        5 s to connect, 30 s to read or write, 10 s to get a pooled connection.
    :param default_headers: Headers sent with every request.
    :param http_client: An ``httpx.AsyncClient`` to send through (for proxies, custom
        TLS or transports). It is used as is and never closed by this client.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        environment: str | None = None,
        access_token: str | SecretStr | None = None,
        m2m_token: str | SecretStr | None = None,
        auth: Auth | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        default_headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        if auth is not None and (access_token is not None or m2m_token is not None):
            raise RequestValidationError("pass either 'auth' or fixed tokens, not both")
        if auth is None:
            if access_token is None and m2m_token is None:
                auth = NoAuth()
            else:
                auth = StaticTokenAuth(access_token=access_token, m2m_token=m2m_token)

        self.base_url = _resolve_base_url(base_url, environment)
        """The API root this client talks to."""
        timeout_value = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self._owns_http_client = http_client is None
        if http_client is None:
            http_client = httpx.AsyncClient(
                timeout=timeout_value, limits=DEFAULT_CONNECTION_LIMITS, follow_redirects=False
            )
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if default_headers:
            headers.update(default_headers)
        self._pipeline = Pipeline(
            http_client=http_client,
            base_url=self.base_url,
            auth=auth,
            timeout=timeout_value,
            headers=headers,
            user_agent=USER_AGENT,
        )

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient`` every request goes through."""
        return self._pipeline.http_client

    @property
    def auth(self) -> Auth:
        """The authentication step in use."""
        return self._pipeline.auth

    @property
    def timeout(self) -> httpx.Timeout:
        """The default timeout of each attempt."""
        return self._pipeline.timeout

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`aclose` has run."""
        return self._pipeline.state.closed

    # Sub-clients import their module on first use, which keeps `import` fast.

    @cached_property
    def diagnostics(self) -> Diagnostics:
        """Device Diagnostics listeners (``/diagnostics/v1/callbacks``)."""
        from .resources.diagnostics import Diagnostics

        return Diagnostics(self._pipeline)

    @cached_property
    def location(self) -> Location:
        """Device Location listeners (``/loc/v1/callbacks/{account}``)."""
        from .resources.location import Location

        return Location(self._pipeline)

    @cached_property
    def firmware(self) -> Firmware:
        """Software Management (FOTA v2) listeners (``/fota/v2/callbacks/{account}``)."""
        from .resources.firmware import Firmware

        return Firmware(self._pipeline, version="v2")

    @cached_property
    def firmware_v3(self) -> Firmware:
        """Software Management (FOTA v3) listeners (``/fota/v3/callbacks/{acc}``)."""
        from .resources.firmware import Firmware

        return Firmware(self._pipeline, version="v3")

    @cached_property
    def account_name(self) -> AccountName:
        """Connectivity Management listeners by account name (``/m2m/v1/callbacks/{aname}``)."""
        from .resources.account_name import AccountName

        return AccountName(self._pipeline)

    @cached_property
    def account_number(self) -> AccountNumber:
        """Hyper Precise Location listeners by account number
        (``/hyper-precise/v1/callbacks``)."""
        from .resources.account_number import AccountNumber

        return AccountNumber(self._pipeline)

    @cached_property
    def callbacks(self) -> Callbacks:
        """The seed SDK's ``CallbacksController`` methods, async: the migration path."""
        from .callbacks import Callbacks

        return Callbacks(self)

    async def __aenter__(self) -> Self:
        if self.is_closed:
            raise RuntimeError("this AsyncThingSpaceClient is closed; create a new one")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release the credentials' resources and close the connection pool, unless the
        ``httpx.AsyncClient`` was passed in. Calling it again does nothing."""
        if self.is_closed:
            return
        self._pipeline.state.closed = True
        try:
            await self._pipeline.auth.aclose(self._pipeline.auth_context)
        finally:
            if self._owns_http_client:
                await self._pipeline.http_client.aclose()

    def __repr__(self) -> str:
        return f"AsyncThingSpaceClient(base_url={self.base_url!r}, auth={self.auth!r})"

    def __getstate__(self) -> Any:
        raise TypeError("AsyncThingSpaceClient cannot be pickled; create one per process")


def _resolve_base_url(base_url: str | None, environment: str | None) -> str:
    if base_url is None and environment is not None:
        try:
            base_url = ENVIRONMENTS[environment]
        except KeyError:
            choices = ", ".join(sorted(ENVIRONMENTS))
            raise RequestValidationError(
                f"unknown environment {environment!r}; choose one of {choices}"
            ) from None
    if base_url is None:
        base_url = os.environ.get(BASE_URL_ENV) or ENVIRONMENTS[DEFAULT_ENVIRONMENT]
    url = httpx.URL(base_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise RequestValidationError(f"base_url must be an http(s) URL, got {base_url!r}")
    return base_url.rstrip("/")
