"""The exceptions the receiver raises, each carrying the HTTP status it answers with.

::

    ThingSpaceError
    └── ReceiverError
        ├── MalformedMessageError      400  the body is not a UTF-8 JSON object
        │   └── MessageTypeError       422  it does not fit the handler's message type
        ├── RequestTimeoutError        408  the body did not arrive in time
        ├── PayloadTooLargeError       413  the body is over the size limit
        └── VerificationError          401  the message did not prove where it came from
            ├── InvalidCredentialsError    401  body username/password wrong or missing
            ├── InvalidSignatureError      401  HMAC signature wrong or missing
            └── ForbiddenSourceError       403  sender address not on the allow-list

Messages never contain the credentials, secrets or signatures involved: they say what
was wrong ("password does not match"), not with what.
"""

from __future__ import annotations

from typing import ClassVar

from .._errors import ThingSpaceError

__all__ = [
    "ForbiddenSourceError",
    "InvalidCredentialsError",
    "InvalidSignatureError",
    "MalformedMessageError",
    "MessageTypeError",
    "PayloadTooLargeError",
    "ReceiverError",
    "RequestTimeoutError",
    "VerificationError",
]


class ReceiverError(ThingSpaceError):
    """Base class of everything the receiver rejects a callback message for."""

    status_code: ClassVar[int] = 400
    """The HTTP status the receiver answers ThingSpace with for this error."""


class MalformedMessageError(ReceiverError, ValueError):
    """The body is not UTF-8 JSON, or not a JSON object (answered 400)."""


class MessageTypeError(MalformedMessageError):
    """The body is a JSON object but does not fit the message model the handler declared,
    e.g. a field of the wrong type (answered 422, the handler is not called)."""

    status_code: ClassVar[int] = 422


class RequestTimeoutError(ReceiverError):
    """The body did not arrive within the receiver's ``body_timeout`` (answered 408 and
    the connection closed)."""

    status_code: ClassVar[int] = 408


class PayloadTooLargeError(ReceiverError):
    """The body is larger than the receiver's ``max_body_size`` (answered 413)."""

    status_code: ClassVar[int] = 413


class VerificationError(ReceiverError):
    """The message failed a verification step (answered 401)."""

    status_code: ClassVar[int] = 401


class InvalidCredentialsError(VerificationError):
    """The ``username``/``password`` in the body are missing or do not match."""


class InvalidSignatureError(VerificationError):
    """The HMAC-SHA256 signature header is missing, malformed or does not match."""


class ForbiddenSourceError(VerificationError):
    """The sender's address is not on the allow-list (answered 403)."""

    status_code: ClassVar[int] = 403
