"""From the client's credential arguments (and the environment) to its :class:`Auth`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._errors import InvalidArgumentError
from .base import Auth, NoAuth
from .settings import VARIABLES

if TYPE_CHECKING:
    from pydantic import SecretStr

    from .tokens import TokenStore

__all__ = ["resolve_auth"]


def resolve_auth(
    auth: Auth | None,
    *,
    client_id: str | None,
    client_secret: str | SecretStr | None,
    username: str | None,
    password: str | SecretStr | None,
    token_store: TokenStore | None,
    environ: Mapping[str, str] | None = None,
) -> Auth:
    """The client's :class:`Auth`: ``auth`` itself; else a ``ThingSpaceAuth`` from the
    other keywords and the environment, as ``ThingSpaceAuth.from_env`` builds it; else,
    when nothing at all supplies a credential, :class:`NoAuth`."""
    given = {
        "client_id": client_id,
        "client_secret": client_secret,
        "username": username,
        "password": password,
        "token_store": token_store,
    }
    if auth is not None:
        return _own_auth(auth, given)
    env = os.environ if environ is None else environ
    if all(value is None for value in given.values()) and not any(
        env.get(variable) for variable in VARIABLES.values()
    ):
        return NoAuth()
    # Imported here: a client without credentials needs neither ThingSpaceAuth nor
    # pydantic, which takes tens of milliseconds to import.
    from .thingspace import ThingSpaceAuth

    return ThingSpaceAuth.from_env(
        env,
        client_id=client_id,
        client_secret=client_secret,
        username=username,
        password=password,
        token_store=token_store,
    )


def _own_auth(auth: Auth, given: Mapping[str, object]) -> Auth:
    named = [repr(name) for name, value in given.items() if value is not None]
    if named:
        raise InvalidArgumentError(
            f"pass either 'auth' or {', '.join(named)}, not both; "
            "configure your ThingSpaceAuth instead"
        )
    if not isinstance(auth, Auth):
        raise InvalidArgumentError(f"'auth' must be an Auth instance, not {type(auth).__name__}")
    return auth
