"""The Connectivity Management (M2M) session: the ``VZ-M2M-Token`` every call carries."""

from __future__ import annotations

import threading
from collections.abc import Mapping

import httpx
from pydantic import SecretStr

from .._checks import secret, text
from .._constants import M2M_LOGIN_PATH, M2M_LOGOUT_PATH
from .._error_body import error_fields
from .._errors import APIError, AuthenticationError, InvalidArgumentError
from .base import AuthContext
from .endpoint import auth_failure, json_object, post_credentials
from .refusals import RefusalWords, refuses_credentials
from .refused import bearer_refused
from .renewing import Clock, Credential, RenewingCredential, log
from .tokens import SharedTokenStore, Token, TokenCallback, TokenStore

__all__ = ["M2MSession"]


class M2MSession(RenewingCredential):
    """Opens a session with ``POST {root}/m2m/v1/session/login``, carrying the bearer
    token of ``bearer``, and hands out its ``sessionToken`` as ``VZ-M2M-Token``.

    ThingSpace expires a session after ``idle_timeout`` seconds without use, so the
    session is renewed when it has been idle for ``idle_timeout - refresh_margin``
    seconds, and when an answer says it expired. However many requests need a session at
    once, one login is made.

    A login that ThingSpace refuses is **not retried**: five refused logins in a row lock
    the user. The refusal is kept in the token store for ``refusal_ttl`` seconds, under
    a digest of the API root, user and password, and until then later calls, of this
    process and of every process sharing the store, raise the same
    :class:`AuthenticationError` without contacting ThingSpace: until the password
    given changes, :meth:`reset` is called here (after fixing the credentials) or
    :meth:`clear_refusal` anywhere. Other answers (5xx, 404, 408, 429, ...) and
    connection failures are not remembered; the next call logs in again.
    Closing logs out a session this object opened (not one it found in the token store)
    when ``logout_on_close``, unless the store is a ``SharedTokenStore``: other
    processes use the session then, and only :meth:`logout` ends it.
    """

    kind = "session_token"

    def __init__(
        self,
        username: str,
        password: str | SecretStr,
        *,
        bearer: Credential,
        idle_timeout: float,
        refresh_margin: float,
        token_store: TokenStore | None,
        on_token: TokenCallback | None,
        logout_on_close: bool,
        clock: Clock | None,
        refusal_ttl: float,
    ) -> None:
        self.username = text(username, "username")
        """The ThingSpace user (not a secret)."""
        self._password = secret(password, "password")
        super().__init__(
            refresh_margin=refresh_margin,
            default_lifetime=idle_timeout,
            token_store=token_store,
            on_token=on_token,
            clock=clock,
            refusal_ttl=refusal_ttl,
        )
        self._bearer = bearer
        self._idle_timeout = idle_timeout
        self._logout_on_close = logout_on_close
        self._opened: Token | None = None
        self._context: AuthContext | None = None
        """The context of the last request, for :meth:`logout` without one, and the
        thread it was made in (see :meth:`_last_context`)."""
        self._context_thread: int | None = None

    @property
    def arguments(self) -> Mapping[str, object]:
        return {"username": self.username, "password": self._password}

    async def token(self, context: AuthContext) -> Token:
        """The session token; handing it out counts as a use, which keeps the session
        alive as it does on ThingSpace's side."""
        self._context, self._context_thread = context, threading.get_ident()
        token = await super().token(context)
        now = self._clock()
        self._schedule(now + self._idle_timeout, now)
        return token

    def _name(self, base_url: str) -> str:
        return f"session_token:{base_url}:{self.username}"

    def _refusal_secret(self) -> bytes:
        return self._password.get_secret_value().encode()

    @property
    def _refusal_words(self) -> RefusalWords:
        return RefusalWords(
            what="M2M session login",
            whose=f"user {self.username!r}",
            why="five refused logins lock the user",
            path=M2M_LOGIN_PATH,
        )

    async def _fetch(self, context: AuthContext) -> Token:
        response = await self._login(context)
        if not response.is_success:
            raise await self._login_failure(context, response)
        value = json_object(response).get("sessionToken")
        if not isinstance(value, str) or not value:
            raise auth_failure(response, "M2M login answer has no sessionToken", keep_body=False)
        log.debug("opened an M2M session for user %r", self.username)
        token = Token(
            kind="session_token",
            value=SecretStr(value),
            expires_at=self._clock() + self._idle_timeout,
        )
        self._opened = token
        return token

    async def _login(self, context: AuthContext) -> httpx.Response:
        body = {"username": self.username, "password": self._password.get_secret_value()}
        headers, bearer = await self._bearer_header(context)
        response = await post_credentials(context, M2M_LOGIN_PATH, headers=headers, json_body=body)
        # The gateway refusing the bearer token is not the user being refused: renew the
        # token and log in once more.
        if _refuses_bearer(response) and await self._bearer.renew(context, bearer):
            headers, _ = await self._bearer_header(context)
            response = await post_credentials(
                context, M2M_LOGIN_PATH, headers=headers, json_body=body
            )
        return response

    async def _login_failure(
        self, context: AuthContext, response: httpx.Response
    ) -> AuthenticationError:
        if refuses_credentials(response) and not _refuses_bearer(response):
            return await self._record_refusal(context, response)
        return auth_failure(response, "M2M session login failed")

    async def _bearer_header(self, context: AuthContext) -> tuple[dict[str, str], str]:
        value = (await self._bearer.token(context)).value.get_secret_value()
        return {"Authorization": f"Bearer {value}"}, value

    async def aclose(self, context: AuthContext) -> None:
        """Log out the session this object opened, if ``logout_on_close`` and the token
        store is not shared (other processes use the session in a shared one); failures
        are logged, not raised."""
        token, opened = self._current, self._opened
        self._opened = None
        if not self._logout_on_close or token is None or token != opened:
            return
        if isinstance(self._store, SharedTokenStore):
            log.debug("the M2M session is kept: other processes share it through the store")
            return
        await self._logout(context, token)

    async def logout(self, context: AuthContext | None) -> bool:
        """Log out the session in use, or else the one the token store holds, even when
        other processes share it (they log in again when ThingSpace refuses it), and
        forget it in the store. ``context`` defaults to that of the last request (see
        :meth:`_last_context`). Returns whether ThingSpace ended a session (``False``
        before any request, without ``context``); failures are logged, not raised.

        :raises InvalidArgumentError: No ``context``, and the last request's is
            unusable here.
        """
        context = context or self._last_context()
        if context is None:
            return False
        token = self._current
        if token is None:
            stored = await self._load(context)
            token = stored if stored is not None and stored.kind == self.kind else None
        self._opened = None
        if token is None:
            return False
        return await self._logout(context, token)

    def _last_context(self) -> AuthContext | None:
        """The last request's context, when this thread may send through it. With
        credentials shared by several clients, the last request may be another
        client's: its connection pool closed since, or bound to another thread's event
        loop. ``client.logout()`` passes the caller's own."""
        context = self._context
        if context is None:
            return None
        if context.http_client.is_closed or self._context_thread != threading.get_ident():
            raise InvalidArgumentError(
                "the connection pool of these credentials' last request is closed or "
                "belongs to another event loop (credentials shared by several clients "
                "may have made it through another client); log out through your "
                "client instead: await client.logout()"
            )
        return context

    async def _logout(self, context: AuthContext, token: Token) -> bool:
        self._drop_token()
        try:
            headers, _ = await self._bearer_header(context)
            headers["VZ-M2M-Token"] = token.value.get_secret_value()
            response = await post_credentials(context, M2M_LOGOUT_PATH, headers=headers)
        except APIError as exc:
            log.warning("M2M session logout failed (%s)", type(exc).__name__)
            return False
        if response.is_success:
            log.debug("logged out the M2M session of user %r", self.username)
        else:
            log.warning("M2M session logout answered %s", response.status_code)
        await self._forget(context, token)
        return response.is_success


def _refuses_bearer(response: httpx.Response) -> bool:
    return bearer_refused(response.status_code, error_fields(response)[0])
