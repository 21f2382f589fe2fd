"""``ThingSpaceAuth``: the bearer token and the M2M session on every request, obtained,
renewed and replayed for by the SDK."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from pydantic import SecretStr

from . import _publish
from ._auth import Auth, AuthContext
from ._errors import APIStatusError, RequestValidationError
from ._oauth import OAuthClientCredentials
from ._rejections import refused_credential
from ._session import M2MSession
from ._token_store import Token, TokenKind

__all__ = ["ThingSpaceAuth"]

_BEARER_PREFIX = "Bearer "


class _FixedToken:
    """A token given by the user: sent as is, never renewed."""

    __slots__ = ("_token",)

    def __init__(self, kind: TokenKind, value: str | SecretStr) -> None:
        secret = SecretStr(value) if isinstance(value, str) else value
        if not isinstance(secret, SecretStr) or not secret.get_secret_value():
            raise RequestValidationError(f"{kind!r} must be a non-empty string")
        self._token = Token(kind=kind, value=secret)

    async def token(self, context: AuthContext) -> Token:
        return self._token

    async def renew(self, context: AuthContext, refused: str | None) -> bool:
        return False

    def __repr__(self) -> str:
        return repr(self._token.value)


class ThingSpaceAuth(Auth):
    """Puts ``Authorization: Bearer ...`` and ``VZ-M2M-Token`` on every request.

    Each credential is either obtained and renewed by the SDK or given as a fixed token::

        ThingSpaceAuth(
            oauth=OAuthClientCredentials("my-key", "my-secret"),
            session=M2MSession("my-user", "my-password"),
        )
        ThingSpaceAuth(oauth=OAuthClientCredentials("my-key", "my-secret"), m2m_token="...")
        ThingSpaceAuth(access_token="...", session=M2MSession("my-user", "my-password"))

    Nothing is fetched until the first request. When ThingSpace answers that the bearer
    token (401) or the session (an error code containing ``SessionToken``) was refused,
    the refused credential is renewed once, unless another request already did, and the
    request is replayed once; a second refusal raises :class:`AuthenticationError`.
    Closing the client logs out a session this object opened (see
    :class:`M2MSession`'s ``logout_on_close``).

    :param oauth: Gets bearer tokens with your client credentials.
    :param session: Opens M2M sessions with your user name and password; it logs in with
        the bearer token from ``oauth`` or ``access_token``.
    :param access_token: A fixed bearer token, instead of ``oauth``.
    :param m2m_token: A fixed session token, instead of ``session``.
    """

    def __init__(
        self,
        *,
        oauth: OAuthClientCredentials | None = None,
        session: M2MSession | None = None,
        access_token: str | SecretStr | None = None,
        m2m_token: str | SecretStr | None = None,
    ) -> None:
        if oauth is not None and access_token is not None:
            raise RequestValidationError("pass either 'oauth' or 'access_token', not both")
        if session is not None and m2m_token is not None:
            raise RequestValidationError("pass either 'session' or 'm2m_token', not both")
        if oauth is not None and not isinstance(oauth, OAuthClientCredentials):
            raise RequestValidationError("'oauth' must be an OAuthClientCredentials")
        if session is not None and not isinstance(session, M2MSession):
            raise RequestValidationError("'session' must be an M2MSession")
        bearer: OAuthClientCredentials | _FixedToken | None = oauth
        if access_token is not None:
            bearer = _FixedToken("access_token", access_token)
        if session is not None and bearer is None:
            raise RequestValidationError(
                "an M2M session logs in with a bearer token: pass 'oauth' or 'access_token'"
            )
        if bearer is None and session is None and m2m_token is None:
            raise RequestValidationError("ThingSpaceAuth needs at least one credential")
        self._bearer = bearer
        self._session = session
        self._m2m = None if m2m_token is None else _FixedToken("session_token", m2m_token)
        if session is not None:
            session.bind(bearer)

    @property
    def oauth(self) -> OAuthClientCredentials | None:
        """The bearer-token provider, unless the bearer token is fixed."""
        return self._bearer if isinstance(self._bearer, OAuthClientCredentials) else None

    @property
    def session(self) -> M2MSession | None:
        """The session provider, unless the session token is fixed."""
        return self._session

    async def auth_headers(self, context: AuthContext) -> Mapping[str, str]:
        headers: dict[str, str] = {}
        if self._bearer is not None:
            token = await self._bearer.token(context)
            headers["Authorization"] = _BEARER_PREFIX + token.value.get_secret_value()
        if self._session is not None:
            token = await self._session.token(context)
            self._session.touch()
            headers["VZ-M2M-Token"] = token.value.get_secret_value()
        elif self._m2m is not None:
            token = await self._m2m.token(context)
            headers["VZ-M2M-Token"] = token.value.get_secret_value()
        return headers

    async def should_replay(
        self,
        context: AuthContext,
        response: httpx.Response,
        sent: Mapping[str, str],
    ) -> bool:
        error = APIStatusError(response)
        refused = refused_credential(response.status_code, error.error_code, error.error_message)
        if refused == "session_token":
            if self._session is None:
                return False
            return await self._session.renew(context, sent.get("VZ-M2M-Token"))
        if refused == "access_token" and isinstance(self._bearer, OAuthClientCredentials):
            header = sent.get("Authorization", "")
            used = header[len(_BEARER_PREFIX) :] if header.startswith(_BEARER_PREFIX) else None
            return await self._bearer.renew(context, used)
        return False

    async def aclose(self, context: AuthContext) -> None:
        if self._session is not None:
            await self._session.aclose(context)

    def __repr__(self) -> str:
        parts = []
        if isinstance(self._bearer, OAuthClientCredentials):
            parts.append(f"oauth={self._bearer!r}")
        elif self._bearer is not None:
            parts.append(f"access_token={self._bearer!r}")
        if self._session is not None:
            parts.append(f"session={self._session!r}")
        elif self._m2m is not None:
            parts.append(f"m2m_token={self._m2m!r}")
        return f"ThingSpaceAuth({', '.join(parts)})"


_publish(globals())  # exported classes report the package as their module
