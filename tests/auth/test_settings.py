"""Which credentials the client uses: its arguments, else the environment; contradictory
combinations refused before anything is sent."""

from __future__ import annotations

from typing import Any

import pytest

from thingspace_callbacks import (
    AsyncThingSpaceClient,
    MemoryTokenStore,
    NoAuth,
    RequestValidationError,
    StaticTokenAuth,
    ThingSpaceAuth,
)

from ._support import CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME

FULL_ENV = {
    "THINGSPACE_CLIENT_ID": "env-id",
    "THINGSPACE_CLIENT_SECRET": "env-secret",
    "THINGSPACE_USERNAME": "env-user",
    "THINGSPACE_PASSWORD": "env-password",
}


def build(**kwargs: Any) -> AsyncThingSpaceClient:
    # The client's pool is never opened: constructing one sends nothing.
    return AsyncThingSpaceClient(**kwargs)


def test_nothing_anywhere_means_no_auth() -> None:
    assert isinstance(build().auth, NoAuth)


def test_explicit_credentials() -> None:
    auth = build(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        username=USERNAME,
        password=PASSWORD,
        scope="discovery:read",
        token_refresh_margin=120,
        logout_on_close=False,
    ).auth
    assert isinstance(auth, ThingSpaceAuth)
    assert auth.oauth is not None
    assert auth.oauth.client_id == CLIENT_ID
    assert auth.oauth.scope == "discovery:read"
    assert auth.session is not None
    assert auth.session.username == USERNAME
    assert auth.session.logout_on_close is False


def test_environment_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FULL_ENV.items():
        monkeypatch.setenv(name, value)
    auth = build().auth
    assert isinstance(auth, ThingSpaceAuth)
    assert auth.oauth is not None
    assert auth.oauth.client_id == "env-id"
    assert auth.session is not None
    assert auth.session.username == "env-user"


def test_explicit_arguments_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in FULL_ENV.items():
        monkeypatch.setenv(name, value)
    auth = build(access_token="fixed", username=USERNAME, password=PASSWORD).auth
    assert isinstance(auth, ThingSpaceAuth)
    assert auth.oauth is None  # the fixed token replaced the env client credentials
    assert auth.session is not None
    assert auth.session.username == USERNAME
    assert "access_token=SecretStr('**********')" in repr(auth)

    # One half explicit, the other from the environment.
    auth = build(client_id=CLIENT_ID).auth
    assert isinstance(auth, ThingSpaceAuth)
    assert auth.oauth is not None
    assert auth.oauth.client_id == CLIENT_ID

    # An Auth object of your own ignores every variable.
    mine = StaticTokenAuth(access_token="mine")
    assert build(auth=mine).auth is mine


def test_fixed_tokens_alone_stay_static(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(build(access_token="a").auth, StaticTokenAuth)
    monkeypatch.setenv("THINGSPACE_M2M_TOKEN", "m")
    assert isinstance(build().auth, StaticTokenAuth)


def test_empty_variables_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THINGSPACE_CLIENT_ID", "")
    monkeypatch.setenv("THINGSPACE_ACCESS_TOKEN", "")
    assert isinstance(build().auth, NoAuth)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"auth": NoAuth(), "client_id": "x"}, "either 'auth' or 'client_id'"),
        ({"auth": NoAuth(), "access_token": "x"}, "either 'auth' or 'access_token'"),
        ({"auth": NoAuth(), "on_token": print}, "either 'auth' or 'on_token'"),
        ({"access_token": "a", "client_id": "x", "client_secret": "y"}, "either 'access_token'"),
        ({"m2m_token": "m", "username": "u", "password": "p"}, "either 'm2m_token'"),
        ({"client_id": "x"}, "'client_secret' is required"),
        ({"client_secret": "y"}, "'client_id' is required"),
        ({"username": "u", "access_token": "a"}, "'password' is required"),
        ({"username": "u", "password": "p"}, "log in with a bearer token"),
        ({"access_token": "a", "scope": "s"}, "'scope' needs client credentials"),
        ({"access_token": "a", "token_store": MemoryTokenStore()}, "only apply"),
        ({"client_id": "x", "client_secret": "y", "token_refresh_margin": -1}, "refresh_margin"),
        ({"client_id": " ", "client_secret": "y"}, "'client_id' must be"),
        ({"client_id": "x", "client_secret": ""}, "'client_secret' must be"),
    ],
)
def test_contradictions_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(RequestValidationError, match=message):
        build(**kwargs)


def test_contradictory_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THINGSPACE_ACCESS_TOKEN", "a")
    monkeypatch.setenv("THINGSPACE_CLIENT_ID", "x")
    monkeypatch.setenv("THINGSPACE_CLIENT_SECRET", "y")
    with pytest.raises(RequestValidationError, match="THINGSPACE_ACCESS_TOKEN and"):
        build()
    # An explicit choice settles it.
    assert isinstance(build(access_token="b").auth, StaticTokenAuth)


def test_thingspace_auth_checks_its_parts() -> None:
    with pytest.raises(RequestValidationError, match="at least one credential"):
        ThingSpaceAuth()
    with pytest.raises(RequestValidationError, match="'oauth' must be"):
        ThingSpaceAuth(oauth="key:secret")  # type: ignore[arg-type]
