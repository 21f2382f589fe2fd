"""From the client's credential arguments (and the environment) to its :class:`Auth`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._errors import InvalidArgumentError
from .base import Auth, NoAuth
from .settings import VARIABLES, environment_credentials

if TYPE_CHECKING:
    import httpx
    from pydantic import SecretStr

    from .process import Lease
    from .tokens import TokenStore

__all__ = ["client_auth", "resolve_auth"]


def client_auth(
    auth: Auth | None,
    *,
    client_id: str | None,
    client_secret: str | SecretStr | None,
    username: str | None,
    password: str | SecretStr | None,
    token_store: TokenStore | None,
    base_url: str,
    http_client: httpx.AsyncClient | None,
) -> tuple[Auth, Lease | None]:
    """A new client's :class:`Auth`, as :func:`resolve_auth` builds it, and, when the
    SDK renews the credentials and the client names no ``auth`` or ``token_store`` of
    its own, the lease on the credentials it shares with the process's other clients
    of the same credentials and API root (:mod:`.process`). Release the lease when the
    client closes."""

    def resolve() -> Auth:
        return resolve_auth(
            auth,
            client_id=client_id,
            client_secret=client_secret,
            username=username,
            password=password,
            token_store=token_store,
        )

    if auth is not None or token_store is not None:
        return resolve(), None
    given = {
        "client_id": client_id,
        "client_secret": client_secret,
        "username": username,
        "password": password,
    }
    credentials, _ = environment_credentials(given, os.environ)
    if credentials["client_id"] is None and credentials["username"] is None:
        # Fixed tokens or none: nothing to obtain, so nothing to share.
        return resolve(), None
    from .process import PROCESS_CREDENTIALS, process_key

    lease = PROCESS_CREDENTIALS.acquire(process_key(credentials, base_url, http_client), resolve)
    return lease.auth, lease


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
