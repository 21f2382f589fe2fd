"""From keyword arguments and the ``THINGSPACE_*`` environment variables to credentials.

Each of the two credentials, the bearer token and the M2M session, comes from the
keywords when any of its keywords is given, else from its variables: passing
``access_token`` ignores ``THINGSPACE_CLIENT_ID``/``THINGSPACE_CLIENT_SECRET``, passing
``client_id`` alone does not take the secret from ``THINGSPACE_CLIENT_SECRET``. Empty
variables count as unset. A contradiction raises :class:`InvalidArgumentError` naming
the keywords, or the variables, it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._constants import (
    ACCESS_TOKEN_ENV,
    CLIENT_ID_ENV,
    CLIENT_SECRET_ENV,
    M2M_TOKEN_ENV,
    PASSWORD_ENV,
    USERNAME_ENV,
)
from .._errors import InvalidArgumentError

__all__ = ["VARIABLES", "check_credentials", "environment_credentials"]


@dataclass(frozen=True)
class _Credential:
    pair: tuple[str, str]
    """The keywords from which the SDK obtains and renews the credential."""
    fixed: str
    """The keyword of a fixed token instead."""

    @property
    def keywords(self) -> tuple[str, str, str]:
        return (*self.pair, self.fixed)


_CREDENTIALS = (
    _Credential(pair=("client_id", "client_secret"), fixed="access_token"),
    _Credential(pair=("username", "password"), fixed="m2m_token"),
)
"""The bearer token, then the M2M session."""

VARIABLES: dict[str, str] = {
    "client_id": CLIENT_ID_ENV,
    "client_secret": CLIENT_SECRET_ENV,
    "access_token": ACCESS_TOKEN_ENV,
    "username": USERNAME_ENV,
    "password": PASSWORD_ENV,
    "m2m_token": M2M_TOKEN_ENV,
}
"""The variable each credential keyword is read from."""


def environment_credentials(
    given: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The six credential keywords, each credential's from ``given`` when any of its
    keywords is set there and from ``environ`` otherwise; and, for the keywords read
    from ``environ``, the variable each was read from."""
    values = {name: given.get(name) for name in VARIABLES}
    sources: dict[str, str] = {}
    for credential in _CREDENTIALS:
        if all(values[name] is None for name in credential.keywords):
            for name in credential.keywords:
                values[name] = environ.get(VARIABLES[name]) or None
                sources[name] = VARIABLES[name]
    return values, sources


def check_credentials(
    arguments: Mapping[str, object], sources: Mapping[str, str] | None = None
) -> None:
    """Refuse the credentials in ``arguments`` (``ThingSpaceAuth``'s keywords; ``None``
    is unset) when they are missing, incomplete or contradictory. ``sources`` names the
    variable a value was read from, for the message."""
    given = {name for name, value in arguments.items() if value is not None}
    names = _Names(sources or {})
    if not given & VARIABLES.keys():
        wanted = [
            names.wanted(*keywords)
            for credential in _CREDENTIALS
            for keywords in (credential.pair, (credential.fixed,))
        ]
        raise InvalidArgumentError(f"no credentials: pass {', '.join(wanted[:-1])} or {wanted[-1]}")
    for credential in _CREDENTIALS:
        _check_credential(credential, given, names)
    _check_needs(given, names)


def _check_credential(credential: _Credential, given: set[str], names: _Names) -> None:
    first, second = credential.pair
    if (first in given) != (second in given):
        present, missing = (first, second) if first in given else (second, first)
        raise InvalidArgumentError(
            f"{names.given(missing)} is required with {names.given(present)}"
        )
    if credential.fixed in given and first in given:
        raise InvalidArgumentError(
            f"use either {names.given(credential.fixed)} or {names.given(first, second)}, not both"
        )


def _check_needs(given: set[str], names: _Names) -> None:
    if "username" in given and not given & {"client_id", "access_token"}:
        raise InvalidArgumentError(
            f"{names.given('username', 'password')} log in with a bearer token: also pass "
            f"{names.wanted('client_id', 'client_secret')} or {names.wanted('access_token')}"
        )
    if "scope" in given and "client_id" not in given:
        raise InvalidArgumentError("'scope' needs client credentials ('client_id'/'client_secret')")
    if given & {"token_store", "on_token"} and not given & {"client_id", "username"}:
        raise InvalidArgumentError(
            "'token_store' and 'on_token' only apply to credentials the SDK renews: "
            f"{names.wanted('client_id', 'client_secret')} or "
            f"{names.wanted('username', 'password')}"
        )


class _Names:
    """How a message names keywords: by the variable a value was read from, if any."""

    def __init__(self, sources: Mapping[str, str]) -> None:
        self._sources = sources

    def given(self, *keywords: str) -> str:
        """Where the values of ``keywords`` came from."""
        return "/".join(self._sources.get(name, repr(name)) for name in keywords)

    def wanted(self, *keywords: str) -> str:
        """How to supply ``keywords``: the keywords, and their variables when the
        environment was read for them."""
        shown = "/".join(repr(name) for name in keywords)
        if keywords[0] in self._sources:
            shown += f" (or {'/'.join(VARIABLES[name] for name in keywords)})"
        return shown
