"""Authentication: the pluggable step that puts credentials on every request.

Every callback operation needs two credentials at once: an OAuth bearer token
(``Authorization: Bearer ...``) and a Connectivity Management session token
(``VZ-M2M-Token``). An :class:`Auth` supplies the headers for each attempt and decides
whether an answer that refused them is worth one replay with fresh credentials.

The SDK's own implementation, which obtains and renews both, is ``ThingSpaceAuth``
(``_thingspace_auth.py``); the client builds it from ``client_id``/``username`` etc.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from . import _publish

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = ["Auth", "AuthContext", "NoAuth", "StaticTokenAuth"]


@dataclass(frozen=True)
class AuthContext:
    """What an :class:`Auth` may use to fetch credentials: the API root and the shared
    HTTP client (token and login requests go through the same connection pool)."""

    base_url: str
    """The API root, e.g. ``https://thingspace.verizon.com/api``."""
    http_client: httpx.AsyncClient
    timeout: httpx.Timeout
    """The client's default timeout, for token and login requests."""
    user_agent: str


class Auth(abc.ABC):
    """Supplies credentials for each request.

    Subclass it to plug in your own scheme and pass it as ``AsyncThingSpaceClient(auth=...)``.
    """

    @abc.abstractmethod
    async def auth_headers(self, context: AuthContext) -> Mapping[str, str]:
        """The headers to add to the next attempt; may fetch or renew credentials."""

    async def should_replay(
        self,
        context: AuthContext,
        response: httpx.Response,
        sent: Mapping[str, str],
    ) -> bool:
        """Called when an answer (400 or 401) may say the credentials in ``sent`` were
        refused. Renew what was refused and return ``True`` to replay the request once
        with new headers; the default never replays."""
        return False

    async def aclose(self, context: AuthContext) -> None:
        """Release what the credentials hold (e.g. log out a session) when the client
        closes. The default does nothing."""
        return None


class NoAuth(Auth):
    """Sends no credentials (the sandbox in its open mode, or a gateway that adds them)."""

    async def auth_headers(self, context: AuthContext) -> Mapping[str, str]:
        return {}

    def __repr__(self) -> str:
        return "NoAuth()"


class StaticTokenAuth(Auth):
    """Fixed tokens, sent as given and never renewed.

    ``access_token`` becomes ``Authorization: Bearer ...``; ``m2m_token`` becomes
    ``VZ-M2M-Token``. Both are held as ``SecretStr`` and never shown by ``repr``.
    """

    def __init__(
        self,
        access_token: str | SecretStr | None = None,
        m2m_token: str | SecretStr | None = None,
    ) -> None:
        headers: dict[str, str] = {}
        if access_token is not None:
            self._access_token: SecretStr | None = _secret(access_token)
            headers["Authorization"] = f"Bearer {self._access_token.get_secret_value()}"
        else:
            self._access_token = None
        if m2m_token is not None:
            self._m2m_token: SecretStr | None = _secret(m2m_token)
            headers["VZ-M2M-Token"] = self._m2m_token.get_secret_value()
        else:
            self._m2m_token = None
        self.__headers = headers

    async def auth_headers(self, context: AuthContext) -> Mapping[str, str]:
        return self.__headers

    def __repr__(self) -> str:
        return (
            f"StaticTokenAuth(access_token={self._access_token!r}, m2m_token={self._m2m_token!r})"
        )


def _secret(value: str | SecretStr) -> SecretStr:
    # Imported here, once per client built with tokens: pydantic's types module takes
    # tens of milliseconds to import, which a client without credentials never needs.
    from pydantic import SecretStr

    return value if isinstance(value, SecretStr) else SecretStr(value)


_publish(globals())  # exported classes report the package as their module
