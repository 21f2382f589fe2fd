"""The one request path every operation takes.

build -> retry loop (:mod:`._retry`) around: authenticate -> send (replaying once when
the credentials were refused and renewed; a replay is not a retry) -> map errors -> hand
back an :class:`APIResponse` that validates on demand. The call's deadline, when set,
covers every attempt and wait. Resources only describe operations (an :class:`Endpoint`
plus arguments); nothing else sends requests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio
import httpx

from ._attempts import count_attempt
from ._auth import Auth, AuthContext
from ._constants import DEFAULT_MAX_RETRIES, LOGGER_NAME
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    error_code_of,
    make_status_error,
)
from ._ratelimit import RateLimiter
from ._response import APIResponse, ResponseShape
from ._retry import DEFAULT_RETRY_POLICY, Retrier, RetryPolicy, check_deadline, check_max_retries
from ._types import NOT_GIVEN, NotGiven, RequestOptions, TimeoutTypes

if TYPE_CHECKING:
    # Not at run time: the models (and pydantic's model machinery) load with the first
    # sub-client, not with the client.
    from .models._base import ThingSpaceModel

__all__ = ["ClientState", "Endpoint", "Pipeline"]

_T = TypeVar("_T")

log = logging.getLogger(LOGGER_NAME)

_JSON_HEADERS = {"Content-Type": "application/json"}

_MAX_AUTH_REPLAYS = 2
"""Replays after refused credentials, per attempt: one for the bearer token, one for the
session."""


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

    Copies made by :meth:`with_options` share the HTTP client, the :class:`Auth` and the
    closed state, so they share connections and credentials.
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
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy | None = None,
        deadline: float | None = None,
        rate_limiter: RateLimiter | None = None,
        state: ClientState | None = None,
    ) -> None:
        self.state = state or ClientState()
        self.rate_limiter = rate_limiter
        """Paces every request sent (retries included), shared by copies; or ``None``."""
        self.http_client = http_client
        self.base_url = base_url
        self.auth = auth
        self.timeout = timeout
        self.headers = dict(headers)
        self.auth_context = AuthContext(
            base_url=base_url, http_client=http_client, timeout=timeout, user_agent=user_agent
        )
        self.retrier = Retrier(retry_policy or DEFAULT_RETRY_POLICY, check_max_retries(max_retries))
        """The retry loop, built once for this configuration."""
        self.deadline = check_deadline(deadline)
        """Default overall deadline of a call (seconds, all attempts), or ``None``."""

    def with_options(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        retry_policy: RetryPolicy | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
    ) -> Pipeline:
        """A copy with other defaults that shares the HTTP client, the :class:`Auth`,
        the headers and the closed state. The retry loop is rebuilt only if its settings
        changed."""
        clone = object.__new__(Pipeline)
        clone.__dict__.update(self.__dict__)
        if not isinstance(timeout, NotGiven):
            clone.timeout = (
                timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
            )
        if not isinstance(max_retries, NotGiven) or not isinstance(retry_policy, NotGiven):
            clone.retrier = Retrier(
                self.retrier.policy if isinstance(retry_policy, NotGiven) else retry_policy,
                self.retrier.max_retries
                if isinstance(max_retries, NotGiven)
                else check_max_retries(max_retries),
            )
        if not isinstance(deadline, NotGiven):
            clone.deadline = check_deadline(deadline)
        return clone

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
        retrier = self.retrier
        max_retries = (
            check_max_retries(options["max_retries"])
            if "max_retries" in options
            else retrier.max_retries
        )
        deadline = check_deadline(options["deadline"]) if "deadline" in options else self.deadline

        started = time.perf_counter()
        attempt = _Attempt(
            self._send_authenticated,
            (endpoint.method, url, params, request_headers, content, timeout),
        )
        try:
            if deadline is None:
                response = await retrier.run(attempt, max_retries=max_retries, deadline=None)
            else:
                try:
                    with anyio.fail_after(deadline):
                        response = await retrier.run(
                            attempt, max_retries=max_retries, deadline=deadline
                        )
                except TimeoutError:
                    raise APITimeoutError(
                        self.http_client.build_request(endpoint.method, url, params=params),
                        message=f"The call's deadline of {deadline:g} s passed",
                        attempts=attempt.count,
                    ) from None
        except APIError as exc:
            _counted(exc, attempt.count)
            raise
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s -> %s in %.1f ms",
                endpoint.method,
                response.request.url.path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
        if response.status_code >= 400:
            raise _counted(make_status_error(response), attempt.count)
        return APIResponse(response, endpoint.shape)

    async def _send_authenticated(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        headers: dict[str, str],
        content: bytes | None,
        timeouts: httpx.Timeout | None,
    ) -> httpx.Response:
        """Send with credentials; when the answer says they were refused and the
        :class:`Auth` renewed them, replay. Replays are not failure retries."""
        sent = await self.auth.auth_headers(self.auth_context)
        response = await self._send_once(method, url, params, headers, sent, content, timeouts)
        # One replay per distinct refusal: after a long pause both the bearer token (401)
        # and the session (SessionToken.Expired) may have lapsed, and the gateway only
        # reports the second once the first is fixed. The same refusal twice is final.
        refusals: set[tuple[int, str | None]] = set()
        while response.status_code in (400, 401) and len(refusals) < _MAX_AUTH_REPLAYS:
            refusal = (response.status_code, error_code_of(response))
            if refusal in refusals or not await self.auth.should_replay(
                self.auth_context, response, sent
            ):
                break
            refusals.add(refusal)
            sent = await self.auth.auth_headers(self.auth_context)
            response = await self._send_once(method, url, params, headers, sent, content, timeouts)
        return response

    async def _send_once(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        headers: dict[str, str],
        credentials: Mapping[str, str],
        content: bytes | None,
        timeouts: httpx.Timeout | None,
    ) -> httpx.Response:
        if self.rate_limiter is not None:
            await self.rate_limiter.acquire()
        if credentials:
            headers = {**headers, **credentials}
        request = self.http_client.build_request(
            method,
            url,
            params=params,
            headers=headers,
            content=content,
            timeout=timeouts,
        )
        count_attempt()
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


_SendArgs = tuple[
    str, str, "Mapping[str, str] | None", dict[str, str], "bytes | None", "httpx.Timeout | None"
]


class _Attempt:
    """One call's "send once, authenticated", counting how often it ran (auth replays
    happen inside one run, so they are not counted)."""

    __slots__ = ("args", "count", "send")

    def __init__(
        self,
        send: Callable[..., Coroutine[Any, Any, httpx.Response]],
        args: _SendArgs,
    ) -> None:
        self.send = send
        self.args = args
        self.count = 0

    async def __call__(self) -> httpx.Response:
        self.count += 1
        return await self.send(*self.args)


def _counted(exc: APIError, attempts: int) -> APIError:
    """Record on the error how many attempts were made, and say so in its message."""
    if isinstance(exc, (APIConnectionError, APIStatusError)):
        exc.attempts = attempts
    if attempts > 1 and not exc.message.endswith("attempts)"):
        exc.message = f"{exc.message.rstrip('.')} (after {attempts} attempts)"
        exc.args = (exc.message,)
    return exc


def _timeout(value: TimeoutTypes | httpx.Timeout) -> httpx.Timeout | None:
    if value is None or isinstance(value, httpx.Timeout):
        return value
    return httpx.Timeout(value)
