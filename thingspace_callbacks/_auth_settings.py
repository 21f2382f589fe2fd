"""From the client's keyword arguments and the environment to one :class:`Auth`.

Explicit arguments win over environment variables, credential by credential: passing
``access_token`` ignores ``THINGSPACE_CLIENT_ID``/``THINGSPACE_CLIENT_SECRET``, passing
``auth`` ignores every variable. Contradictions raise :class:`RequestValidationError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ._auth import Auth, NoAuth, StaticTokenAuth
from ._constants import (
    ACCESS_TOKEN_ENV,
    CLIENT_ID_ENV,
    CLIENT_SECRET_ENV,
    DEFAULT_TOKEN_REFRESH_MARGIN,
    M2M_TOKEN_ENV,
    PASSWORD_ENV,
    USERNAME_ENV,
)
from ._errors import RequestValidationError

if TYPE_CHECKING:
    from pydantic import SecretStr

    from ._token_store import TokenCallback, TokenStore

    _Secret = str | SecretStr

__all__ = ["resolve_auth"]


def resolve_auth(
    *,
    auth: Auth | None,
    access_token: _Secret | None,
    m2m_token: _Secret | None,
    client_id: str | None,
    client_secret: _Secret | None,
    username: str | None,
    password: _Secret | None,
    scope: str | Sequence[str] | None,
    token_store: TokenStore | None,
    on_token: TokenCallback | None,
    logout_on_close: bool,
    token_refresh_margin: float | None,
    environ: Mapping[str, str] | None = None,
) -> Auth:
    """The :class:`Auth` the client's arguments (and, for what they leave out, the
    ``THINGSPACE_*`` environment variables) describe; :class:`NoAuth` when nothing does."""
    env = os.environ if environ is None else environ
    options = {
        "scope": scope,
        "token_store": token_store,
        "on_token": on_token,
        "token_refresh_margin": token_refresh_margin,
    }
    if auth is not None:
        given = [
            name
            for name, value in {
                "access_token": access_token,
                "m2m_token": m2m_token,
                "client_id": client_id,
                "client_secret": client_secret,
                "username": username,
                "password": password,
                **options,
            }.items()
            if value is not None
        ]
        if given:
            raise RequestValidationError(
                f"pass either 'auth' or {', '.join(repr(n) for n in given)}, not both "
                "(configure your Auth object instead)"
            )
        if not isinstance(auth, Auth):
            raise RequestValidationError(
                f"'auth' must be an Auth instance, not {type(auth).__name__}"
            )
        return auth

    fixed_access, client = _pair(
        fixed=access_token,
        first=client_id,
        second=client_secret,
        names=("access_token", "client_id", "client_secret"),
        env_names=(ACCESS_TOKEN_ENV, CLIENT_ID_ENV, CLIENT_SECRET_ENV),
        env=env,
    )
    fixed_m2m, user = _pair(
        fixed=m2m_token,
        first=username,
        second=password,
        names=("m2m_token", "username", "password"),
        env_names=(M2M_TOKEN_ENV, USERNAME_ENV, PASSWORD_ENV),
        env=env,
    )
    if scope is not None and client is None:
        raise RequestValidationError("'scope' needs client credentials ('client_id')")
    if client is None and user is None:
        unused = [name for name, value in options.items() if value is not None]
        if unused:
            raise RequestValidationError(
                f"{', '.join(repr(n) for n in unused)} only apply to credentials the SDK "
                "obtains: pass 'client_id'/'client_secret' or 'username'/'password'"
            )
        if fixed_access is None and fixed_m2m is None:
            return NoAuth()
        return StaticTokenAuth(access_token=fixed_access, m2m_token=fixed_m2m)
    if user is not None and client is None and fixed_access is None:
        raise RequestValidationError(
            "'username'/'password' log in with a bearer token: also pass "
            f"'client_id'/'client_secret' (or set {CLIENT_ID_ENV}/{CLIENT_SECRET_ENV}) "
            "or 'access_token'"
        )

    # Only clients that obtain their own tokens need these modules (and pydantic's
    # SecretStr): imported here, once per such client.
    from ._oauth import OAuthClientCredentials
    from ._session import M2MSession
    from ._thingspace_auth import ThingSpaceAuth

    margin = DEFAULT_TOKEN_REFRESH_MARGIN if token_refresh_margin is None else token_refresh_margin
    oauth = None
    if client is not None:
        oauth = OAuthClientCredentials(
            client[0],
            client[1],
            scope=scope,
            refresh_margin=margin,
            token_store=token_store,
            on_token=on_token,
        )
    session = None
    if user is not None:
        session = M2MSession(
            user[0],
            user[1],
            refresh_margin=margin,
            token_store=token_store,
            on_token=on_token,
            logout_on_close=logout_on_close,
        )
    return ThingSpaceAuth(
        oauth=oauth, session=session, access_token=fixed_access, m2m_token=fixed_m2m
    )


def _pair(
    *,
    fixed: _Secret | None,
    first: str | None,
    second: _Secret | None,
    names: tuple[str, str, str],
    env_names: tuple[str, str, str],
    env: Mapping[str, str],
) -> tuple[_Secret | None, tuple[str, _Secret] | None]:
    """One credential slot: a fixed token, or a pair (id and secret, or user and
    password) that the SDK uses to obtain tokens."""
    fixed_name, first_name, second_name = names
    fixed_env, first_env, second_env = env_names
    if fixed is not None:
        if first is not None or second is not None:
            other = first_name if first is not None else second_name
            raise RequestValidationError(f"pass either {fixed_name!r} or {other!r}, not both")
        return fixed, None
    if first is None and second is None:
        # Nothing explicit for this slot: the environment decides.
        env_fixed = env.get(fixed_env) or None
        env_first = env.get(first_env) or None
        env_second = env.get(second_env) or None
        if env_fixed is not None and (env_first is not None or env_second is not None):
            raise RequestValidationError(
                f"both {fixed_env} and {first_env}/{second_env} are set; unset one"
            )
        if env_fixed is not None:
            return env_fixed, None
        if env_first is None and env_second is None:
            return None, None
        first, second = env_first, env_second
    else:
        first = first if first is not None else env.get(first_env) or None
        second = second if second is not None else env.get(second_env) or None
    if first is None:
        raise RequestValidationError(
            f"{first_name!r} is required with {second_name!r} (or set {first_env})"
        )
    if second is None:
        raise RequestValidationError(
            f"{second_name!r} is required with {first_name!r} (or set {second_env})"
        )
    return None, (first, second)
