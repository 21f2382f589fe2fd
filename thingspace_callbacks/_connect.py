"""What a new client is built on: its API root (:func:`resolve_base_url`), its HTTP
client and transport, and what it shares with the copies ``with_options`` makes
(:func:`connect`)."""

from __future__ import annotations

import dataclasses
import os
import platform
from typing import TYPE_CHECKING, Any

import httpx

from ._auth import AuthContext
from ._constants import BASE_URL_ENV, DEFAULT_CONNECTION_LIMITS, DEFAULT_ENVIRONMENT, ENVIRONMENTS
from ._decode import accept_encoding
from ._errors import InvalidArgumentError
from ._extras import install_command
from ._options import ResolvedOptions
from ._pipeline import Shared
from ._transport import AutoTransport, default_transport, fast_transport_available
from ._version import __version__

if TYPE_CHECKING:
    from ._auth import Auth
    from ._auth.process import Lease
    from ._telemetry._otel import Instruments

__all__ = ["USER_AGENT", "LeasedShared", "connect", "resolve_base_url", "transport"]

USER_AGENT = (
    f"thingspace-callbacks/{__version__} "
    f"(python {platform.python_version()}; httpx {httpx.__version__})"
)


def connect(
    base_url: str,
    options: ResolvedOptions,
    *,
    auth: Auth,
    lease: Lease | None,
    http_client: httpx.AsyncClient | None,
    speedups: bool,
    telemetry: Instruments | None,
) -> tuple[Shared, ResolvedOptions]:
    """What a new client (not a copy) shares with its copies, and its ``options`` with
    the headers that its HTTP client does not send already."""
    # Only the encodings the SDK can decompress a bounded step at a time (_decode);
    # httpx would offer any it has a decoder for.
    headers = {
        "Accept": "application/json",
        "Accept-Encoding": accept_encoding(),
        "User-Agent": USER_AGENT,
        **options.headers,
    }
    owns_http_client = http_client is None
    if http_client is None:
        # Our own client sends the constant headers itself: httpx then does not
        # merge them into every request.
        http_client = httpx.AsyncClient(
            headers=headers,
            timeout=options.timeout,
            transport=transport(speedups),
            follow_redirects=False,
        )
        headers = {}
    context = AuthContext(
        base_url=base_url,
        http_client=http_client,
        timeout=options.timeout,
        user_agent=USER_AGENT,
        telemetry=telemetry,
    )
    shared = (
        Shared(
            http_client=http_client,
            owns_http_client=owns_http_client,
            auth=auth,
            auth_context=context,
            telemetry=telemetry,
        )
        if lease is None
        else LeasedShared(
            lease,
            http_client=http_client,
            owns_http_client=owns_http_client,
            auth=auth,
            auth_context=context,
            telemetry=telemetry,
        )
    )
    return shared, dataclasses.replace(options, headers=headers)


class LeasedShared(Shared):
    """:class:`Shared` whose credentials are the process's (:mod:`._auth.process`):
    closing releases them, and the last client to close ends the session."""

    __slots__ = ("lease",)

    def __init__(self, lease: Lease, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lease = lease

    async def release_credentials(self) -> None:
        await self.lease.release(self.auth_context)


def transport(speedups: bool) -> httpx.AsyncBaseTransport:
    if not speedups:
        return default_transport(DEFAULT_CONNECTION_LIMITS)
    if not fast_transport_available():
        raise InvalidArgumentError(
            f"'speedups=True' needs the speedups extra: {install_command('speedups')}"
        )
    return AutoTransport(limits=DEFAULT_CONNECTION_LIMITS)


def resolve_base_url(base_url: str | None, environment: str | None) -> str:
    if base_url is None and environment is not None:
        try:
            base_url = ENVIRONMENTS[environment]
        except KeyError:
            choices = ", ".join(sorted(ENVIRONMENTS))
            raise InvalidArgumentError(
                f"unknown environment {environment!r}; choose one of {choices}"
            ) from None
    if base_url is None:
        base_url = os.environ.get(BASE_URL_ENV) or ENVIRONMENTS[DEFAULT_ENVIRONMENT]
    url = httpx.URL(base_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidArgumentError(f"base_url must be an http(s) URL, got {base_url!r}")
    return base_url.rstrip("/")
