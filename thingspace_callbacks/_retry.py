"""When a failed request is tried again, how long to wait first, and when to give up.

The policy is a handful of pure functions (:func:`parse_retry_after`,
:func:`is_retryable`, :func:`should_retry`, :func:`retry_wait`, :func:`should_stop`),
tested on their own with tables. :func:`retry` only hands them to
``tenacity.AsyncRetrying``, which runs the loop and sleeps through ``anyio.sleep`` so
retries work under asyncio and trio alike. How many retries and the time budget are a
call's options (:class:`RetrySettings`, which ``ResolvedOptions`` provides).
"""

from __future__ import annotations

import email.utils
import functools
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timezone
from typing import TYPE_CHECKING, Protocol, cast

import anyio
import httpx

from ._checks import optional_seconds, seconds
from ._constants import (
    DEFAULT_INITIAL_BACKOFF,
    DEFAULT_MAX_BACKOFF,
    DEFAULT_MAX_RETRY_AFTER,
    DEFAULT_RETRY_BUDGET,
    LOGGER_NAME,
)
from ._errors import APIConnectionError, APIError, APIStatusError
from ._exports import publish

if TYPE_CHECKING:
    from tenacity import RetryCallState


__all__ = [
    "RETRYABLE_METHODS",
    "RETRYABLE_STATUS_CODES",
    "RetryPolicy",
    "RetrySettings",
    "backoff",
    "describe",
    "is_retryable",
    "log_fields",
    "parse_retry_after",
    "retry",
    "retry_wait",
    "should_retry",
    "should_stop",
    "worth_retrying",
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
"""What one attempt produced: an answer, or the exception that stands for its failure
(a transport error such as ``httpx.ConnectError``, or one of this SDK's errors)."""

_DELAY_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")


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
        seconds(self.initial_backoff, "initial_backoff")
        seconds(self.max_backoff, "max_backoff")
        seconds(self.max_retry_after, "max_retry_after")
        optional_seconds(self.budget, "budget")


DEFAULT_RETRY_POLICY = RetryPolicy()


class RetrySettings(Protocol):
    """What the retry loop reads of a call's resolved options (``_options`` imports this
    module for :class:`RetryPolicy`, so the loop names only what it needs)."""

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt."""
        ...

    @property
    def retry_policy(self) -> RetryPolicy:
        """How retries wait and when they give up."""
        ...

    @property
    def budget(self) -> float | None:
        """Seconds every attempt and wait may take in all, or ``None``."""
        ...


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

    Connection failures and timeouts (``httpx.TransportError`` or
    :class:`APIConnectionError`) are; so are answers with a status in
    :data:`RETRYABLE_STATUS_CODES`; nothing else is. The request's method must be in
    :data:`RETRYABLE_METHODS`.
    """
    if isinstance(outcome, httpx.Response):
        return (
            outcome.status_code in RETRYABLE_STATUS_CODES
            and outcome.request.method in RETRYABLE_METHODS
        )
    if isinstance(outcome, (APIConnectionError, httpx.TransportError)):
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


def worth_retrying(first: Outcome, options: RetrySettings) -> bool:
    """Whether a call's first outcome starts the retry loop.

    The caller sends the first attempt itself and asks this: a call that succeeds
    (nearly all of them) never builds a tenacity loop, whose setup costs about as much
    CPU as the rest of this SDK's work on a request (measured with
    ``benchmarks/bench_overhead.py``).
    """
    if options.max_retries == 0 or (isinstance(first, httpx.Response) and first.status_code < 400):
        return False
    return should_retry(first, options.retry_policy, time.time())


def log_fields(operation: str | None, attempt: int) -> dict[str, object]:
    """The structured fields (``extra``) of the SDK's log records about a call: the
    operation (``location.register``), its family and the attempt."""
    family = operation.partition(".")[0] if operation else None
    return {"operation": operation, "family": family, "attempt": attempt}


async def retry(
    first: Outcome,
    attempt: Callable[[], Awaitable[Outcome]],
    options: RetrySettings,
    *,
    started: float,
    operation: str | None = None,
    on_wait: Callable[[str, float], None] | None = None,
) -> Outcome:
    """Call ``attempt`` again after a ``first`` outcome worth retrying, until an outcome
    is not worth retrying or the call's ``max_retries`` retries or time ``budget`` are
    spent; return the last outcome.

    ``tenacity.AsyncRetrying``, driven by the policy functions above, runs the loop
    with ``first`` as its first attempt: tenacity alone counts, waits, logs and stops.
    ``attempt`` returns failures (an error answer, a transport error) rather than
    raising them; whatever it raises ends the call unretried. ``started`` is when the
    first attempt began (``time.monotonic()``), which the budget counts from. tenacity
    is imported at the first retry. ``operation`` names the call in log records;
    ``on_wait`` is told of each wait (its reason and seconds) before it begins.
    """
    from tenacity.asyncio import AsyncRetrying

    policy = options.retry_policy
    max_attempts = options.max_retries + 1
    budget = options.budget
    pending = [first]

    async def next_outcome() -> Outcome:
        return pending.pop() if pending else await attempt()

    retrying = AsyncRetrying(
        sleep=anyio.sleep,
        retry=lambda state: should_retry(_outcome(state), policy, time.time()),
        wait=lambda state: retry_wait(_outcome(state), state.attempt_number, policy, time.time()),
        stop=lambda state: should_stop(
            attempt=state.attempt_number,
            max_attempts=max_attempts,
            elapsed=time.monotonic() - started,
            upcoming_wait=state.upcoming_sleep,
            budget=budget,
        ),
        before_sleep=functools.partial(_before_wait, max_attempts, operation, on_wait),
        # Out of attempts: hand back the last outcome for the caller to raise.
        retry_error_callback=_outcome,
    )
    return cast(Outcome, await retrying(next_outcome))


def _outcome(state: RetryCallState) -> Outcome:
    # Attempts return their failures, so every outcome is a result.
    assert state.outcome is not None  # tenacity sets it before asking
    return cast(Outcome, state.outcome.result())


def _before_wait(
    max_attempts: int,
    operation: str | None,
    on_wait: Callable[[str, float], None] | None,
    state: RetryCallState,
) -> None:
    outcome = _outcome(state)
    if on_wait is not None:
        on_wait(reason_kind(outcome), state.upcoming_sleep)
    request = outcome.request if isinstance(outcome, (httpx.Response, APIError)) else None
    if request is None and isinstance(outcome, httpx.RequestError):
        request = outcome.request
    reason = describe(outcome)
    # Method and path only: query strings and headers may carry credentials.
    log.info(
        "%s %s: attempt %d of %d failed (%s); retrying in %.2f s",
        request.method if request is not None else "-",
        request.url.path if request is not None else "-",
        state.attempt_number,
        max_attempts,
        reason,
        state.upcoming_sleep,
        extra={
            **log_fields(operation, state.attempt_number),
            "retry_attempt": state.attempt_number,
            "retry_reason": reason,
            "retry_wait": state.upcoming_sleep,
        },
    )


def reason_kind(outcome: Outcome) -> str:
    """A failure's kind, few enough to count by: the status code of an answer, else
    the exception's class name (``ConnectTimeout``, ``RemoteProtocolError``)."""
    if isinstance(outcome, httpx.Response):
        return str(outcome.status_code)
    if isinstance(outcome, APIStatusError):
        return str(outcome.status_code)
    cause = outcome.__cause__ if isinstance(outcome, APIConnectionError) else None
    return type(cause if isinstance(cause, Exception) else outcome).__name__


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


publish(globals())  # exported classes report the package as their module
