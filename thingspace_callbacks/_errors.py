"""The exceptions this SDK raises.

Every exception derives from :class:`ThingSpaceError`, and the tree mirrors where a
failure happened::

    ThingSpaceError
    ├── InvalidArgumentError          bad arguments or settings; raised before anything is sent
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

import httpx

from ._auth.refused import session_refused
from ._error_body import body_fields, decoded_body, describe_answer, excerpt, request_id_of
from ._exports import publish
from ._redact import redact_url, without_credentials

__all__ = [
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
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "ResponseTooLargeError",
    "RestErrorResponseException",
    "ThingSpaceError",
    "UnprocessableEntityError",
    "connection_error",
    "make_status_error",
    "status_error_class",
]


class ThingSpaceError(Exception):
    """Base class of every exception raised by this SDK."""


class InvalidArgumentError(ThingSpaceError, ValueError):
    """An argument or a setting is missing or malformed: a call's argument (no request
    was sent), or the configuration of a client, receiver, store or sandbox (refused
    when it is built).

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
        super().__init__(message, response.request, body=excerpt(response))
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
            "(max_response_size); the rest was not read",
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
            body = decoded_body(response)
        self.response = response
        self.status_code = response.status_code
        self.error_code, self.error_message = body_fields(body)
        self.request_id = request_id_of(response.headers)
        self.attempts = attempts
        super().__init__(_after(message or self._describe(), attempts), response.request, body=body)
        response.request = self.request

    @property
    def headers(self) -> httpx.Headers:
        """The answer's headers (``Retry-After`` among them, when sent)."""
        return self.response.headers

    def _describe(self) -> str:
        return describe_answer(
            self.status_code,
            self.response.reason_phrase,
            self.error_code,
            self.error_message,
            self.request_id,
        )


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
    body = decoded_body(response)
    cls = status_error_class(response.status_code)
    if cls is BadRequestError and session_refused(response.status_code, *body_fields(body)):
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


publish(globals())  # exported classes report the package as their module
