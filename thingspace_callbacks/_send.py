"""Putting one request on the wire and reading its answer: the step below both the
request pipeline and the credential providers, which send token and login requests
through the same connection pool."""

from __future__ import annotations

import httpx

from ._errors import APIConnectionError, APITimeoutError

__all__ = ["send"]


async def send(http_client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """Send ``request`` and read the answer, turning transport failures into ours."""
    try:
        return await http_client.send(request)
    except httpx.TimeoutException as exc:
        raise APITimeoutError(request) from exc
    except httpx.TransportError as exc:
        raise APIConnectionError(
            request, message=f"Connection error: {type(exc).__name__}"
        ) from exc
