"""The client's status-to-error mapping, pinned down for the mutation session.

``nox -s mutants`` mutates ``status_error_class`` and ``make_status_error`` as well as
the receiver's verifiers; these tests kill the mutants the client's own tests left
alive (the class at each boundary status, the session-token exception for 400, and
what the built error carries).
"""

from __future__ import annotations

import json

import httpx
import pytest

from thingspace_callbacks import _errors as errors


def _response(status: int, body: object = None, *, text: str | None = None) -> httpx.Response:
    content = (
        text.encode() if text is not None else b"" if body is None else json.dumps(body).encode()
    )
    request = httpx.Request("GET", "https://thingspace.verizon.com/api/m2m/v1/devices")
    response = httpx.Response(status, content=content, request=request)
    response.read()
    return response


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (299, "APIStatusError"),
        (300, "RedirectError"),
        (301, "RedirectError"),
        (399, "RedirectError"),
        (400, "BadRequestError"),
        (401, "AuthenticationError"),
        (403, "PermissionDeniedError"),
        (404, "NotFoundError"),
        (409, "ConflictError"),
        (418, "APIStatusError"),
        (422, "UnprocessableEntityError"),
        (429, "RateLimitError"),
        (499, "APIStatusError"),
        (500, "InternalServerError"),
        (503, "InternalServerError"),
        (599, "InternalServerError"),
    ],
)
def test_each_status_maps_to_its_class(status: int, expected: str) -> None:
    assert errors.status_error_class(status) is getattr(errors, expected)


def test_the_built_error_carries_the_answer() -> None:
    body = {"errorCode": "INVALID_PARAMETER", "errorMessage": "bad account"}
    error = errors.make_status_error(_response(404, body), attempts=3)
    assert type(error) is errors.NotFoundError
    assert (error.status_code, error.error_code, error.error_message) == (
        404,
        "INVALID_PARAMETER",
        "bad account",
    )
    assert error.body == body
    assert error.attempts == 3
    assert errors.make_status_error(_response(500)).attempts == 1


@pytest.mark.parametrize(
    "body",
    [
        {"errorCode": "REQUEST_FAILED.SessionToken.Expired", "errorMessage": "expired"},
        {"errorCode": "UnifiedWebService.REQUEST_FAILED.SessionToken.Invalid"},
    ],
)
def test_a_400_refusing_the_session_token_is_an_authentication_error(body: object) -> None:
    error = errors.make_status_error(_response(400, body), attempts=2)
    assert type(error) is errors.AuthenticationError
    assert error.status_code == 400
    assert error.body == body
    assert error.attempts == 2


def test_other_refusals_keep_their_class() -> None:
    session = {"errorCode": "REQUEST_FAILED.SessionToken.Expired"}
    assert type(errors.make_status_error(_response(400, {"errorCode": "X"}))) is (
        errors.BadRequestError
    )
    # Only a 400 is re-classed; a 403 saying the same is still a permission refusal.
    assert type(errors.make_status_error(_response(403, session))) is errors.PermissionDeniedError
    assert type(errors.make_status_error(_response(400, text="plain text"))) is (
        errors.BadRequestError
    )
