"""When a failed request is tried again, how long to wait first, and when to give up.

The policy is a handful of pure functions (:func:`parse_retry_after`,
:func:`is_retryable`, :func:`should_retry`, :func:`retry_wait`, :func:`should_stop`),
tested on their own with tables. :class:`Retrier` only wires them into
``tenacity.AsyncRetrying``, which runs the loop and sleeps through ``anyio.sleep`` so
retries work under asyncio and trio alike.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timezone
from typing import TYPE_CHECKING, Any, TypeGuard, cast

import anyio
import httpx

from . import _publish
from ._constants import (
    DEFAULT_INITIAL_BACKOFF,
    DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_RETRY_AFTER,
    DEFAULT_RETRY_BUDGET,
    LOGGER_NAME,
)
from ._errors import APIConnectionError, APIStatusError, RequestValidationError

if TYPE_CHECKING:
    from tenacity import RetryCallState
    from tenacity.asyncio import AsyncRetrying

__all__ = [
    "RETRYABLE_METHODS",
    "RETRYABLE_STATUS_CODES",
    "Retrier",
    "RetryPolicy",
    "backoff",
    "check_deadline",
    "check_max_retries",
    "describe",
    "is_retryable",
    "parse_retry_after",
    "retry_wait",
    "should_retry",
    "should_stop",
]

log = logging.getLogger(LOGGER_NAME)

RETRYABLE_STATUS_CODES: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504, 521, 522, 524})
"""Answers worth another try: a timeout or rate limit (408, 429), a server or gateway
failure (500, 502, 503, 504) and the origin-unreachable answers Verizon's gateways send
(521, 522, 524). No other 4xx is retried: the same request would fail the same way."""

RETRYABLE_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "POST"})
"""Methods that are safe to send twice. POST is here because every POST this SDK sends
registers *the* listener of an (account, service) pair: repeating it sets the same URL
again rather than adding a second listener. Turn retries off for one call with
``max_retries=0``."""

Outcome = httpx.Response | BaseException
"""What one attempt produced: an answer, or the exception it raised."""

_DELAY_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def _is_number(value: object) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How retries wait and when they give up, for ``AsyncThingSpaceClient(retry_policy=...)``.

    How *many* retries is set apart, by ``max_retries`` (client, ``with_options`` or
    per call). All values are seconds.

    ======================  ==========  ==============================================
    field                   default     meaning
    ======================  ==========  ==============================================
    ``initial_backoff``     0.5         upper bound of the first wait without
                                        ``Retry-After``; doubles on each retry
    ``max_backoff``         8           upper bound of any such wait
    ``max_retry_after``     60          the longest ``Retry-After`` honoured; when the
                                        server asks for longer, the error is raised
                                        at once
    ``budget``              120         total time a call may spend: no retry starts
                                        when its wait would end past it (``None``:
                                        no budget)
    ======================  ==========  ==============================================

    Waits without ``Retry-After`` use "full jitter": a random time between 0 and the
    bound, which spreads out clients that failed together.
    """

    initial_backoff: float = DEFAULT_INITIAL_BACKOFF
    max_backoff: float = DEFAULT_MAX_BACKOFF
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    budget: float | None = DEFAULT_RETRY_BUDGET

    def __post_init__(self) -> None:
        for name in ("initial_backoff", "max_backoff", "max_retry_after", "budget"):
            value = getattr(self, name)
            if name == "budget" and value is None:
                continue
            if not _is_number(value) or not math.isfinite(value) or value < 0:
                raise RequestValidationError(
                    f"RetryPolicy {name!r} must be a finite number of seconds >= 0, got {value!r}"
                )


DEFAULT_RETRY_POLICY = RetryPolicy()


def check_max_retries(value: object) -> int:
    """Check a ``max_retries`` argument: a whole number, 0 or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RequestValidationError(f"'max_retries' must be an int >= 0, got {value!r}")
    return value


def check_deadline(value: object) -> float | None:
    """Check a ``deadline`` argument: seconds above 0, or ``None`` for no deadline."""
    if value is None:
        return None
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        raise RequestValidationError(
            f"'deadline' must be a number of seconds > 0, or None; got {value!r}"
        )
    return float(value)


def parse_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the server asked us to wait, or ``None`` when it did not say (usably).

    Reads ``Retry-After-Ms`` (milliseconds), then ``Retry-After`` as seconds (decimals
    allowed) or as an HTTP date, compared with ``now`` (a Unix time). A date in the past
    means 0. Values that are not a plain number or a date (negative, ``inf``, ``nan``,
    empty, malformed) give ``None``; a number too big for a float gives ``inf``.
    ``headers`` is an ``httpx.Headers`` or a mapping with lower-case names.
    """
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        value = _delay_seconds(milliseconds)
        if value is not None:
            return value / 1000
    text = headers.get("retry-after")
    if text is None:
        return None
    value = _delay_seconds(text)
    if value is not None:
        return value
    try:
        when = email.utils.parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # HTTP dates are always GMT (RFC 9110 5.6.7); "-0000" parses as naive.
        when = when.replace(tzinfo=timezone.utc)
    try:
        return max(0.0, when.timestamp() - now)
    except (OverflowError, ValueError):
        return None


def is_retryable(outcome: Outcome) -> bool:
    """Whether an attempt's outcome is worth another try, by kind alone.

    Connection failures and timeouts are; so are answers with a status in
    :data:`RETRYABLE_STATUS_CODES`; nothing else is. The request's method must be in
    :data:`RETRYABLE_METHODS`.
    """
    if isinstance(outcome, httpx.Response):
        return (
            outcome.status_code in RETRYABLE_STATUS_CODES
            and outcome.request.method in RETRYABLE_METHODS
        )
    if isinstance(outcome, APIConnectionError):
        return outcome.request.method in RETRYABLE_METHODS
    if isinstance(outcome, APIStatusError):
        return is_retryable(outcome.response)
    return False


def should_retry(outcome: Outcome, policy: RetryPolicy, now: float) -> bool:
    """:func:`is_retryable`, unless the server asked for a wait longer than
    ``policy.max_retry_after``: then the error is raised at once, ``Retry-After`` and all."""
    if not is_retryable(outcome):
        return False
    server_wait = _server_wait(outcome, now)
    return server_wait is None or server_wait <= policy.max_retry_after


def backoff(
    attempt: int,
    *,
    initial: float,
    maximum: float,
    rand: Callable[[], float] = random.random,
) -> float:
    """Full-jitter exponential backoff: a random wait in ``[0, min(maximum,
    initial * 2 ** (attempt - 1)))`` after the ``attempt``-th failure (1-based)."""
    # Past 2**60 the bound is the maximum anyway; this keeps the power finite.
    bound = min(maximum, initial * 2.0 ** min(max(attempt - 1, 0), 60))
    return rand() * bound


def retry_wait(
    outcome: Outcome,
    attempt: int,
    policy: RetryPolicy,
    now: float,
    rand: Callable[[], float] = random.random,
) -> float:
    """How long to wait after the ``attempt``-th failure: the server's ``Retry-After``
    (never above ``policy.max_retry_after``), else :func:`backoff`."""
    server_wait = _server_wait(outcome, now)
    if server_wait is not None:
        return min(server_wait, policy.max_retry_after)
    return backoff(attempt, initial=policy.initial_backoff, maximum=policy.max_backoff, rand=rand)


def should_stop(
    *,
    attempt: int,
    max_attempts: int,
    elapsed: float,
    upcoming_wait: float,
    budget: float | None,
) -> bool:
    """Whether to give up after the ``attempt``-th failure: the attempts are spent, or
    the wait before the next one would end past the time ``budget``."""
    if attempt >= max_attempts:
        return True
    return budget is not None and elapsed + upcoming_wait > budget


def describe(outcome: Outcome) -> str:
    """A short reason for logs: status line or exception kind, never headers or body."""
    if isinstance(outcome, httpx.Response):
        return f"{outcome.status_code} {outcome.reason_phrase}".rstrip()
    if isinstance(outcome, APIStatusError):
        return describe(outcome.response)
    if isinstance(outcome, APIConnectionError):
        return f"{type(outcome).__name__}: {outcome.message}"
    return type(outcome).__name__


class Retrier:
    """Runs the retry loop for one client configuration.

    Built once per configuration and shared by every call. The first attempt runs
    without tenacity, which keeps the common case (one attempt) cheap; only a failure
    worth retrying starts a tenacity loop, which replays that first outcome as its
    attempt 1 so counting, logging and stopping all happen in one place. tenacity
    itself is imported at the first retry, so programs that never retry never load it.
    """

    __slots__ = ("_template", "max_retries", "policy")

    def __init__(self, policy: RetryPolicy, max_retries: int) -> None:
        self.policy = policy
        self.max_retries = max_retries
        self._template: AsyncRetrying | None = None

    def _retrying(self, stop: _Stop) -> AsyncRetrying:
        """A tenacity loop for one retried call (tenacity keeps the loop's state on
        the object), copied from a template built at this retrier's first retry."""
        template = self._template
        if template is None:
            from tenacity.asyncio import AsyncRetrying
            from tenacity.stop import stop_never

            template = self._template = AsyncRetrying(
                sleep=anyio.sleep,
                stop=stop_never,
                wait=self._wait,
                retry=self._retry,
                before_sleep=_log_retry,
                reraise=True,
                # Out of attempts with an answer (not an exception) in hand: hand the
                # answer back, so the caller raises the status error with the attempts
                # counted.
                retry_error_callback=_last_outcome,
            )
        return template.copy(stop=stop)

    async def run(
        self,
        send: Callable[[], Awaitable[httpx.Response]],
        *,
        max_retries: int,
        deadline: float | None,
    ) -> httpx.Response:
        """Call ``send`` until it gives an answer not worth retrying, or until
        ``max_retries`` retries, the budget or the ``deadline`` (seconds from now) are
        used up; return the last answer or raise the last exception."""
        if max_retries == 0:
            return await send()
        started = time.monotonic()
        first: Outcome
        try:
            response = await send()
        except APIConnectionError as exc:
            if not should_retry(exc, self.policy, time.time()):
                raise
            first = exc
        else:
            if response.status_code < 400 or not should_retry(response, self.policy, time.time()):
                return response
            first = response
        budget = self.policy.budget
        if deadline is not None and (budget is None or deadline < budget):
            budget = deadline
        retrying = self._retrying(_Stop(max_retries + 1, budget, started))
        return cast(httpx.Response, await retrying(_Replay(first, send).next))

    def _retry(self, state: RetryCallState) -> bool:
        return should_retry(_outcome(state), self.policy, time.time())

    def _wait(self, state: RetryCallState) -> float:
        return retry_wait(_outcome(state), state.attempt_number, self.policy, time.time())

    def __repr__(self) -> str:
        return f"Retrier(max_retries={self.max_retries}, policy={self.policy!r})"


class _Stop:
    """tenacity stop condition for one call: attempts spent, or budget passed."""

    __slots__ = ("budget", "max_attempts", "started")

    def __init__(self, max_attempts: int, budget: float | None, started: float) -> None:
        self.max_attempts = max_attempts
        self.budget = budget
        self.started = started

    def __call__(self, state: RetryCallState) -> bool:
        return should_stop(
            attempt=state.attempt_number,
            max_attempts=self.max_attempts,
            elapsed=time.monotonic() - self.started,
            upcoming_wait=state.upcoming_sleep,
            budget=self.budget,
        )


class _Replay:
    """Gives back the first attempt's outcome once, then sends for real."""

    __slots__ = ("_first", "_send")

    def __init__(self, first: Outcome, send: Callable[[], Awaitable[httpx.Response]]) -> None:
        self._first: Outcome | None = first
        self._send = send

    async def next(self) -> httpx.Response:
        first = self._first
        if first is None:
            return await self._send()
        self._first = None
        if isinstance(first, BaseException):
            raise first
        return first


def _outcome(state: RetryCallState) -> Outcome:
    future = state.outcome
    if future is None:  # pragma: no cover - tenacity sets it before asking
        raise RuntimeError("no outcome yet")
    if future.failed:
        exc = future.exception()
        if exc is not None:
            return exc
    return cast(httpx.Response, future.result())


def _last_outcome(state: RetryCallState) -> Any:
    future = state.outcome
    if future is None:  # pragma: no cover - tenacity sets it before giving up
        raise RuntimeError("no outcome yet")
    return future.result()


def _log_retry(state: RetryCallState) -> None:
    outcome = _outcome(state)
    request = cast("httpx.Request", getattr(outcome, "request", None))
    reason = describe(outcome)
    stop = state.retry_object.stop
    max_attempts = stop.max_attempts if isinstance(stop, _Stop) else 0
    # Method and path only: query strings and headers may carry credentials.
    log.info(
        "%s %s: attempt %d of %d failed (%s); retrying in %.2f s",
        request.method,
        request.url.path,
        state.attempt_number,
        max_attempts,
        reason,
        state.upcoming_sleep,
        extra={
            "retry_attempt": state.attempt_number,
            "retry_reason": reason,
            "retry_wait": state.upcoming_sleep,
        },
    )


def _server_wait(outcome: Outcome, now: float) -> float | None:
    if isinstance(outcome, httpx.Response):
        return parse_retry_after(outcome.headers, now)
    if isinstance(outcome, APIStatusError):
        return parse_retry_after(outcome.headers, now)
    return None


def _delay_seconds(text: str) -> float | None:
    text = text.strip()
    if not _DELAY_SECONDS.fullmatch(text):
        return None
    # A digit string too long for a float becomes inf: "longer than any cap".
    return float(text)


_publish(globals())  # exported classes report the package as their module
