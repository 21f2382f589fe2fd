"""A token given by the user instead of credentials the SDK renews."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._checks import secret
from .base import AuthContext
from .tokens import Token, TokenKind

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = ["FixedToken"]

_KEYWORDS: dict[TokenKind, str] = {"access_token": "access_token", "session_token": "m2m_token"}
"""The ``ThingSpaceAuth`` keyword that gives each kind of fixed token."""


class FixedToken:
    """A bearer token (``kind="access_token"``) or session token
    (``kind="session_token"``) sent as given and never renewed: when ThingSpace refuses
    it, the refusal reaches the caller."""

    __slots__ = ("_keyword", "_token")

    def __init__(self, kind: TokenKind, value: str | SecretStr) -> None:
        self._keyword = _KEYWORDS[kind]
        self._token = Token(kind=kind, value=secret(value, self._keyword))

    @property
    def arguments(self) -> Mapping[str, object]:
        return {self._keyword: self._token.value}

    async def token(self, context: AuthContext) -> Token:
        return self._token

    async def renew(self, context: AuthContext, refused: str | None) -> bool:
        return False

    def reset(self) -> None:
        return None

    async def aclose(self, context: AuthContext) -> None:
        return None

    def __repr__(self) -> str:
        return f"FixedToken({self._token.kind!r}, {self._token.value!r})"
