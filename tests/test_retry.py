"""The retry policy's pure functions, pinned with tables and a frozen clock."""

from __future__ import annotations

import math
from email.utils import formatdate

import httpx
import pytest

from thingspace_callbacks import InvalidArgumentError, RetryPolicy
from thingspace_callbacks._errors import (
    APIConnectionError,
    APITimeoutError,
    InternalServerError,
)
from thingspace_callbacks._options import check_deadline, check_max_retries
from thingspace_callbacks._retry import (
    RETRYABLE_STATUS_CODES,
    backoff,
    describe,
    is_retryable,
    parse_retry_after,
    retry_wait,
    should_retry,
    should_stop,
)

NOW = 1_696_004_797.0  # Fri, 29 Sep 2023 16:26:37 GMT
URL = "https://thingspace.verizon.com/api/loc/v1/callbacks/0252012345-00001"


def http_date(offset: float) -> str:
    return formatdate(NOW + offset, usegmt=True)


def answer(
    status: int, method: str = "GET", headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request(method, URL))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({}, None, id="absent"),
        pytest.param({"retry-after": "7"}, 7.0, id="seconds"),
        pytest.param({"retry-after": "0"}, 0.0, id="zero"),
        pytest.param({"retry-after": "1.5"}, 1.5, id="decimal"),
        pytest.param({"retry-after": " 3 "}, 3.0, id="padded"),
        pytest.param({"retry-after": "-10"}, None, id="negative"),
        pytest.param({"retry-after": "inf"}, None, id="inf"),
        pytest.param({"retry-after": "Infinity"}, None, id="infinity"),
        pytest.param({"retry-after": "nan"}, None, id="nan"),
        pytest.param({"retry-after": "1e3"}, None, id="exponent"),
        pytest.param({"retry-after": "0x10"}, None, id="hex"),
        pytest.param({"retry-after": "1_000"}, None, id="underscore"),
        pytest.param({"retry-after": ""}, None, id="empty"),
        pytest.param({"retry-after": "   "}, None, id="blank"),
        pytest.param({"retry-after": "soon"}, None, id="word"),
        pytest.param({"retry-after": http_date(20)}, 20.0, id="date-ahead"),
        pytest.param({"retry-after": http_date(-20)}, 0.0, id="date-past"),
        pytest.param({"retry-after": "Fri, 29 Sep 2023 16:26:57 -0000"}, 20.0, id="date-naive"),
        pytest.param({"retry-after": "Fri, 32 Sep 2023 16:26:57 GMT"}, None, id="bad-day"),
        pytest.param({"retry-after": "Fri, 29 Foo 2023 16:26:57 GMT"}, None, id="bad-month"),
        pytest.param({"retry-after": "Fri, 29 Sep 100000 16:26:57 GMT"}, None, id="year-100000"),
        pytest.param({"retry-after": "Fri, 29 Sep 2023 25:61:57 GMT"}, None, id="bad-time"),
        pytest.param({"retry-after-ms": "1500"}, 1.5, id="ms"),
        pytest.param({"retry-after-ms": "250", "retry-after": "9"}, 0.25, id="ms-wins"),
        pytest.param({"retry-after-ms": "-1", "retry-after": "9"}, 9.0, id="bad-ms-falls-back"),
        pytest.param({"retry-after-ms": "nan"}, None, id="bad-ms-alone"),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, NOW) == expected


@pytest.mark.parametrize(
    ("value", "at_least"),
    [("9" * 35, 1e34), ("9" * 400, math.inf)],
    ids=["35-digits", "400-digits"],
)
def test_parse_retry_after_huge_numbers_are_huge(value: str, at_least: float) -> None:
    # A huge wait is still the server saying "much later": it must not turn into "now".
    assert parse_retry_after({"retry-after": value}, NOW) >= at_least  # type: ignore[operator]


def test_parse_retry_after_reads_httpx_headers_case_insensitively() -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": "4"}), NOW) == 4.0
    assert parse_retry_after(httpx.Headers({"RETRY-AFTER-MS": "40"}), NOW) == 0.04


@pytest.mark.parametrize("status", sorted(RETRYABLE_STATUS_CODES))
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "POST"])
def test_retryable_statuses_for_every_method(status: int, method: str) -> None:
    assert is_retryable(answer(status, method))


def test_retryable_status_set_is_the_documented_one() -> None:
    assert {408, 429, 500, 502, 503, 504, 521, 522, 524} == RETRYABLE_STATUS_CODES


@pytest.mark.parametrize(
    "status", [200, 201, 204, 301, 400, 401, 403, 404, 405, 409, 413, 422, 501, 505]
)
def test_other_statuses_are_not_retried(status: int) -> None:
    assert not is_retryable(answer(status))


def test_unknown_method_is_not_retried() -> None:
    assert not is_retryable(answer(503, "PATCH"))


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (APIConnectionError(httpx.Request("GET", URL)), True),
        (APIConnectionError(httpx.Request("POST", URL)), True),
        (APITimeoutError(httpx.Request("DELETE", URL)), True),
        (APIConnectionError(httpx.Request("PATCH", URL)), False),
        (InternalServerError(answer(503)), True),
        (InternalServerError(answer(501)), False),
        (InvalidArgumentError("bad"), False),
        (ValueError("bad"), False),
        (RuntimeError("bug"), False),
    ],
    ids=lambda value: type(value).__name__ if not isinstance(value, bool) else str(value),
)
def test_is_retryable_exceptions(outcome: BaseException, expected: bool) -> None:
    assert is_retryable(outcome) is expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (answer(503), True),
        (answer(429, headers={"retry-after": "60"}), True),
        (answer(429, headers={"retry-after": "61"}), False),
        (answer(429, headers={"retry-after": "9" * 35}), False),
        (answer(503, headers={"retry-after": http_date(3600)}), False),
        (answer(503, headers={"retry-after": "nan"}), True),
        (answer(400, headers={"retry-after": "1"}), False),
    ],
    ids=["no-header", "at-cap", "above-cap", "huge", "date-above-cap", "hostile", "not-retryable"],
)
def test_should_retry_refuses_waits_above_the_cap(response: httpx.Response, expected: bool) -> None:
    assert should_retry(response, RetryPolicy(max_retry_after=60), NOW) is expected


@pytest.mark.parametrize(
    ("attempt", "bound"),
    [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (6, 8.0), (1000, 8.0), (0, 0.5)],
)
def test_backoff_bound_doubles_up_to_the_cap(attempt: int, bound: float) -> None:
    assert backoff(attempt, initial=0.5, maximum=8.0, rand=lambda: 1.0) == bound
    assert backoff(attempt, initial=0.5, maximum=8.0, rand=lambda: 0.0) == 0.0
    assert backoff(attempt, initial=0.5, maximum=8.0, rand=lambda: 0.25) == bound / 4


def test_backoff_is_full_jitter() -> None:
    waits = [backoff(4, initial=0.5, maximum=8.0) for _ in range(200)]
    assert all(0.0 <= wait < 4.0 for wait in waits)
    # Full jitter spreads over the whole range, not just its top quarter.
    assert min(waits) < 1.0
    assert max(waits) > 3.0


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (answer(429, headers={"retry-after": "7"}), 7.0),
        (answer(503, headers={"retry-after": http_date(12)}), 12.0),
        (answer(503, headers={"retry-after": "0"}), 0.0),
        (answer(503, headers={"retry-after": "600"}), 60.0),
        (answer(503), 1.0 * 0.5),
        (answer(503, headers={"retry-after": "-3"}), 1.0 * 0.5),
        (APIConnectionError(httpx.Request("GET", URL)), 1.0 * 0.5),
        (InternalServerError(answer(503, headers={"retry-after": "5"})), 5.0),
    ],
    ids=[
        "seconds",
        "date",
        "zero",
        "clamped-to-cap",
        "backoff",
        "hostile-backoff",
        "exception-backoff",
        "status-error",
    ],
)
def test_retry_wait_prefers_retry_after(
    outcome: httpx.Response | Exception, expected: float
) -> None:
    policy = RetryPolicy(initial_backoff=0.5, max_backoff=8.0, max_retry_after=60)
    assert retry_wait(outcome, 1, policy, NOW, rand=lambda: 1.0) == expected


@pytest.mark.parametrize(
    ("attempt", "max_attempts", "elapsed", "upcoming", "budget", "stop"),
    [
        (1, 3, 0.0, 0.5, 120.0, False),
        (2, 3, 1.0, 1.0, 120.0, False),
        (3, 3, 2.0, 1.0, 120.0, True),
        (1, 1, 0.0, 0.0, None, True),
        (1, 3, 0.0, 30.0, 10.0, True),
        (1, 3, 9.0, 1.0, 10.0, False),
        (1, 3, 9.0, 1.5, 10.0, True),
        (2, 100, 1e6, 8.0, None, False),
    ],
)
def test_should_stop(
    attempt: int,
    max_attempts: int,
    elapsed: float,
    upcoming: float,
    budget: float | None,
    stop: bool,
) -> None:
    assert (
        should_stop(
            attempt=attempt,
            max_attempts=max_attempts,
            elapsed=elapsed,
            upcoming_wait=upcoming,
            budget=budget,
        )
        is stop
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_backoff": -1},
        {"max_backoff": math.nan},
        {"max_retry_after": math.inf},
        {"budget": -0.5},
        {"budget": True},
        {"initial_backoff": "1"},
    ],
)
def test_retry_policy_refuses_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError, match=next(iter(kwargs))):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_retry_policy_defaults() -> None:
    policy = RetryPolicy()
    assert (policy.initial_backoff, policy.max_backoff) == (0.5, 8.0)
    assert (policy.max_retry_after, policy.budget) == (60.0, 120.0)
    assert RetryPolicy(budget=None).budget is None


@pytest.mark.parametrize("value", [-1, True, 1.5, "2", None])
def test_check_max_retries_refuses(value: object) -> None:
    with pytest.raises(InvalidArgumentError, match="max_retries"):
        check_max_retries(value)


@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf, True, "5"])
def test_check_deadline_refuses(value: object) -> None:
    with pytest.raises(InvalidArgumentError, match="deadline"):
        check_deadline(value)


def test_check_deadline_accepts() -> None:
    assert check_deadline(None) is None
    assert check_deadline(2) == 2.0
    assert check_max_retries(0) == 0


def test_describe_names_status_or_failure_only() -> None:
    secret_request = httpx.Request(
        "GET", URL + "?token=s3cret", headers={"Authorization": "Bearer s3cret"}
    )
    response = httpx.Response(503, request=secret_request, text="s3cret in the body")
    assert describe(response) == "503 Service Unavailable"
    assert describe(InternalServerError(response)) == "503 Service Unavailable"
    failure = APIConnectionError(secret_request, message="Connection error: ReadError")
    assert describe(failure) == "APIConnectionError: Connection error: ReadError"
    assert "s3cret" not in describe(response) + describe(failure)
