"""The exceptions the receiver raises, each carrying the HTTP status it answers with.

::

    ThingSpaceError
    └── ReceiverError
        ├── MalformedMessageError      400  the body is not a JSON object
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
    "PayloadTooLargeError",
    "ReceiverError",
    "VerificationError",
]


class ReceiverError(ThingSpaceError):
    """Base class of everything the receiver rejects a callback message for."""

    status_code: ClassVar[int] = 400
    """The HTTP status the receiver answers ThingSpace with for this error."""


class MalformedMessageError(ReceiverError, ValueError):
    """The body is not UTF-8 JSON, or not a JSON object (answered 400)."""


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
