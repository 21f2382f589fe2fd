"""What the sandbox checks before an operation runs: OAuth bearer tokens and M2M sessions.

The rules follow ThingSpace's documentation (``spec/callback-protocol-facts.md`` §6):

- ``POST /ts/v1/oauth2/token`` issues a bearer token valid one hour from first issue;
  asking again within that hour returns the same token.
- ``POST /m2m/v1/session/login`` issues a session token that expires after 20 minutes
  without use; five failed logins in a row lock the user.
- A wrong or expired bearer token answers 401 gateway fault ``900901``; a missing one
  ``900902``.
- An expired session answers as the family's documentation says where it says it: the
  Location API ``400 INVALID_PARAMETER`` "UWS verification failure (The Session has
  expired.)". Elsewhere it answers ``REQUEST_FAILED.SessionToken.Expired`` (the
  Connectivity Management code), 400 by default and configurable, because no status is
  documented for them. ``docs/spec/sources.md`` lists the sources.

Times come from an injectable clock so tests can expire credentials without sleeping.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = [
    "DOCUMENTED_EXPIRED_SESSION",
    "SANDBOX_CLIENT_ID",
    "SANDBOX_CLIENT_SECRET",
    "SANDBOX_PASSWORD",
    "SANDBOX_USERNAME",
    "AuthFailure",
    "Credentials",
    "IssuedToken",
]

SANDBOX_CLIENT_ID = "sandbox-client-id"
"""The OAuth client id the sandbox accepts by default."""
SANDBOX_CLIENT_SECRET = "sandbox-client-secret"
"""The OAuth client secret the sandbox accepts by default (not a real secret)."""
SANDBOX_USERNAME = "sandbox-user"
"""The Connectivity Management username the sandbox accepts by default."""
SANDBOX_PASSWORD = "sandbox-password"
"""The Connectivity Management password the sandbox accepts by default (not a real one)."""

DOCUMENTED_EXPIRED_SESSION: Mapping[str, tuple[int, str, str]] = {
    "/loc/v1": (400, "INVALID_PARAMETER", "UWS verification failure (The Session has expired.)"),
}
"""``(status, errorCode, errorMessage)`` of the expired-session answer, by API prefix, for
the families whose documentation states it (Location's Error Codes page)."""


@dataclass(frozen=True)
class AuthFailure:
    """Why a request's credentials were refused: the answer to send back."""

    status: int
    body: dict[str, object]


@dataclass(frozen=True)
class IssuedToken:
    """A bearer token and its remaining lifetime in whole seconds."""

    value: str
    expires_in: int
    scope: str


@dataclass
class _Token:
    value: str
    client_id: str
    expires_at: float
    scope: str


@dataclass
class _Session:
    username: str
    last_used: float


class Credentials:
    """Issues and checks bearer tokens and session tokens; thread-safe, since a served
    sandbox answers on its own thread while tests inspect it from theirs."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        username: str,
        password: str,
        token_ttl: float,
        session_idle_timeout: float,
        session_expired_status: int,
        login_lock_threshold: int | None,
        clock: Callable[[], float],
    ) -> None:
        self._clients = {client_id: client_secret}
        self._users = {username: password}
        self.token_ttl = token_ttl
        self.session_idle_timeout = session_idle_timeout
        self.session_expired_status = session_expired_status
        self.login_lock_threshold = login_lock_threshold
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        self._current_token: dict[str, str] = {}
        self._sessions: dict[str, _Session] = {}
        self._failed_logins: dict[str, int] = {}

    def __repr__(self) -> str:
        return (
            f"Credentials(token_ttl={self.token_ttl}, "
            f"session_idle_timeout={self.session_idle_timeout})"
        )

    # Bearer tokens

    def client_allowed(self, client_id: str, client_secret: str) -> bool:
        """Whether the pair is a known OAuth client (constant-time comparison)."""
        expected = self._clients.get(client_id)
        return expected is not None and secrets.compare_digest(
            expected.encode(), client_secret.encode()
        )

    def issue_token(self, client_id: str, scope: str | None = None) -> IssuedToken:
        """The client's current token, or a new one when it has none or it expired."""
        now = self._clock()
        with self._lock:
            current = self._tokens.get(self._current_token.get(client_id, ""))
            if current is None or current.expires_at <= now:
                if current is not None:
                    del self._tokens[current.value]
                current = _Token(
                    value=secrets.token_urlsafe(24),
                    client_id=client_id,
                    expires_at=now + self.token_ttl,
                    scope=scope or "default",
                )
                self._tokens[current.value] = current
                self._current_token[client_id] = current.value
            remaining = max(0, int(current.expires_at - now))
            return IssuedToken(value=current.value, expires_in=remaining, scope=current.scope)

    def revoke_token(self, client_id: str, token: str) -> bool:
        """Forget ``token`` if ``client_id`` owns it; the next request gets a new one."""
        with self._lock:
            found = self._tokens.get(token)
            if found is None or found.client_id != client_id:
                return False
            del self._tokens[token]
            if self._current_token.get(client_id) == token:
                del self._current_token[client_id]
            return True

    def check_bearer(self, authorization: str | None, api: str) -> AuthFailure | None:
        """``None`` when the ``Authorization`` header holds a live bearer token."""
        if not authorization:
            return _gateway_fault("900902", "Missing Credentials", api)
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return _gateway_fault("900902", "Missing Credentials", api)
        with self._lock:
            token = self._tokens.get(value.strip())
            if token is None or token.expires_at <= self._clock():
                return _gateway_fault("900901", "Invalid Credentials", api)
        return None

    # M2M sessions

    def login(self, username: str, password: str) -> str | AuthFailure:
        """A new session token, or the failure to answer."""
        with self._lock:
            failed = self._failed_logins.get(username, 0)
            threshold = self.login_lock_threshold
            if threshold is not None and failed >= threshold:
                return AuthFailure(
                    401,
                    _error(
                        "REQUEST_FAILED.Login.UserLocked",
                        f"The user is locked after {threshold} failed logins; "
                        "contact support to unlock it.",
                    ),
                )
            expected = self._users.get(username)
            if expected is None or not secrets.compare_digest(expected.encode(), password.encode()):
                self._failed_logins[username] = failed + 1
                return AuthFailure(
                    401,
                    _error(
                        "REQUEST_FAILED.Login.InvalidCredentials", "Invalid username or password."
                    ),
                )
            self._failed_logins.pop(username, None)
            token = str(uuid.uuid4())
            self._sessions[token] = _Session(username=username, last_used=self._clock())
            return token

    def logout(self, token: str) -> bool:
        """End a session; ``False`` when it was not open."""
        with self._lock:
            return self._sessions.pop(token, None) is not None

    def check_session(self, token: str | None, api: str = "") -> AuthFailure | None:
        """``None`` when ``token`` is a live session; using it keeps it alive. ``api`` is
        the family's prefix (``"/loc/v1"``), which decides how an expired session is
        answered."""
        if not token:
            return AuthFailure(
                400, _error("REQUEST_FAILED.SessionToken.Format", "VZ-M2M-Token header is missing.")
            )
        try:
            uuid.UUID(token)
        except ValueError:
            return AuthFailure(
                400, _error("INPUT_INVALID.SessionToken.Invalid", "VZ-M2M-Token is not valid.")
            )
        now = self._clock()
        with self._lock:
            session = self._sessions.get(token)
            if session is None or now - session.last_used >= self.session_idle_timeout:
                self._sessions.pop(token, None)
                return self._session_expired(api)
            session.last_used = now
        return None

    def _session_expired(self, api: str) -> AuthFailure:
        documented = DOCUMENTED_EXPIRED_SESSION.get(api)
        if documented is not None:
            status, code, message = documented
            return AuthFailure(status, _error(code, message))
        return AuthFailure(
            self.session_expired_status,
            _error("REQUEST_FAILED.SessionToken.Expired", "The session has expired."),
        )

    # Test helpers

    def expire_tokens(self) -> None:
        """Make every bearer token expired now."""
        with self._lock:
            self._tokens.clear()
            self._current_token.clear()

    def expire_sessions(self) -> None:
        """Make every session expired now."""
        with self._lock:
            self._sessions.clear()

    def unlock_users(self) -> None:
        """Forget failed logins (what Verizon support does for a locked user)."""
        with self._lock:
            self._failed_logins.clear()

    def reset(self) -> None:
        """Forget every token, session and failed login."""
        self.expire_tokens()
        self.expire_sessions()
        self.unlock_users()


def _gateway_fault(code: str, message: str, api: str) -> AuthFailure:
    return AuthFailure(
        401,
        {
            "fault": {
                "code": code,
                "message": message,
                "description": f"Access failure for API: {api}, version: v1. "
                "Make sure you have given the correct access token",
            }
        },
    )


def _error(code: str, message: str) -> dict[str, object]:
    return {"errorCode": code, "errorMessage": message}
