"""Which credentials are used: ThingSpaceAuth's keywords, ThingSpaceAuth.from_env's
environment, and the client's resolve_auth; incomplete or contradictory combinations
refused before anything is sent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

import thingspace_callbacks
from thingspace_callbacks import (
    AuthContext,
    InvalidArgumentError,
    MemoryTokenStore,
    NoAuth,
    ThingSpaceAuth,
)
from thingspace_callbacks._auth import resolve_auth

from ..conftest import BASE_URL
from ._support import CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME

FULL_ENV = {
    "THINGSPACE_CLIENT_ID": "env-id",
    "THINGSPACE_CLIENT_SECRET": "env-secret",
    "THINGSPACE_USERNAME": "env-user",
    "THINGSPACE_PASSWORD": "env-password",
}
VARIABLES = (
    "THINGSPACE_CLIENT_ID",
    "THINGSPACE_CLIENT_SECRET",
    "THINGSPACE_ACCESS_TOKEN",
    "THINGSPACE_USERNAME",
    "THINGSPACE_PASSWORD",
    "THINGSPACE_M2M_TOKEN",
)
KEYWORDS = ("client_id", "client_secret", "access_token", "username", "password", "m2m_token")
HIDDEN = "SecretStr('**********')"


def resolve(auth: Any = None, environ: dict[str, str] | None = None, **kwargs: Any) -> Any:
    """``resolve_auth`` as the client calls it, every keyword unset unless given."""
    keywords: dict[str, Any] = dict.fromkeys(
        ("client_id", "client_secret", "username", "password", "token_store")
    )
    return resolve_auth(auth, **{**keywords, **kwargs}, environ={} if environ is None else environ)


# -- ThingSpaceAuth ---------------------------------------------------------------------


def test_explicit_credentials() -> None:
    auth = ThingSpaceAuth(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        username=USERNAME,
        password=PASSWORD,
        scope=["discovery:read"],
        refresh_margin=120,
        logout_on_close=False,
    )
    assert auth.client_id == CLIENT_ID
    assert auth.username == USERNAME
    assert repr(auth) == (
        f"ThingSpaceAuth(client_id={CLIENT_ID!r}, client_secret={HIDDEN}, "
        f"scope='discovery:read', username={USERNAME!r}, password={HIDDEN})"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "no credentials: pass 'client_id'/'client_secret', 'access_token', "),
        ({"client_id": "x"}, "'client_secret' is required with 'client_id'"),
        ({"client_secret": "y"}, "'client_id' is required with 'client_secret'"),
        ({"username": "u", "access_token": "a"}, "'password' is required with 'username'"),
        (
            {"access_token": "a", "client_id": "x", "client_secret": "y"},
            "either 'access_token' or 'client_id'/'client_secret', not both",
        ),
        (
            {"m2m_token": "m", "username": "u", "password": "p"},
            "either 'm2m_token' or 'username'/'password', not both",
        ),
        ({"username": "u", "password": "p"}, "log in with a bearer token"),
        ({"username": "u", "password": "p", "m2m_token": "m"}, "either 'm2m_token'"),
        ({"access_token": "a", "scope": "s"}, "'scope' needs client credentials"),
        ({"access_token": "a", "token_store": MemoryTokenStore()}, "only apply"),
        ({"m2m_token": "m", "on_token": print}, "only apply"),
        ({"client_id": "x", "client_secret": "y", "refresh_margin": -1}, "'refresh_margin'"),
        ({"access_token": "a", "refresh_margin": float("nan")}, "'refresh_margin'"),
        ({"access_token": "a", "session_idle_timeout": 0}, "'session_idle_timeout'"),
        ({"client_id": " ", "client_secret": "y"}, "'client_id' must be"),
        ({"client_id": "x", "client_secret": ""}, "'client_secret' must be"),
        ({"access_token": "a", "username": "", "password": "p"}, "'username' must be"),
        ({"access_token": "a", "username": "u", "password": ""}, "'password' must be"),
        ({"client_id": "x", "client_secret": "y", "on_token": "hook"}, "'on_token' must be"),
        ({"client_id": "x", "client_secret": "y", "scope": [1]}, "'scope' must be"),
    ],
)
def test_contradictions_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        ThingSpaceAuth(**kwargs)


def test_client_id_and_username_are_none_when_not_used() -> None:
    auth = ThingSpaceAuth(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, m2m_token="m")
    assert (auth.client_id, auth.username) == (CLIENT_ID, None)
    auth = ThingSpaceAuth(access_token="a", username=USERNAME, password=PASSWORD)
    assert (auth.client_id, auth.username) == (None, USERNAME)


# -- ThingSpaceAuth.from_env ------------------------------------------------------------


def test_environment_credentials() -> None:
    auth = ThingSpaceAuth.from_env(FULL_ENV)
    assert auth.client_id == "env-id"
    assert auth.username == "env-user"


def test_from_env_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FULL_ENV.items():
        monkeypatch.setenv(name, value)
    assert ThingSpaceAuth.from_env().client_id == "env-id"


def test_explicit_keywords_win_credential_by_credential() -> None:
    auth = ThingSpaceAuth.from_env(
        FULL_ENV, access_token="fixed", username=USERNAME, password=PASSWORD
    )
    assert auth.client_id is None  # the fixed token replaced the env client credentials
    assert auth.username == USERNAME
    assert f"access_token={HIDDEN}" in repr(auth)

    # The session explicit, the bearer token from the environment.
    auth = ThingSpaceAuth.from_env(FULL_ENV, username=USERNAME, password=PASSWORD)
    assert (auth.client_id, auth.username) == ("env-id", USERNAME)

    # A half-given pair is not completed from the environment.
    with pytest.raises(InvalidArgumentError, match="'client_secret' is required"):
        ThingSpaceAuth.from_env(FULL_ENV, client_id=CLIENT_ID)


def test_from_env_passes_the_other_keywords_on() -> None:
    auth = ThingSpaceAuth.from_env(FULL_ENV, scope="discovery:read", logout_on_close=False)
    assert "scope='discovery:read'" in repr(auth)
    with pytest.raises(InvalidArgumentError, match="'refresh_margin'"):
        ThingSpaceAuth.from_env(FULL_ENV, refresh_margin=-1)


def test_empty_variables_count_as_unset() -> None:
    environ = {
        "THINGSPACE_CLIENT_ID": "",
        "THINGSPACE_ACCESS_TOKEN": "a",
        "THINGSPACE_M2M_TOKEN": "m",
    }
    auth = ThingSpaceAuth.from_env(environ)
    assert auth.client_id is None
    assert repr(auth) == f"ThingSpaceAuth(access_token={HIDDEN}, m2m_token={HIDDEN})"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"THINGSPACE_ACCESS_TOKEN": "a", **FULL_ENV},
            "use either THINGSPACE_ACCESS_TOKEN or "
            "THINGSPACE_CLIENT_ID/THINGSPACE_CLIENT_SECRET, not both",
        ),
        (
            {"THINGSPACE_M2M_TOKEN": "m", **FULL_ENV},
            "use either THINGSPACE_M2M_TOKEN or THINGSPACE_USERNAME/THINGSPACE_PASSWORD",
        ),
        (
            {"THINGSPACE_CLIENT_ID": "x"},
            "THINGSPACE_CLIENT_SECRET is required with THINGSPACE_CLIENT_ID",
        ),
        (
            {"THINGSPACE_USERNAME": "u", "THINGSPACE_PASSWORD": "p"},
            "THINGSPACE_USERNAME/THINGSPACE_PASSWORD log in with a bearer token",
        ),
    ],
)
def test_contradictory_environment_is_refused(environ: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        ThingSpaceAuth.from_env(environ)


def test_an_explicit_choice_settles_a_contradictory_environment() -> None:
    environ = {"THINGSPACE_ACCESS_TOKEN": "a", **FULL_ENV}
    auth = ThingSpaceAuth.from_env(environ, access_token="b")
    assert (auth.client_id, auth.username) == (None, "env-user")


def test_nothing_set_names_every_keyword_and_variable() -> None:
    with pytest.raises(InvalidArgumentError, match="no credentials") as caught:
        ThingSpaceAuth.from_env({})
    for name in (*KEYWORDS, *VARIABLES):
        assert name in str(caught.value)


# -- resolve_auth (the client's keywords) ----------------------------------------------


async def _headers(auth: Any) -> dict[str, str]:
    """The headers ``auth`` adds to a request (fixed tokens and none fetch nothing)."""
    async with httpx.AsyncClient() as http_client:
        context = AuthContext(BASE_URL, http_client, httpx.Timeout(5), "test")
        return dict(await auth.auth_headers(context))


async def test_nothing_anywhere_means_no_auth() -> None:
    for auth in (resolve(), resolve(environ={"THINGSPACE_CLIENT_ID": ""})):
        assert type(auth) is NoAuth
        assert await _headers(auth) == {}  # requests go out without credentials


async def test_resolve_auth_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    keywords: dict[str, Any] = dict.fromkeys(
        ("client_id", "client_secret", "username", "password", "token_store")
    )
    assert await _headers(resolve_auth(None, **keywords)) == {}
    monkeypatch.setenv("THINGSPACE_M2M_TOKEN", "m")
    monkeypatch.setenv("THINGSPACE_ACCESS_TOKEN", "a")
    auth = resolve_auth(None, **keywords)
    assert isinstance(auth, ThingSpaceAuth)
    assert await _headers(auth) == {"Authorization": "Bearer a", "VZ-M2M-Token": "m"}


def test_resolve_auth_builds_like_from_env() -> None:
    auth = resolve(environ=FULL_ENV)
    assert isinstance(auth, ThingSpaceAuth)
    assert (auth.client_id, auth.username) == ("env-id", "env-user")

    auth = resolve(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, environ=FULL_ENV)
    assert (auth.client_id, auth.username) == (CLIENT_ID, "env-user")

    # Fixed tokens take the one ThingSpaceAuth path too.
    auth = resolve(environ={"THINGSPACE_ACCESS_TOKEN": "a", "THINGSPACE_M2M_TOKEN": "m"})
    assert repr(auth) == f"ThingSpaceAuth(access_token={HIDDEN}, m2m_token={HIDDEN})"

    store = MemoryTokenStore()
    auth = resolve(token_store=store, environ=FULL_ENV)
    assert isinstance(auth, ThingSpaceAuth)


def test_a_token_store_without_credentials_is_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="no credentials"):
        resolve(token_store=MemoryTokenStore())
    with pytest.raises(InvalidArgumentError, match="'password' is required"):
        resolve(username=USERNAME, environ=FULL_ENV)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"client_id": "x"},
        {"client_secret": "y"},
        {"username": "u"},
        {"password": "p"},
        {"token_store": MemoryTokenStore()},
    ],
)
def test_auth_and_credentials_together_are_refused(kwargs: dict[str, Any]) -> None:
    name = next(iter(kwargs))
    with pytest.raises(
        InvalidArgumentError,
        match=f"pass either 'auth' or '{name}', not both; configure your ThingSpaceAuth",
    ):
        resolve(NoAuth(), **kwargs)


def test_an_auth_object_is_used_as_is_and_ignores_the_environment() -> None:
    mine = ThingSpaceAuth(access_token="mine")
    assert resolve(mine, environ=FULL_ENV) is mine
    with pytest.raises(InvalidArgumentError, match="'auth' must be an Auth instance, not str"):
        resolve("token")


# -- the public API ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["StaticTokenAuth", "OAuthClientCredentials", "M2MSession"])
def test_only_thingspace_auth_configures_credentials(name: str) -> None:
    assert name not in thingspace_callbacks.__all__
    with pytest.raises(AttributeError):
        getattr(thingspace_callbacks, name)


def test_the_auth_package_exports_what_the_sdk_imports() -> None:
    from thingspace_callbacks import _auth

    for name in _auth.__all__:
        assert getattr(_auth, name) is not None
    assert {"Auth", "ThingSpaceAuth", "Token", "resolve_auth"} <= set(_auth.__all__)
