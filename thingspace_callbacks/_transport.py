"""The transport under the client's own ``httpx.AsyncClient``.

httpx's default transport (httpcore) spends a lot of CPU per request once many are in
flight; under asyncio, an aiohttp-backed transport (the ``speedups`` extra:
``httpx-aiohttp`` + ``aiohttp``) sends the same requests for a fraction of it. It is
opt-in (``AsyncThingSpaceClient(speedups=True)``): test doubles such as respx patch
httpx's own transport, and a choice made behind their back would send a test's
requests to the real network. aiohttp only runs on asyncio, so with speedups the
choice waits for the first request, when the running async library is known:
asyncio gets aiohttp, anything else (trio) httpx's transport. Building a client outside
an event loop stays cheap and loop-free.
"""

from __future__ import annotations

import importlib.util
import ssl
from functools import cache

import httpx

__all__ = ["AutoTransport", "default_transport", "fast_transport_available"]


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


def default_transport(limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """httpx's own transport with the shared TLS context."""
    return httpx.AsyncHTTPTransport(limits=limits, verify=default_ssl_context())


class AutoTransport(httpx.AsyncBaseTransport):
    """Sends through aiohttp under asyncio, through httpx's transport under any other
    async library; decided at the first request. Needs the ``speedups`` extra.

    :param limits: Connection pool limits, for either transport.
    """

    def __init__(self, *, limits: httpx.Limits) -> None:
        self._limits = limits
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
            # Later requests go straight to the chosen transport: this layer would only
            # add a call to every one of them.
            self.handle_async_request = transport.handle_async_request  # type: ignore[method-assign]
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()

    def _choose(self) -> httpx.AsyncBaseTransport:
        if _running_library() == "asyncio":
            from ._aiohttp import AiohttpTransport

            return AiohttpTransport(limits=self._limits, verify=default_ssl_context())
        return default_transport(self._limits)

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
