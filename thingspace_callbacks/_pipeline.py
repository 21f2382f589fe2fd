"""The one request path every operation takes.

build -> authenticate -> send (replaying once when the credentials were refused and
renewed) -> map errors -> hand back an :class:`APIResponse` that validates on demand.
Resources only describe operations (an :class:`Endpoint` plus arguments); nothing else
sends requests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import httpx

from ._auth import Auth, AuthContext
from ._errors import APIConnectionError, APITimeoutError, make_status_error
from ._response import APIResponse, ResponseShape
from ._types import RequestOptions, TimeoutTypes
from .models._base import ThingSpaceModel

__all__ = ["ClientState", "Endpoint", "Pipeline"]

_T = TypeVar("_T")

log = logging.getLogger("thingspace_callbacks")

_JSON_HEADERS = {"Content-Type": "application/json"}


class Endpoint(Generic[_T]):
    """One operation: HTTP method, path under the API root, and the answer's shape.

    Built once at import time; nothing about it is rebuilt per call.
    """

    __slots__ = ("method", "name", "path", "shape")

    def __init__(
        self, name: str, method: str, path: str, returns: Any, *, empty_is_list: bool = False
    ) -> None:
        self.name = name
        """The operation's name, for logs."""
        self.method = method
        self.path = path
        """Path template under the root, e.g. ``/loc/v1/callbacks/{account}``; the
        values filled in must already be percent-encoded."""
        self.shape: ResponseShape[_T] = ResponseShape(returns, empty_is_list=empty_is_list)

    def __repr__(self) -> str:
        return f"Endpoint({self.name!r}, {self.method} {self.path})"


class ClientState:
    """Whether the client that owns a pipeline is closed; shared by its copies."""

    __slots__ = ("closed",)

    def __init__(self) -> None:
        self.closed = False


class Pipeline:
    """Sends requests for one client configuration.

    Copies made by ``with_options`` share the HTTP client and the :class:`Auth`, so they
    share connections and credentials.
    """

    def __init__(
        self,
        *,
        http_client: httpx.AsyncClient,
        base_url: str,
        auth: Auth,
        timeout: httpx.Timeout,
        headers: Mapping[str, str],
        user_agent: str,
        state: ClientState | None = None,
    ) -> None:
        self.state = state or ClientState()
        self.http_client = http_client
        self.base_url = base_url
        self.auth = auth
        self.timeout = timeout
        self.headers = dict(headers)
        self.auth_context = AuthContext(
            base_url=base_url, http_client=http_client, timeout=timeout, user_agent=user_agent
        )

    async def request(
        self,
        endpoint: Endpoint[_T],
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        body: ThingSpaceModel | None = None,
        headers: Mapping[str, str] | None = None,
        options: RequestOptions,
    ) -> APIResponse[_T]:
        """Send one operation and return its answer, or raise the mapped error."""
        if self.state.closed:
            raise RuntimeError("this AsyncThingSpaceClient is closed; create a new one")
        url = self.base_url + (endpoint.path.format_map(path) if path else endpoint.path)
        request_headers = self.headers.copy()
        content: bytes | None = None
        if body is not None:
            content = body.model_dump_json(by_alias=True, exclude_none=True).encode()
            request_headers.update(_JSON_HEADERS)
        if headers:
            request_headers.update(headers)
        extra = options.get("extra_headers")
        if extra:
            request_headers.update(extra)
        timeout = _timeout(options.get("timeout", self.timeout))

        started = time.perf_counter()
        response = await self._send_authenticated(
            endpoint.method, url, params, request_headers, content, timeout
        )
        log.debug(
            "%s %s -> %s in %.1f ms",
            endpoint.method,
            response.request.url.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        if response.status_code >= 400:
            raise make_status_error(response)
        return APIResponse(response, endpoint.shape)

    async def _send_authenticated(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        headers: dict[str, str],
        content: bytes | None,
        timeout: httpx.Timeout | None,
    ) -> httpx.Response:
        """Send with credentials; when the answer says they were refused and the
        :class:`Auth` renewed them, replay once. The replay is not a failure retry."""
        sent = await self.auth.auth_headers(self.auth_context)
        response = await self._send_once(method, url, params, headers, sent, content, timeout)
        if response.status_code in (400, 401) and await self.auth.should_replay(
            self.auth_context, response, sent
        ):
            sent = await self.auth.auth_headers(self.auth_context)
            response = await self._send_once(method, url, params, headers, sent, content, timeout)
        return response

    async def _send_once(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        headers: dict[str, str],
        credentials: Mapping[str, str],
        content: bytes | None,
        timeout: httpx.Timeout | None,
    ) -> httpx.Response:
        if credentials:
            headers = {**headers, **credentials}
        request = self.http_client.build_request(
            method,
            url,
            params=params,
            headers=headers,
            content=content,
            timeout=timeout,
        )
        return await send(self.http_client, request)


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


def _timeout(value: TimeoutTypes | httpx.Timeout) -> httpx.Timeout | None:
    if value is None or isinstance(value, httpx.Timeout):
        return value
    return httpx.Timeout(value)
