"""The one request path every operation takes.

build -> retry loop (:mod:`._retry`) around one attempt: authenticate -> send
(replaying when the credentials were refused and renewed; a replay is not a retry) ->
then map the last outcome to a result or to one of our errors, built once with the
number of attempts made. The call's deadline, when set, covers every attempt and wait.
Resources only describe operations (an :class:`Endpoint` plus arguments); nothing else
sends requests.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio
import httpx

from ._attempts import record_attempts
from ._auth import Auth, AuthContext
from ._checks import count
from ._constants import DEFAULT_MAX_RESPONSE_SIZE, DEFAULT_MAX_RETRIES, LOGGER_NAME
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    RequestValidationError,
    connection_error,
    error_fields,
    make_status_error,
)
from ._ratelimit import Limiter
from ._response import APIResponse, ResponseShape
from ._retry import DEFAULT_RETRY_POLICY, Outcome, Retrier, RetryPolicy, check_deadline
from ._retry import check_max_retries as check_max_retries
from ._send import attempt_time_limit, fetch
from ._types import NOT_GIVEN, NotGiven, RequestOptions, TimeoutTypes

if TYPE_CHECKING:
    # Not at run time: the models (and pydantic's model machinery) load with the first
    # sub-client, not with the client.
    from .models._base import ThingSpaceModel

__all__ = ["ClientState", "Endpoint", "Pipeline"]

_T = TypeVar("_T")

log = logging.getLogger(LOGGER_NAME)

_JSON_HEADERS = {"Content-Type": "application/json"}

_OPTION_NAMES = frozenset(RequestOptions.__annotations__)

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


class ClientState:
    """Whether the client that owns a pipeline is closed; shared by its copies."""

    __slots__ = ("closed",)

    def __init__(self) -> None:
        self.closed = False


class Pipeline:
    """Sends requests for one client configuration.

    Copies made by :meth:`with_options` share the HTTP client, the :class:`Auth`, the
    rate limiter and the closed state, so they share connections and credentials.
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
        rate_limiter: Limiter | None = None,
        max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        self._state = ClientState()
        self.max_response_size = check_max_response_size(max_response_size)
        """The largest answer read, in bytes, or ``None`` for no limit."""
        self.rate_limiter = rate_limiter
        """Paces every request sent (retries included), shared by copies; or ``None``."""
        self.http_client = http_client
        self.base_url = base_url
        self.auth = auth
        self.timeout = timeout
        self.headers = dict(headers)
        """Headers of every request that the HTTP client does not already send."""
        self.auth_context = AuthContext(
            base_url=base_url, http_client=http_client, timeout=timeout, user_agent=user_agent
        )
        self.retrier = Retrier(retry_policy or DEFAULT_RETRY_POLICY, check_max_retries(max_retries))
        self.deadline = check_deadline(deadline)
        """Default overall deadline of a call (seconds, all attempts), or ``None``."""

    @property
    def timeout(self) -> httpx.Timeout:
        """The default timeout of each attempt."""
        return self._timeout

    @timeout.setter
    def timeout(self, value: httpx.Timeout) -> None:
        self._timeout = value
        self.timeout_extension = value.as_dict()
        self.time_limit = attempt_time_limit(value)

    @property
    def closed(self) -> bool:
        """Whether the client (or any copy of it) was closed."""
        return self._state.closed

    async def aclose(self, *, close_http_client: bool) -> None:
        """Close for good: release the credentials, then the connection pool if asked."""
        if self._state.closed:
            return
        self._state.closed = True
        try:
            await self.auth.aclose(self.auth_context)
        finally:
            if close_http_client:
                await self.http_client.aclose()

    def with_options(
        self,
        *,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        retry_policy: RetryPolicy | NotGiven = NOT_GIVEN,
        deadline: float | NotGiven | None = NOT_GIVEN,
        extra_headers: Mapping[str, str] | None = None,
        rate_limiter: Limiter | NotGiven | None = NOT_GIVEN,
        max_response_size: int | NotGiven | None = NOT_GIVEN,
    ) -> Pipeline:
        """A copy with other defaults that shares the HTTP client, the :class:`Auth`
        and the closed state."""
        clone = object.__new__(Pipeline)
        clone.__dict__.update(self.__dict__)
        if not isinstance(timeout, NotGiven):
            clone.timeout = _timeout(timeout)
        if not isinstance(max_retries, NotGiven) or not isinstance(retry_policy, NotGiven):
            clone.retrier = Retrier(
                self.retrier.policy if isinstance(retry_policy, NotGiven) else retry_policy,
                self.retrier.max_retries
                if isinstance(max_retries, NotGiven)
                else check_max_retries(max_retries),
            )
        if not isinstance(deadline, NotGiven):
            clone.deadline = check_deadline(deadline)
        if extra_headers:
            clone.headers = {**self.headers, **extra_headers}
        if not isinstance(rate_limiter, NotGiven):
            clone.rate_limiter = rate_limiter
        if not isinstance(max_response_size, NotGiven):
            clone.max_response_size = check_max_response_size(max_response_size)
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
        raw: bool,
    ) -> Any:
        """Send one operation and return its answer (an :class:`APIResponse`, or with
        ``raw=False`` the parsed model), or raise the mapped error."""
        if self._state.closed:
            raise RuntimeError("this AsyncThingSpaceClient is closed; create a new one")
        call = _Call(self, endpoint, path, params, body, headers, options)
        retrier = self.retrier
        max_retries = (
            check_max_retries(options["max_retries"])
            if "max_retries" in options
            else retrier.max_retries
        )
        deadline = check_deadline(options["deadline"]) if "deadline" in options else self.deadline
        budget = retrier.policy.budget
        # Only a debug log line needs the time.
        started = time.perf_counter() if log.isEnabledFor(logging.DEBUG) else 0.0
        if deadline is not None and (budget is None or deadline < budget):
            budget = deadline
        try:
            with _NO_DEADLINE if deadline is None else anyio.fail_after(deadline):
                # The first attempt is awaited here, not inside the retry loop: nearly
                # every call ends with it, and each coroutine layer between the request's
                # task and the socket is paid again at every resumption.
                begun = time.monotonic()
                outcome = await call.attempt()
                if retrier.worth_retrying(outcome, max_retries):
                    outcome = await retrier.retry(
                        outcome, call.attempt, max_retries=max_retries, budget=budget, started=begun
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
        "max_size",
        "params",
        "pipeline",
        "time_limit",
        "timeout",
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
        options: RequestOptions,
    ) -> None:
        if options and not _OPTION_NAMES.issuperset(options):
            raise _unknown_options(endpoint, options)
        self.pipeline = pipeline
        self.endpoint = endpoint
        self.url = pipeline.base_url + (endpoint.path.format_map(path) if path else endpoint.path)
        self.params = params
        self.attempts = 0
        request_headers = pipeline.headers
        self.content: bytes | None = None
        if body is not None:
            # What `model_dump_json(...).encode()` gives, without the str in between.
            self.content = body.__pydantic_serializer__.to_json(
                body, by_alias=True, exclude_none=True
            )
            request_headers = {**request_headers, **_JSON_HEADERS}
        extra = options.get("extra_headers") if options else None
        if headers or extra:
            request_headers = {**request_headers, **(headers or {}), **(extra or {})}
        self.headers = request_headers
        if "timeout" in options:
            self.timeout = _timeout(options["timeout"]).as_dict()
            self.time_limit = attempt_time_limit(self.timeout)
        else:
            self.timeout = pipeline.timeout_extension
            self.time_limit = pipeline.time_limit
        self.max_size = (
            check_max_response_size(options["max_response_size"])
            if "max_response_size" in options
            else pipeline.max_response_size
        )

    async def attempt(self) -> Outcome:
        """Send once, with credentials; failures are returned, not raised, so the retry
        loop sees every outcome the same way. When the answer says the credentials were
        refused and the :class:`Auth` renewed them, the request is replayed within the
        same attempt (a replay is not a retry)."""
        self.attempts += 1
        pipeline = self.pipeline
        auth, context = pipeline.auth, pipeline.auth_context
        refusals: set[tuple[int, str | None]] | None = None
        try:
            while True:
                sent = await auth.auth_headers(context)
                if pipeline.rate_limiter is not None:
                    await pipeline.rate_limiter.acquire()
                response = await fetch(
                    pipeline.http_client,
                    self._request(sent),
                    max_size=self.max_size,
                    time_limit=self.time_limit,
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
        except (httpx.RequestError, APIConnectionError) as exc:
            return exc
        except httpx.InvalidURL as exc:
            raise RequestValidationError(f"invalid request URL: {exc}") from None

    def _request(self, credentials: Mapping[str, str]) -> httpx.Request:
        return self.pipeline.http_client.build_request(
            self.endpoint.method,
            self.url,
            params=self.params,
            headers={**self.headers, **credentials} if credentials else self.headers,
            content=self.content,
            # The timeout as httpx stores it, worked out once per configuration rather
            # than by httpx on every request.
            extensions={"timeout": self.timeout},
        )


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
            )
        if 200 <= outcome.status_code < 300:
            return APIResponse(outcome, endpoint.shape)
        # Nothing but a 2xx is a result: a redirect is an error too (RedirectError).
        raise make_status_error(outcome, attempts=attempts)
    if isinstance(outcome, (httpx.RequestError, APIConnectionError)):
        raise connection_error(outcome, attempts=attempts) from outcome
    raise outcome  # pragma: no cover - attempts return only the kinds above


def _unknown_options(endpoint: Endpoint[Any], options: RequestOptions) -> TypeError:
    name = sorted(set(options) - _OPTION_NAMES)[0]
    close = difflib.get_close_matches(name, _OPTION_NAMES, n=1)
    hint = (
        f"; did you mean {close[0]!r}?"
        if close
        else f" (options: {', '.join(sorted(_OPTION_NAMES))})"
    )
    return TypeError(f"{endpoint.name}() got an unexpected keyword argument {name!r}{hint}")


def check_max_response_size(value: object) -> int | None:
    """Check a ``max_response_size``: bytes (at least 1), or ``None`` for no limit."""
    return None if value is None else count(value, "max_response_size", minimum=1)


def _timeout(value: TimeoutTypes | httpx.Timeout) -> httpx.Timeout:
    # None means "no timeout at all", as it does for httpx.
    return value if isinstance(value, httpx.Timeout) else httpx.Timeout(value)
