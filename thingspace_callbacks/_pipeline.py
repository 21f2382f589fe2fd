"""The one request path every operation takes.

build -> retry loop (:mod:`._retry`) around one attempt: authenticate -> send
(replaying when the credentials were refused and renewed; a replay is not a retry) ->
then map the last outcome to a result or to one of our errors, built once with the
number of attempts made. The call's deadline, when set, covers every attempt and wait.
A call's options are resolved once, before its first attempt, into a
:class:`~thingspace_callbacks._options.ResolvedOptions`. Resources only describe
operations (an :class:`Endpoint` plus arguments); nothing else sends requests.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio
import httpx

from ._attempts import record_attempts
from ._auth import Auth, AuthContext
from ._constants import LOGGER_NAME
from ._error_body import error_fields
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    InvalidArgumentError,
    connection_error,
    make_status_error,
)
from ._options import RequestOptions, ResolvedOptions
from ._ratelimit import Limiter
from ._response import APIResponse, ResponseShape
from ._retry import Outcome, log_fields, retry, worth_retrying
from ._send import fetch

if TYPE_CHECKING:
    # Not at run time: the models (and pydantic's model machinery) load with the first
    # sub-client, not with the client.
    from ._telemetry._otel import Instruments
    from .models._base import ThingSpaceModel

__all__ = ["Endpoint", "Pipeline", "Shared"]

_T = TypeVar("_T")

log = logging.getLogger(LOGGER_NAME)

_JSON_HEADERS = {"Content-Type": "application/json"}

_NO_DEADLINE = contextlib.nullcontext()
"""Stands in for ``anyio.fail_after`` in a call without a deadline: a cancel scope per
call would be work for nothing."""

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
        """The operation's name as users call it (``location.register``)."""
        self.method = method
        self.path = path
        """Path template under the root, e.g. ``/loc/v1/callbacks/{account}``; the
        values filled in must already be percent-encoded."""
        self.shape: ResponseShape[_T] = ResponseShape(returns, empty_is_list=empty_is_list)

    def __repr__(self) -> str:
        return f"Endpoint({self.name!r}, {self.method} {self.path})"


class Shared:
    """What a client shares with its copies (``with_options``): the HTTP client and
    its connection pool, the :class:`Auth` and its context, where its telemetry goes,
    and the closed state."""

    __slots__ = (
        "auth",
        "auth_context",
        "closed",
        "http_client",
        "owns_http_client",
        "telemetry",
    )

    def __init__(
        self,
        *,
        http_client: httpx.AsyncClient,
        owns_http_client: bool,
        auth: Auth,
        auth_context: AuthContext,
        telemetry: Instruments | None = None,
    ) -> None:
        self.http_client = http_client
        self.owns_http_client = owns_http_client
        """Whether closing closes ``http_client`` too (the client built it)."""
        self.auth = auth
        self.auth_context = auth_context
        self.telemetry = telemetry
        """Where spans and metrics go (see :mod:`._telemetry`); ``None``: nowhere."""
        self.closed = False

    async def aclose(self) -> None:
        """Close for good: release the credentials, then the connection pool if it is
        ours. Calling it again does nothing."""
        if self.closed:
            return
        self.closed = True
        try:
            await self.release_credentials()
        finally:
            if self.owns_http_client:
                await self.http_client.aclose()

    async def release_credentials(self) -> None:
        """What closing does with the credentials: end the session of its own."""
        await self.auth.aclose(self.auth_context)


class Pipeline:
    """Sends requests for one client configuration: the client's
    :class:`ResolvedOptions` and rate limiter, over what it shares with its copies."""

    __slots__ = (
        "auth",
        "auth_context",
        "base_url",
        "http_client",
        "options",
        "rate_limiter",
        "shared",
        "telemetry",
    )

    def __init__(
        self,
        *,
        shared: Shared,
        base_url: str,
        options: ResolvedOptions,
        rate_limiter: Limiter | None = None,
    ) -> None:
        self.shared = shared
        self.base_url = base_url
        self.options = options
        """The client's defaults, which a call's own options override."""
        self.rate_limiter = rate_limiter
        """Paces every request sent (retries included), shared by copies; or ``None``."""
        self.telemetry = shared.telemetry
        # Read by every attempt: kept here rather than looked up through `shared`.
        self.http_client = shared.http_client
        self.auth = shared.auth
        self.auth_context = shared.auth_context

    def request(
        self,
        endpoint: Endpoint[_T],
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        body: ThingSpaceModel | None = None,
        headers: Mapping[str, str] | None = None,
        options: RequestOptions,
        raw: bool,
    ) -> Awaitable[Any]:
        """Send one operation and return its answer (an :class:`APIResponse`, or with
        ``raw=False`` the parsed model), or raise the mapped error.

        A plain function returning the call's coroutine: whether the call is traced is
        decided here, without a coroutine layer more for calls that are not.
        """
        if self.shared.closed:
            raise RuntimeError("this AsyncThingSpaceClient is closed; create a new one")
        resolved = self.options.merge(options, endpoint.name) if options else self.options
        telemetry = self.telemetry
        if telemetry is None or not telemetry.active():
            return self._request(_Call(self, endpoint, path, params, body, headers, resolved), raw)
        call = _Call(self, endpoint, path, params, body, headers, resolved, telemetry)
        account = _account_of(path, params) if telemetry.record_accounts else None
        return telemetry.operation(endpoint.name, account, call, self._request(call, raw))

    async def _request(self, call: _Call, raw: bool) -> Any:
        endpoint, resolved, params = call.endpoint, call.options, call.params
        deadline = resolved.deadline
        # Only a debug log line needs the time.
        started = time.perf_counter() if log.isEnabledFor(logging.DEBUG) else 0.0
        try:
            with _NO_DEADLINE if deadline is None else anyio.fail_after(deadline):
                # The first attempt is awaited here, not inside the retry loop: nearly
                # every call ends with it, and each coroutine layer between the request's
                # task and the socket is paid again at every resumption.
                begun = time.monotonic()
                outcome = await call.attempt()
                if worth_retrying(outcome, resolved):
                    outcome = await retry(
                        outcome,
                        call.attempt,
                        resolved,
                        started=begun,
                        operation=endpoint.name,
                        on_wait=None if call.telemetry is None else call.telemetry.retry_wait,
                    )
        except TimeoutError:
            if deadline is None:  # not the deadline's: a bug below, to surface as is
                raise
            raise APITimeoutError(
                self.http_client.build_request(endpoint.method, call.url, params=params),
                message=f"The call's deadline of {deadline:g} s passed",
                attempts=call.attempts,
            ) from None
        finally:
            record_attempts(call.attempts)
        response = _result(endpoint, outcome, call.attempts, started)
        return response if raw else response.parse()


class _Call:
    """One call's request, built once and sent by each attempt, and how many
    attempts it made: the one count behind ``attempts`` on errors and fan-out results."""

    __slots__ = (
        "attempts",
        "content",
        "endpoint",
        "headers",
        "options",
        "params",
        "pipeline",
        "sends",
        "telemetry",
        "url",
    )

    def __init__(
        self,
        pipeline: Pipeline,
        endpoint: Endpoint[Any],
        path: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
        body: ThingSpaceModel | None,
        headers: Mapping[str, str] | None,
        options: ResolvedOptions,
        telemetry: Instruments | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.telemetry = telemetry
        """Set when this call is traced; then ``sends`` counts its exchanges."""
        self.sends = 0
        self.endpoint = endpoint
        self.url = pipeline.base_url + (endpoint.path.format_map(path) if path else endpoint.path)
        self.params = params
        self.attempts = 0
        self.options = options
        request_headers = options.headers
        self.content: bytes | None = None
        if body is not None:
            # What `model_dump_json(...).encode()` gives, without the str in between.
            self.content = body.__pydantic_serializer__.to_json(
                body, by_alias=True, exclude_none=True
            )
            request_headers = {**request_headers, **_JSON_HEADERS}
        if headers or options.extra_headers:
            request_headers = {**request_headers, **(headers or {}), **options.extra_headers}
        self.headers = request_headers

    async def attempt(self) -> Outcome:
        """Send once, with credentials; failures are returned, not raised, so the retry
        loop sees every outcome the same way. When the answer says the credentials were
        refused and the :class:`Auth` renewed them, the request is replayed within the
        same attempt (a replay is not a retry)."""
        self.attempts += 1
        pipeline, options = self.pipeline, self.options
        auth, context = pipeline.auth, pipeline.auth_context
        refusals: set[tuple[int, str | None]] | None = None
        try:
            while True:
                sent = await auth.auth_headers(context)
                if self.telemetry is not None:
                    response = await self._traced_send(sent)
                else:
                    if pipeline.rate_limiter is not None:
                        await pipeline.rate_limiter.acquire()
                    response = await fetch(
                        pipeline.http_client,
                        self._request(sent),
                        max_size=options.max_response_size,
                        time_limit=options.time_limit,
                    )
                # One replay per distinct refusal: after a long pause both the bearer
                # token (401) and the session (SessionToken.Expired) may have lapsed, and
                # the gateway reports the second only once the first is fixed. The same
                # refusal twice is final.
                if response.status_code not in (400, 401):
                    return response
                refusals = set() if refusals is None else refusals
                refusal = (response.status_code, error_fields(response)[0])
                if (
                    len(refusals) >= _MAX_AUTH_REPLAYS
                    or refusal in refusals
                    or not await auth.should_replay(context, response, sent)
                ):
                    return response
                refusals.add(refusal)
                if self.telemetry is not None:
                    self.telemetry.credentials_refused(response.status_code, replayed=True)
        except (httpx.RequestError, APIConnectionError) as exc:
            return exc
        except httpx.InvalidURL as exc:
            raise InvalidArgumentError(f"invalid request URL: {exc}") from None

    async def _traced_send(self, credentials: Mapping[str, str]) -> httpx.Response:
        telemetry, pipeline, options = self.telemetry, self.pipeline, self.options
        assert telemetry is not None  # only traced calls come here
        if pipeline.rate_limiter is not None:
            waiting = time.perf_counter()
            await pipeline.rate_limiter.acquire()
            telemetry.rate_limiter_waited(time.perf_counter() - waiting)
        request = self._request(credentials)
        resend, self.sends = self.sends, self.sends + 1
        sending = fetch(
            pipeline.http_client,
            request,
            max_size=options.max_response_size,
            time_limit=options.time_limit,
        )
        return await telemetry.attempt(
            pipeline.base_url, self.endpoint.path, request, resend, sending
        )

    def _request(self, credentials: Mapping[str, str]) -> httpx.Request:
        return self.pipeline.http_client.build_request(
            self.endpoint.method,
            self.url,
            params=self.params,
            headers={**self.headers, **credentials} if credentials else self.headers,
            content=self.content,
            # The timeout as httpx stores it, worked out once per configuration rather
            # than by httpx on every request.
            extensions={"timeout": self.options.timeout_extension},
        )


def _account_of(path: Mapping[str, str] | None, params: Mapping[str, str] | None) -> str | None:
    # Where the families put the account: the path, or the query (Device Diagnostics'
    # accountName, Hyper Precise Location's accountNumber).
    for source, name in ((path, "account"), (params, "accountName"), (params, "accountNumber")):
        if source and name in source:
            return source[name]
    return None


def _result(
    endpoint: Endpoint[_T], outcome: Outcome, attempts: int, started: float
) -> APIResponse[_T]:
    if isinstance(outcome, httpx.Response):
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "%s %s -> %s in %.1f ms (%d attempts)",
                outcome.request.method,
                outcome.request.url.path,
                outcome.status_code,
                (time.perf_counter() - started) * 1000,
                attempts,
                extra=log_fields(endpoint.name, attempts),
            )
        if 200 <= outcome.status_code < 300:
            return APIResponse(outcome, endpoint.shape)
        # Nothing but a 2xx is a result: a redirect is an error too (RedirectError).
        raise make_status_error(outcome, attempts=attempts)
    if isinstance(outcome, (httpx.RequestError, APIConnectionError)):
        raise connection_error(outcome, attempts=attempts) from outcome
    raise outcome  # pragma: no cover - attempts return only the kinds above
