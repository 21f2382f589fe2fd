"""Authentication: the :class:`Auth` step of every request, and ``ThingSpaceAuth``,
which obtains, renews and replays for ThingSpace's two credentials.

Each module is imported on first use (PEP 562), so a client without credentials never
loads pydantic for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Auth as Auth
    from .base import AuthContext as AuthContext
    from .base import NoAuth as NoAuth
    from .resolve import resolve_auth as resolve_auth
    from .thingspace import ThingSpaceAuth as ThingSpaceAuth
    from .tokens import MemoryTokenStore as MemoryTokenStore
    from .tokens import Refusal as Refusal
    from .tokens import SharedTokenStore as SharedTokenStore
    from .tokens import Token as Token
    from .tokens import TokenCallback as TokenCallback
    from .tokens import TokenKind as TokenKind
    from .tokens import TokenStore as TokenStore

_HOMES: dict[str, str] = {
    "Auth": "base",
    "AuthContext": "base",
    "MemoryTokenStore": "tokens",
    "NoAuth": "base",
    "Refusal": "tokens",
    "SharedTokenStore": "tokens",
    "ThingSpaceAuth": "thingspace",
    "Token": "tokens",
    "TokenCallback": "tokens",
    "TokenKind": "tokens",
    "TokenStore": "tokens",
    "resolve_auth": "resolve",
}
"""The module each name is defined in."""

__all__ = tuple(_HOMES)

if not TYPE_CHECKING:  # type checkers see the imports above instead
    from .._exports import lazy_exports

    __getattr__, __dir__ = lazy_exports(globals(), _HOMES)
    del lazy_exports
