"""Which credential an error answer refused, read from its status and error fields.

A wrong or expired bearer token is refused by the API gateway with 401 and fault code
900901 (900902 when it is missing); an expired M2M session answers an errorCode
containing "SessionToken.Expired" (".Invalid" / ".Format" for a malformed or missing
one), with status 400 or 401 depending on the API; the Location API words it "The
Session has expired." The error classes (a refused session is an
``AuthenticationError`` even as a 400) and the credentials' renewal both read answers
this way. (:mod:`.refusals` is another matter: the record of a refused *login*.)
"""

from __future__ import annotations

from typing import Literal

__all__ = ["BEARER_FAULT_CODES", "bearer_refused", "refused_credential", "session_refused"]

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
