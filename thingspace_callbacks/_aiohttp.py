"""httpx-aiohttp's transport, with aiohttp's failures mapped to the httpx exceptions
that say what happened (imported only when the ``speedups`` extra is used).

httpx-aiohttp maps every ``aiohttp.ClientConnectionError`` (a refused connection, a
server closing the connection mid-answer) to ``httpx.ConnectTimeout``, and lets other
aiohttp errors through unmapped; the SDK needs "timed out" and "could not connect" to
mean just that.

httpx-aiohttp asks aiohttp for the body as sent (``auto_decompress=False`` on every
request), so compressed answers reach the SDK's own bounded decoding (``_decode``) as
they do on httpx's transport.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import httpx
import httpx_aiohttp

__all__ = ["AiohttpTransport"]


class AiohttpTransport(httpx_aiohttp.AiohttpTransport):
    """``httpx_aiohttp.AiohttpTransport`` raising precise httpx transport errors."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except (httpx.TransportError, aiohttp.ClientError, TimeoutError) as exc:
            raise _mapped(exc, request) from (exc.__cause__ or exc)
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        response.stream = _MappedStream(stream, request)
        return response


class _MappedStream(httpx.AsyncByteStream):
    __slots__ = ("_inner", "_request")

    def __init__(self, inner: httpx.AsyncByteStream, request: httpx.Request) -> None:
        self._inner = inner
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except (httpx.TransportError, aiohttp.ClientError, TimeoutError) as exc:
            raise _mapped(exc, self._request) from (exc.__cause__ or exc)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _mapped(exc: Exception, request: httpx.Request) -> httpx.TransportError:
    """The httpx exception for ``exc`` (an aiohttp failure, or httpx-aiohttp's mapping
    of one)."""
    original = exc.__cause__ if isinstance(exc, httpx.TransportError) else exc
    if original is None:
        assert isinstance(exc, httpx.TransportError)
        return exc
    return _translate(original)(str(exc) or type(original).__name__, request=request)


def _translate(exc: BaseException) -> type[httpx.TransportError]:
    """The httpx exception class for an aiohttp failure, most specific first."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout
    if isinstance(exc, (aiohttp.ServerTimeoutError, TimeoutError)):
        return httpx.ReadTimeout
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientResponseError)):
        return httpx.RemoteProtocolError
    if isinstance(exc, (aiohttp.ClientPayloadError, aiohttp.ClientOSError)):
        return httpx.ReadError
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.UnsupportedProtocol
    return httpx.NetworkError
