"""The transport under the client's own ``httpx.AsyncClient``, chosen at first use.

httpx's default transport (httpcore) spends a lot of CPU per request once many are in
flight; under asyncio, an aiohttp-backed transport (the ``speedups`` extra:
``httpx-aiohttp`` + ``aiohttp``) sends the same requests for a fraction of it. aiohttp
only runs on asyncio, so the choice waits for the first request, when the running
async library is known: asyncio with the extra installed gets aiohttp, anything else
(trio, or no extra) gets httpx's transport. Building a client outside an event loop
stays cheap and loop-free.
"""

from __future__ import annotations

import importlib.util
import ssl
import sys
from functools import cache

import httpx

__all__ = ["AutoTransport", "fast_transport_available"]


@cache
def fast_transport_available() -> bool:
    """Whether the ``speedups`` extra (``httpx-aiohttp`` and ``aiohttp``) is installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("httpx_aiohttp", "aiohttp"))


@cache
def default_ssl_context() -> ssl.SSLContext:
    """The verifying TLS context every client of the process shares.

    Building one loads the CA bundle, about 0.1 s of CPU: once per process rather than
    at each client's first request. A context is safe to share between connections.
    """
    return httpx.create_ssl_context()


class AutoTransport(httpx.AsyncBaseTransport):
    """Sends through aiohttp under asyncio when the ``speedups`` extra is installed,
    else through httpx's default transport; decided at the first request.

    :param limits: Connection pool limits, for either transport.
    :param prefer_fast: ``False`` always uses httpx's transport.
    """

    __slots__ = ("_limits", "_prefer_fast", "_transport")

    def __init__(self, *, limits: httpx.Limits, prefer_fast: bool = True) -> None:
        self._limits = limits
        self._prefer_fast = prefer_fast
        self._transport: httpx.AsyncBaseTransport | None = None

    @property
    def selected(self) -> str | None:
        """``"aiohttp"`` or ``"httpx"`` once the first request chose, else ``None``."""
        if self._transport is None:
            return None
        return "httpx" if isinstance(self._transport, httpx.AsyncHTTPTransport) else "aiohttp"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._transport
        if transport is None:
            transport = self._transport = self._choose()
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()

    def _choose(self) -> httpx.AsyncBaseTransport:
        if (
            self._prefer_fast
            and fast_transport_available()
            and _running_library() == "asyncio"
            and not _http_mocking_active()
        ):
            from ._aiohttp import AiohttpTransport

            return AiohttpTransport(limits=self._limits, verify=default_ssl_context())
        return httpx.AsyncHTTPTransport(limits=self._limits, verify=default_ssl_context())

    def __repr__(self) -> str:
        return f"AutoTransport(selected={self.selected!r})"


def _running_library() -> str | None:
    """``"asyncio"``, ``"trio"``..., or ``None`` outside an event loop."""
    try:
        import sniffio
    except ModuleNotFoundError:  # trio needs sniffio: without it only asyncio can run
        return "asyncio"
    try:
        return sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return None


def _http_mocking_active() -> bool:
    """Whether a test double (respx, pytest-httpx, ...) has patched httpx's transport or
    httpcore's pool: requests must then go through them to reach the mock."""
    patched = (
        httpx.AsyncHTTPTransport.handle_async_request.__module__ != "httpx._transports.default"
    )
    httpcore = sys.modules.get("httpcore")
    if httpcore is not None and not patched:
        method = httpcore.AsyncConnectionPool.handle_async_request
        patched = method.__module__ != "httpcore._async.connection_pool"
    return patched
