"""The pluggable step that puts credentials on every request.

Every callback operation needs two credentials at once: an OAuth bearer token
(``Authorization: Bearer ...``) and a Connectivity Management session token
(``VZ-M2M-Token``). An :class:`Auth` supplies the headers for each attempt and decides
whether an answer that refused them is worth one replay with fresh credentials. The
SDK's own implementation, which obtains and renews both, is ``ThingSpaceAuth``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from .._exports import publish

__all__ = ["Auth", "AuthContext", "NoAuth"]


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
    telemetry: Any = None
    """Where the spans of credential requests go (the client's telemetry instruments),
    or ``None``."""


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

    async def logout(self, context: AuthContext | None = None) -> bool:
        """End the server-side session the credentials use, even one other clients or
        processes share, and forget it; ``context`` defaults to that of the last
        request. Returns whether a session was ended; the default has none to end."""
        return False


class NoAuth(Auth):
    """Sends no credentials (the sandbox in its open mode, or a gateway that adds them)."""

    async def auth_headers(self, context: AuthContext) -> Mapping[str, str]:
        return {}

    def __repr__(self) -> str:
        return "NoAuth()"


publish(globals())  # exported classes report the package as their module
