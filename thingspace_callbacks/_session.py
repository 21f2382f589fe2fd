"""The Connectivity Management (M2M) session: the ``VZ-M2M-Token`` every call carries."""

from __future__ import annotations

import math
from typing import Protocol

from pydantic import SecretStr

from . import _publish
from ._auth import AuthContext
from ._constants import (
    DEFAULT_SESSION_IDLE_TIMEOUT,
    DEFAULT_TOKEN_REFRESH_MARGIN,
    M2M_LOGIN_PATH,
    M2M_LOGOUT_PATH,
)
from ._errors import APIError, AuthenticationError, RequestValidationError
from ._rejections import bearer_refused
from ._renewing import (
    Clock,
    RenewingCredential,
    auth_failure,
    json_object,
    log,
    post_credentials,
)
from ._token_store import Token, TokenCallback, TokenStore

__all__ = ["BearerSource", "M2MSession"]


class BearerSource(Protocol):
    """Where a session gets the bearer token its login and logout carry."""

    async def token(self, context: AuthContext) -> Token: ...

    async def renew(self, context: AuthContext, refused: str | None) -> bool: ...


class M2MSession(RenewingCredential):
    """Opens a session with ``POST {root}/m2m/v1/session/login`` and hands out its
    ``sessionToken`` as ``VZ-M2M-Token``.

    ThingSpace expires a session after 20 minutes without use, so the session is renewed
    when it has been idle for ``idle_timeout - refresh_margin`` seconds, and when an
    answer says it expired. However many requests need a session at once, one login is
    made.

    A login that ThingSpace refuses is **not retried**: five refused logins in a row lock
    the user. Later calls raise the same :class:`AuthenticationError` without contacting
    ThingSpace until you call :meth:`reset` (after fixing the credentials). Server errors
    and connection failures are not remembered; the next call logs in again.

    Use it in a :class:`ThingSpaceAuth`, which supplies the bearer token for the login;
    the client builds one for you from ``username``/``password``.

    :param username: The ThingSpace (UWS) user.
    :param password: Its password; held as a ``SecretStr``, never shown.
    :param idle_timeout: Seconds of disuse after which ThingSpace expires a session.
    :param refresh_margin: Seconds before that at which the session is renewed.
    :param token_store: Where session tokens are kept (see :class:`TokenStore`).
    :param on_token: Called with each new session :class:`Token` (sync or async).
    :param logout_on_close: Log out, when the client closes, a session this object
        opened (not one it found in the token store).
    :param clock: Returns the time in seconds since the epoch (``time.time``); for tests.
    """

    kind = "session_token"

    def __init__(
        self,
        username: str,
        password: str | SecretStr,
        *,
        idle_timeout: float = DEFAULT_SESSION_IDLE_TIMEOUT,
        refresh_margin: float = DEFAULT_TOKEN_REFRESH_MARGIN,
        token_store: TokenStore | None = None,
        on_token: TokenCallback | None = None,
        logout_on_close: bool = True,
        clock: Clock | None = None,
    ) -> None:
        if not isinstance(username, str) or not username.strip():
            raise RequestValidationError("'username' must be a non-empty string")
        secret = SecretStr(password) if isinstance(password, str) else password
        if not isinstance(secret, SecretStr) or not secret.get_secret_value():
            raise RequestValidationError("'password' must be a non-empty string")
        if (
            isinstance(idle_timeout, bool)
            or not isinstance(idle_timeout, (int, float))
            or not math.isfinite(idle_timeout)
            or idle_timeout <= 0
        ):
            raise RequestValidationError(
                f"'idle_timeout' must be a positive number of seconds, got {idle_timeout!r}"
            )
        super().__init__(
            refresh_margin=refresh_margin,
            default_lifetime=float(idle_timeout),
            token_store=token_store,
            on_token=on_token,
            clock=clock,
        )
        self.username = username
        """The ThingSpace user (not a secret)."""
        self._password = secret
        self.idle_timeout = float(idle_timeout)
        """Seconds of disuse after which ThingSpace expires a session."""
        self.logout_on_close = logout_on_close
        """Whether closing the client logs out the session this object opened."""
        self._bearer: BearerSource | None = None
        self._opened: Token | None = None
        self._refusal: AuthenticationError | None = None

    def bind(self, bearer: BearerSource | None) -> None:
        """Use ``bearer`` for the login and logout requests (done by
        :class:`ThingSpaceAuth`)."""
        self._bearer = bearer

    def touch(self) -> None:
        """Record that the session was just used: ThingSpace keeps it alive while used."""
        if self._current is not None:
            now = self._clock()
            self._schedule(now + self.idle_timeout, now)

    def reset(self) -> None:
        """Forget the session and a refused login; the next request logs in again."""
        super().reset()
        self._refusal = None

    def store_key(self, context: AuthContext) -> str:
        return f"session_token:{context.base_url}:{self.username}"

    async def _fetch(self, context: AuthContext) -> Token:
        if self._refusal is not None:
            raise self._refusal.with_traceback(None)
        body = {"username": self.username, "password": self._password.get_secret_value()}
        for attempt in range(2):
            headers, bearer = await self._bearer_headers(context)
            response = await post_credentials(
                context, M2M_LOGIN_PATH, headers=headers, json_body=body
            )
            if response.is_success:
                break
            error = auth_failure(response, "M2M session login failed")
            if bearer_refused(response.status_code, error.error_code):
                # The bearer token was refused, not the user: renew it and log in once more.
                if (
                    attempt == 0
                    and self._bearer is not None
                    and await self._bearer.renew(context, bearer)
                ):
                    continue
                raise error
            if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
                self._refusal = auth_failure(
                    response,
                    "M2M session login refused; not retried, as repeated refused logins "
                    "lock the user (fix the credentials, then call reset())",
                )
                raise self._refusal
            raise error
        value = json_object(response).get("sessionToken")
        if not isinstance(value, str) or not value:
            raise auth_failure(response, "M2M login answer has no sessionToken", keep_body=False)
        log.debug("opened an M2M session for user %r", self.username)
        token = Token(
            kind="session_token",
            value=SecretStr(value),
            expires_at=self._clock() + self.idle_timeout,
        )
        self._opened = token
        return token

    async def _bearer_headers(self, context: AuthContext) -> tuple[dict[str, str], str | None]:
        if self._bearer is None:
            return {}, None
        value = (await self._bearer.token(context)).value.get_secret_value()
        return {"Authorization": f"Bearer {value}"}, value

    async def aclose(self, context: AuthContext) -> None:
        """Log out the session this object opened, if ``logout_on_close``; failures are
        logged, not raised."""
        token, opened = self._current, self._opened
        self._opened = None
        if not self.logout_on_close or token is None or token != opened:
            return
        super().reset()
        try:
            headers, _ = await self._bearer_headers(context)
            headers["VZ-M2M-Token"] = token.value.get_secret_value()
            response = await post_credentials(context, M2M_LOGOUT_PATH, headers=headers)
        except APIError as exc:
            log.warning("M2M session logout failed (%s)", type(exc).__name__)
            return
        if response.is_success:
            log.debug("logged out the M2M session of user %r", self.username)
        else:
            log.warning("M2M session logout answered %s", response.status_code)
        await self._forget(context, token)

    def __repr__(self) -> str:
        return (
            f"M2MSession(username={self.username!r}, password={self._password!r}, "
            f"idle_timeout={self.idle_timeout!r}, logout_on_close={self.logout_on_close!r})"
        )


_publish(globals())  # exported classes report the package as their module
