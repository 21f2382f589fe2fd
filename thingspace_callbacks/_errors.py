"""The exceptions this SDK raises.

Every exception derives from :class:`ThingSpaceError`, and the tree mirrors where a
failure happened::

    ThingSpaceError
    ├── RequestValidationError        bad arguments; raised before anything is sent
    └── APIError                      something went wrong talking to ThingSpace
        ├── APIConnectionError        the request never got an answer
        │   └── APITimeoutError       ... because a timeout or deadline ran out
        ├── APIResponseValidationError  a 2xx answer that is not the JSON we expect
        ├── ResponseTooLargeError     an answer larger than the size limit
        └── APIStatusError            the answer is not a 2xx
            ├── RedirectError              3xx (redirects are never followed)
            ├── BadRequestError            400
            ├── AuthenticationError        401 (and failed token or login calls)
            ├── PermissionDeniedError      403
            ├── NotFoundError              404
            ├── ConflictError              409
            ├── UnprocessableEntityError   422
            ├── RateLimitError             429
            └── InternalServerError        >= 500

The seed SDK's exception names (``ErrorException``, ``RestErrorResponseException``,
``ErrorResponseError2Exception``) are aliases of :class:`APIStatusError`, so
``except ErrorException:`` keeps working and catches every error answer.

No exception message contains a credential: messages are built from the status line
and the ``errorCode``/``errorMessage`` that ThingSpace sent, never from request headers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import httpx

from ._constants import ERROR_BODY_EXCERPT, REQUEST_ID_HEADERS
from ._exports import publish
from ._redact import redact_url

__all__ = [
    "BEARER_FAULT_CODES",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "ErrorException",
    "ErrorResponseError2Exception",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "RequestValidationError",
    "ResponseTooLargeError",
    "RestErrorResponseException",
    "ThingSpaceError",
    "UnprocessableEntityError",
    "bearer_refused",
    "error_data",
    "refused_credential",
    "session_refused",
]


# -- which credential an error answer refused ---------------------------------------
#
# A wrong or expired bearer token is refused by the API gateway with 401 and fault code
# 900901 (900902 when it is missing); an expired M2M session answers an errorCode
# containing "SessionToken.Expired" (".Invalid" / ".Format" for a malformed or missing
# one), with status 400 or 401 depending on the API; the Location API words it "The
# Session has expired." The error classes below and the credential renewal both read
# answers this way.

BEARER_FAULT_CODES = frozenset({"900901", "900902"})
"""API gateway fault codes for an invalid, expired or missing bearer token."""

_SESSION_MESSAGES = ("session has expired", "session token has expired")


def session_refused(status_code: int, error_code: str | None, error_message: str | None) -> bool:
    """Whether an answer says the M2M session token is expired, invalid or missing."""
    if status_code not in (400, 401):
        return False
    if error_code and "sessiontoken" in error_code.lower():
        return True
    message = (error_message or "").lower()
    return any(text in message for text in _SESSION_MESSAGES)


def bearer_refused(status_code: int, error_code: str | None) -> bool:
    """Whether an answer is the gateway refusing the bearer token (not a user's
    password, which the login endpoint refuses with its own codes)."""
    return status_code == 401 and error_code in BEARER_FAULT_CODES


def refused_credential(
    status_code: int, error_code: str | None, error_message: str | None
) -> Literal["access_token", "session_token"] | None:
    """Which credential an operation's error answer refused: the session when it says
    so, else the bearer token on any 401; ``None`` when the answer is not about
    credentials."""
    if session_refused(status_code, error_code, error_message):
        return "session_token"
    if status_code == 401:
        return "access_token"
    return None


class ThingSpaceError(Exception):
    """Base class of every exception raised by this SDK."""


class RequestValidationError(ThingSpaceError, ValueError):
    """An argument is missing or malformed; no request was sent.

    It is also a ``ValueError``, so code that guards against bad input generically
    keeps working.
    """


class APIError(ThingSpaceError):
    """A request to ThingSpace failed."""

    message: str
    """A human-readable description of the failure."""

    request: httpx.Request
    """The request that failed, as a copy without credential headers or body (the body
    of a registration may hold a listener password)."""

    body: object | None
    """The decoded JSON body of the answer, or its text when it is not JSON; ``None``
    when there was no answer."""

    def __init__(self, message: str, request: httpx.Request, *, body: object | None) -> None:
        super().__init__(message)
        self.message = message
        self.request = without_credentials(request)
        self.body = body


class APIConnectionError(APIError):
    """No answer arrived: the connection failed, was reset, or was refused."""

    attempts: int
    """How many attempts were made before giving up."""

    reason: str
    """What went wrong, without the count of attempts ``message`` ends with."""

    def __init__(
        self,
        request: httpx.Request,
        *,
        message: str = "Connection error.",
        attempts: int = 1,
    ) -> None:
        super().__init__(_after(message, attempts), request, body=None)
        self.reason = message
        self.attempts = attempts


class APITimeoutError(APIConnectionError):
    """A timeout (connect, read, write, pool) or the call's deadline ran out."""

    def __init__(
        self, request: httpx.Request, *, message: str = "Request timed out.", attempts: int = 1
    ) -> None:
        super().__init__(request, message=message, attempts=attempts)


class APIResponseValidationError(APIError):
    """ThingSpace answered 2xx, but the body is not the JSON this operation returns.

    ``body`` holds the raw text (the first few KB of it), ``response`` the answer.
    """

    response: httpx.Response
    status_code: int

    def __init__(self, response: httpx.Response, *, message: str) -> None:
        super().__init__(message, response.request, body=_excerpt(response))
        response.request = self.request
        self.response = response
        self.status_code = response.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The answer's headers."""
        return self.response.headers


class ResponseTooLargeError(APIError):
    """The answer was larger than ``max_response_size`` (a broken or hostile server: a
    callback list is a few KB). What was read is dropped and the call is not retried;
    ``response`` keeps the status and headers, without the body."""

    response: httpx.Response
    status_code: int
    limit: int
    """The size limit in bytes that the answer passed."""

    def __init__(self, response: httpx.Response, *, limit: int) -> None:
        bare = httpx.Response(
            response.status_code, headers=response.headers, request=response.request
        )
        super().__init__(
            f"{response.status_code} answer is larger than the limit of {limit:,} bytes "
            "(max_response_size); not read",
            response.request,
            body=None,
        )
        bare.request = self.request
        self.response = bare
        self.status_code = response.status_code
        self.limit = limit

    @property
    def headers(self) -> httpx.Headers:
        """The answer's headers."""
        return self.response.headers


class APIStatusError(APIError):
    """ThingSpace answered with a status other than 2xx (4xx, 5xx, or a redirect).

    ``error_code`` and ``error_message`` are filled from whichever error shape the
    service used: ``{"errorCode", "errorMessage"}`` (all callback families), the API
    gateway's ``{"fault": {"code", "message"}}``, Hyper Precise Location's
    ``{"responseCode", "message"}`` (Verizon's newest SDK), or OAuth's
    ``{"error", "error_description"}``. When the body is not JSON, ``error_message`` is
    its text.
    """

    response: httpx.Response
    status_code: int

    error_code: str | None
    """The service's error code, such as ``"INVALID_PARAMETER"`` or
    ``"REQUEST_FAILED.SessionToken.Expired"``."""

    error_message: str | None
    """The service's error description."""

    request_id: str | None
    """The server's id for the request, when a response header carries one."""

    attempts: int
    """How many attempts were made; the last one got this answer."""

    def __init__(
        self,
        response: httpx.Response,
        *,
        body: object | None = None,
        message: str | None = None,
        attempts: int = 1,
    ) -> None:
        if body is None:
            body = _decode_body(response)
        self.response = response
        self.status_code = response.status_code
        self.error_code, self.error_message = _error_fields(body)
        self.request_id = request_id_of(response.headers)
        self.attempts = attempts
        super().__init__(_after(message or self._describe(), attempts), response.request, body=body)
        response.request = self.request

    @property
    def headers(self) -> httpx.Headers:
        """The answer's headers (``Retry-After`` among them, when sent)."""
        return self.response.headers

    def _describe(self) -> str:
        text = f"{self.status_code} {self.response.reason_phrase}".rstrip()
        details = ": ".join(part for part in (self.error_code, self.error_message) if part)
        if details:
            text = f"{text} - {details}"
        if self.request_id:
            text = f"{text} (request id {self.request_id})"
        return text


class RedirectError(APIStatusError):
    """3xx: the server pointed elsewhere. The SDK never follows a redirect (it would
    carry the credentials to wherever it points): check ``base_url``, or a proxy or
    captive portal in the way."""

    location: str | None
    """Where the answer pointed (``Location``), without any user or password in it."""

    def __init__(
        self,
        response: httpx.Response,
        *,
        body: object | None = None,
        message: str | None = None,
        attempts: int = 1,
    ) -> None:
        location = response.headers.get("location")
        self.location = None if location is None else redact_url(location)
        if message is None:
            where = f" to {self.location}" if self.location else " without a Location"
            message = (
                f"{response.status_code} {response.reason_phrase}: redirected{where}; "
                "redirects are not followed (is base_url right?)"
            ).replace("  ", " ")
        super().__init__(response, body=body, message=message, attempts=attempts)


class BadRequestError(APIStatusError):
    """400: the request was malformed or a parameter was refused."""


class AuthenticationError(APIStatusError):
    """401, an answer refusing the M2M session token (some APIs send 400), or a failed
    token or login request."""


class PermissionDeniedError(APIStatusError):
    """403: the credentials are valid but not allowed to do this."""


class NotFoundError(APIStatusError):
    """404: the account, service or listener does not exist."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the current state (e.g. a service not purchased)."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was well-formed but could not be processed."""


class RateLimitError(APIStatusError):
    """429: too many requests; ``headers`` may say how long to wait (``Retry-After``)."""


class InternalServerError(APIStatusError):
    """5xx: ThingSpace or its gateway failed."""


ErrorException = APIStatusError
"""The seed SDK's name for an error answer of the Diagnostics, Location and FOTA APIs."""

RestErrorResponseException = APIStatusError
"""The seed SDK's name for an error answer of the Connectivity Management API."""

ErrorResponseError2Exception = APIStatusError
"""The seed SDK's name for an error answer of the Hyper Precise Location API."""

_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The exception class that stands for ``status_code`` (any status but 2xx)."""
    if status_code >= 500:
        return InternalServerError
    if 300 <= status_code < 400:
        return RedirectError
    return _STATUS_ERRORS.get(status_code, APIStatusError)


def make_status_error(response: httpx.Response, *, attempts: int = 1) -> APIStatusError:
    """Build the exception for an error answer; the response must have been read.

    An answer refusing the M2M session token is an :class:`AuthenticationError` even
    when its status is 400, as some ThingSpace APIs send it.
    """
    body = _decode_body(response)
    cls = status_error_class(response.status_code)
    if cls is BadRequestError and session_refused(response.status_code, *_error_fields(body)):
        cls = AuthenticationError
    return cls(response, body=body, attempts=attempts)


def connection_error(
    cause: httpx.RequestError | APIConnectionError, *, attempts: int
) -> APIConnectionError:
    """The error for a request that got no usable answer after ``attempts`` attempts,
    naming the host and port it tried; ``cause`` is what the last attempt raised."""
    if isinstance(cause, APIConnectionError):
        # Raised while fetching credentials: already ours, counted once the call ends.
        if cause.attempts == attempts:
            return cause
        return type(cause)(cause.request, message=cause.reason, attempts=attempts)
    request = cause.request
    where = f"{request.url.host}:{request.url.port or _DEFAULT_PORTS.get(request.url.scheme, '')}"
    kind = type(cause).__name__
    if isinstance(cause, httpx.TimeoutException):
        # The SDK's own whole-answer limit says how long it waited; httpx's do not.
        detail = str(cause) if type(cause).__module__ == __package__ + "._send" else kind
        return APITimeoutError(
            request, message=f"Request to {where} timed out ({detail})", attempts=attempts
        )
    if isinstance(cause, httpx.TransportError):
        message = f"Connection error talking to {where}: {kind}"
    else:
        message = f"Could not read the answer from {where}: {kind}"
    return APIConnectionError(request, message=message, attempts=attempts)


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _after(message: str, attempts: int) -> str:
    """``message``, saying how many attempts were made when there were several."""
    if attempts <= 1:
        return message
    return f"{message.rstrip('.')} (after {attempts} attempts)"


_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "vz-m2m-token"})


def without_credentials(request: httpx.Request) -> httpx.Request:
    """A copy of ``request`` without credential headers or body, for keeping on an
    exception that may be logged. Copies are not copied again."""
    if request.extensions.get(_REDACTED):
        return request
    headers = [
        (name, value)
        for name, value in request.headers.multi_items()
        if name.lower() not in _CREDENTIAL_HEADERS
    ]
    return httpx.Request(request.method, request.url, headers=headers, extensions={_REDACTED: True})


_REDACTED = "thingspace_callbacks.redacted"


def error_data(exc: object, message: str | None = None) -> dict[str, Any]:
    """An error as plain JSON data (the CLI's ``--json``, a bulk results line, a queued
    job's outcome): its type and message (``message`` replaces the exception's own), and
    for an answer of ThingSpace its status, error code and message, and request id."""
    data: dict[str, Any] = {"type": type(exc).__name__, "message": message or str(exc)}
    if isinstance(exc, APIStatusError):
        data.update(
            status=exc.status_code,
            errorCode=exc.error_code,
            errorMessage=exc.error_message,
            requestId=exc.request_id,
        )
    return data


def error_fields(response: httpx.Response) -> tuple[str | None, str | None]:
    """The error code and message of a read error answer, from whichever shape it
    used (see :class:`APIStatusError`); ``(None, None)`` when it has neither."""
    return _error_fields(_decode_body(response))


def _decode_body(response: httpx.Response) -> object | None:
    if not response.content:
        return None
    try:
        decoded: object = json.loads(response.content)
    except ValueError:
        return _excerpt(response)
    return decoded


def _excerpt(response: httpx.Response) -> str:
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        text = response.content.decode("utf-8", "replace")
    return text[:ERROR_BODY_EXCERPT]


def _error_fields(body: object) -> tuple[str | None, str | None]:
    if isinstance(body, Mapping):
        fields: Mapping[str, Any] = body
        fault = fields.get("fault")
        if isinstance(fault, Mapping):
            fields = fault
        code = _first(fields, "errorCode", "code", "responseCode", "error")
        message = _first(fields, "errorMessage", "message", "error_description", "description")
        return code, message
    if isinstance(body, str) and body.strip():
        return None, body.strip()
    return None, None


def _first(fields: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = fields.get(name)
        if value is not None and not isinstance(value, (Mapping, list)):
            return str(value)
    return None


def request_id_of(headers: httpx.Headers) -> str | None:
    """The server's id for a request, from the first response header that carries one."""
    for name in REQUEST_ID_HEADERS:
        value: str | None = headers.get(name)
        if value:
            return value
    return None


publish(globals())  # exported classes report the package as their module
