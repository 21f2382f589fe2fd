"""``ThingSpaceAuth``: the bearer token and the M2M session on every request, obtained,
renewed and replayed for by the SDK, or given as fixed tokens."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

import httpx

from .._checks import seconds
from .._constants import DEFAULT_SESSION_IDLE_TIMEOUT, DEFAULT_TOKEN_REFRESH_MARGIN
from .._error_body import error_fields
from .._errors import InvalidArgumentError
from .._exports import publish
from .base import Auth, AuthContext
from .fixed import FixedToken
from .oauth import OAuthClientCredentials
from .refusals import DEFAULT_REFUSAL_TTL
from .refused import refused_credential
from .renewing import Credential, RenewingCredential
from .session import M2MSession
from .settings import check_credentials, environment_credentials
from .tokens import TokenCallback, TokenStore

if TYPE_CHECKING:
    from pydantic import SecretStr
    from typing_extensions import Unpack

__all__ = ["ThingSpaceAuth"]

_BEARER_PREFIX = "Bearer "


class _Keywords(TypedDict, total=False):
    """The keywords of :class:`ThingSpaceAuth`, for :meth:`ThingSpaceAuth.from_env`."""

    client_id: str | None
    client_secret: str | SecretStr | None
    access_token: str | SecretStr | None
    username: str | None
    password: str | SecretStr | None
    m2m_token: str | SecretStr | None
    scope: str | Sequence[str] | None
    token_store: TokenStore | None
    on_token: TokenCallback | None
    logout_on_close: bool
    refresh_margin: float
    session_idle_timeout: float
    refusal_ttl: float
    clock: Callable[[], float] | None


class ThingSpaceAuth(Auth):
    """Puts ``Authorization: Bearer ...`` and ``VZ-M2M-Token`` on every request.

    Each of the two credentials is either obtained and renewed by the SDK or given as a
    fixed token::

        ThingSpaceAuth(
            client_id="my-app-key",
            client_secret="my-app-secret",
            username="my-uws-user",
            password="my-password",
        )
        ThingSpaceAuth(client_id="my-app-key", client_secret="my-app-secret", m2m_token="...")
        ThingSpaceAuth(access_token="...", m2m_token="...")
        ThingSpaceAuth.from_env()  # the THINGSPACE_* variables

    Nothing is fetched until the first request. However many requests need a token or a
    session at once, one token request and one login are made. When ThingSpace answers
    that the bearer token (401) or the session (an error code containing
    ``SessionToken``) was refused, the refused credential is renewed once, unless another
    request already did, and the request is replayed once; a fixed token is never
    renewed, so its refusal raises :class:`AuthenticationError`. A refused login (or
    client secret) is not retried, as five refused logins lock the user: later requests
    raise the same error without contacting ThingSpace, for ``refusal_ttl`` seconds or
    until :meth:`reset` (after fixing the credentials) or :meth:`clear_refusals`.
    Closing the client logs out a session this object opened, unless the
    ``token_store`` is a ``SharedTokenStore`` (such as ``RedisTokenStore``): other
    processes use that session, and only :meth:`logout` ends it.

    With a ``SharedTokenStore``, every process using the same store obtains and renews
    as one client: one token request and one login however many processes start at
    once, and one renewal when ThingSpace refuses a token. A refused login or client
    secret is kept in the store too (under a digest of the credentials, never the
    secret), so that no other process, and no restart, tries the same credentials
    before ``refusal_ttl`` has passed: one refused login for the whole fleet.

    Secrets are held as ``SecretStr``; no ``repr``, log line or error shows them.
    Contradictory or incomplete credentials raise :class:`InvalidArgumentError` here,
    before anything is sent.

    :param client_id: With ``client_secret``, get and renew bearer tokens (OAuth client
        credentials grant).
    :param client_secret: See ``client_id``.
    :param access_token: A fixed bearer token, instead of ``client_id``/``client_secret``.
    :param username: With ``password``, open and renew the M2M session (the login carries
        the bearer token, so it needs one of the above).
    :param password: See ``username``.
    :param m2m_token: A fixed session token, instead of ``username``/``password``.
    :param scope: OAuth scopes to ask for (a space-separated string or a sequence).
    :param token_store: Where obtained tokens are kept; share one to share tokens across
        clients or processes. Default: in memory, for this object only.
    :param on_token: Called with each new :class:`Token` (sync or async); what it raises
        is logged and ignored.
    :param logout_on_close: Log out, when the client closes, a session this object
        opened (not one it found in the token store, nor one in a shared store).
    :param refresh_margin: Seconds before a bearer token expires, or before a session
        idles out, at which it is renewed.
    :param session_idle_timeout: Seconds of disuse after which ThingSpace expires a
        session (20 minutes).
    :param refusal_ttl: Seconds a refused login or client secret is not tried again,
        by any process sharing the token store (30 minutes).
    :param clock: Returns the time in seconds since the epoch (``time.time``); for tests.
    """

    def __init__(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | SecretStr | None = None,
        access_token: str | SecretStr | None = None,
        username: str | None = None,
        password: str | SecretStr | None = None,
        m2m_token: str | SecretStr | None = None,
        scope: str | Sequence[str] | None = None,
        token_store: TokenStore | None = None,
        on_token: TokenCallback | None = None,
        logout_on_close: bool = True,
        refresh_margin: float = DEFAULT_TOKEN_REFRESH_MARGIN,
        session_idle_timeout: float = DEFAULT_SESSION_IDLE_TIMEOUT,
        refusal_ttl: float = DEFAULT_REFUSAL_TTL,
        clock: Callable[[], float] | None = None,
    ) -> None:
        check_credentials(
            {
                "client_id": client_id,
                "client_secret": client_secret,
                "access_token": access_token,
                "username": username,
                "password": password,
                "m2m_token": m2m_token,
                "scope": scope,
                "token_store": token_store,
                "on_token": on_token,
            }
        )
        # Checked even when no renewed credential uses them, so a bad value never
        # passes silently.
        margin = seconds(refresh_margin, "refresh_margin")
        idle_timeout = seconds(session_idle_timeout, "session_idle_timeout", positive=True)
        refusal_ttl = seconds(refusal_ttl, "refusal_ttl", positive=True)
        self._bearer: Credential | None = None
        if client_id is not None and client_secret is not None:
            self._bearer = OAuthClientCredentials(
                client_id,
                client_secret,
                scope=scope,
                refresh_margin=margin,
                token_store=token_store,
                on_token=on_token,
                clock=clock,
                refusal_ttl=refusal_ttl,
            )
        elif access_token is not None:
            self._bearer = FixedToken("access_token", access_token)
        self._session: Credential | None = None
        if username is not None and password is not None and self._bearer is not None:
            self._session = M2MSession(
                username,
                password,
                bearer=self._bearer,
                idle_timeout=idle_timeout,
                refresh_margin=margin,
                token_store=token_store,
                on_token=on_token,
                logout_on_close=logout_on_close,
                clock=clock,
                refusal_ttl=refusal_ttl,
            )
        elif m2m_token is not None:
            self._session = FixedToken("session_token", m2m_token)
        self._base_url: str | None = None
        """The API root of the last request, for :meth:`clear_refusals`."""

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **keywords: Unpack[_Keywords]
    ) -> ThingSpaceAuth:
        """A :class:`ThingSpaceAuth` from the keywords and, for each credential none of
        whose keywords is given, the environment (``os.environ`` unless ``environ``):
        ``THINGSPACE_CLIENT_ID`` with ``THINGSPACE_CLIENT_SECRET``, or
        ``THINGSPACE_ACCESS_TOKEN``, for the bearer token; ``THINGSPACE_USERNAME`` with
        ``THINGSPACE_PASSWORD``, or ``THINGSPACE_M2M_TOKEN``, for the session.

        Passing ``access_token``, say, ignores ``THINGSPACE_CLIENT_ID`` and
        ``THINGSPACE_CLIENT_SECRET``; passing ``client_id`` alone does not take the
        secret from the environment. Empty variables count as unset; contradictory or
        incomplete ones raise :class:`InvalidArgumentError` naming them.
        """
        credentials, sources = environment_credentials(
            keywords, os.environ if environ is None else environ
        )
        arguments: dict[str, Any] = {**keywords, **credentials}
        # Checked here too, so that a message names the variables a value came from.
        check_credentials(arguments, sources)
        return cls(**arguments)

    @property
    def client_id(self) -> str | None:
        """The application key bearer tokens are obtained with; ``None`` with a fixed
        ``access_token`` or none."""
        return self._bearer.client_id if isinstance(self._bearer, OAuthClientCredentials) else None

    @property
    def username(self) -> str | None:
        """The ThingSpace user the session is opened for; ``None`` with a fixed
        ``m2m_token`` or none."""
        return self._session.username if isinstance(self._session, M2MSession) else None

    def reset(self) -> None:
        """Forget the tokens obtained and a refused login or client secret this object
        got or read from the token store; the next request obtains them again (from
        the token store, when it holds valid ones), and after a refusal clears its
        record in the token store and asks ThingSpace again. Call it after fixing the
        credentials of a refused login. :meth:`clear_refusals` clears a record at once,
        from any process, even one that never read it."""
        for credential in self._credentials():
            credential.reset()

    async def clear_refusals(self, base_url: str | None = None) -> bool:
        """Clear the refused login and client secret of these credentials, in this
        object and in the token store, so that the next request of every process
        sharing the store asks ThingSpace again. ``thingspace-callbacks auth reset``
        does the same from a shell.

        :param base_url: The API root the refusals were recorded for; default, that of
            this object's last request (needed before any request).
        :return: Whether a refusal was recorded.
        :raises InvalidArgumentError: No ``base_url`` and no request made yet.
        """
        base_url = base_url or self._base_url
        if base_url is None:
            raise InvalidArgumentError(
                "no request was made yet: pass the API root the refusals were recorded "
                "for, e.g. clear_refusals('https://thingspace.verizon.com/api')"
            )
        cleared = False
        for credential in self._credentials():
            if isinstance(credential, RenewingCredential):
                cleared = await credential.clear_refusal(base_url) or cleared
        return cleared

    async def auth_headers(self, context: AuthContext) -> Mapping[str, str]:
        self._base_url = context.base_url
        headers: dict[str, str] = {}
        # The bearer token first: the session's login carries it.
        if self._bearer is not None:
            token = await self._bearer.token(context)
            headers["Authorization"] = _BEARER_PREFIX + token.value.get_secret_value()
        if self._session is not None:
            token = await self._session.token(context)
            headers["VZ-M2M-Token"] = token.value.get_secret_value()
        return headers

    async def should_replay(
        self,
        context: AuthContext,
        response: httpx.Response,
        sent: Mapping[str, str],
    ) -> bool:
        refused = refused_credential(response.status_code, *error_fields(response))
        if refused == "session_token" and self._session is not None:
            return await self._session.renew(context, sent.get("VZ-M2M-Token"))
        if refused == "access_token" and self._bearer is not None:
            header = sent.get("Authorization", "")
            used = header[len(_BEARER_PREFIX) :] if header.startswith(_BEARER_PREFIX) else None
            return await self._bearer.renew(context, used)
        return False

    async def aclose(self, context: AuthContext) -> None:
        # The session first: its logout carries the bearer token.
        for credential in reversed(self._credentials()):
            await credential.aclose(context)

    async def logout(self, context: AuthContext | None = None) -> bool:
        """Log out the M2M session in use (else the one the token store holds), even one
        shared with other processes through a ``SharedTokenStore``, and forget it in the
        store; processes that use it log in again, once for all, when ThingSpace refuses
        it. Call it before closing the client: ``context`` defaults to that of the
        client's last request. Returns whether ThingSpace ended a session (``False``
        with a fixed ``m2m_token``, or before any request); failures are logged, not
        raised."""
        if not isinstance(self._session, M2MSession):
            return False
        return await self._session.logout(context)

    def _credentials(self) -> list[Credential]:
        return [part for part in (self._bearer, self._session) if part is not None]

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{name}={value!r}"
            for credential in self._credentials()
            for name, value in credential.arguments.items()
        )
        return f"ThingSpaceAuth({shown})"


publish(globals())  # exported classes report the package as their module
