"""Reading a state file: the issue's example as written, aliases, ``${VAR}``, accounts
files, and every refusal naming the file and the place, before any request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from thingspace_callbacks import InvalidArgumentError
from thingspace_callbacks.state import Listener, State, StateFileError

from .conftest import FLEET, HOOK, SECRET, accounts, write_state

ENV = {"HOOK_PASSWORD": SECRET}


def load(tmp_path: Path, text: str, names: list[str] | None = None, **env: str) -> State:
    return State.load(str(write_state(tmp_path, text, names)), environ={**ENV, **env})


def refusal(tmp_path: Path, text: str, names: list[str] | None = None, **env: str) -> str:
    with pytest.raises(StateFileError) as caught:
        load(tmp_path, text, names, **env)
    assert isinstance(caught.value, InvalidArgumentError)
    return str(caught.value)


def test_the_issues_example_loads_as_written(tmp_path: Path) -> None:
    state = load(tmp_path, FLEET, accounts(3))
    assert state.all_accounts == tuple(accounts(3))
    assert [(li.family, li.service) for li in state.listeners] == [
        ("location", "Location"),
        ("firmware", ""),
        ("connectivity", "CarrierService"),
    ]
    carrier = state.listeners[2]
    assert carrier.password is not None
    assert carrier.password.get_secret_value() == SECRET
    assert carrier.password_from == "${HOOK_PASSWORD}"
    assert state.prune == frozenset({"location"})
    assert state.families(accounts(1)[0]) == ("location", "firmware", "connectivity")


def test_secrets_are_in_no_repr_or_digest(tmp_path: Path) -> None:
    state = load(tmp_path, FLEET, accounts(1))
    assert SECRET not in repr(state)
    assert SECRET not in repr(state.listeners[2])
    assert SECRET not in state.digest()


@pytest.mark.parametrize(
    ("alias", "family", "service"),
    [
        ("account_name", "connectivity", "CarrierService"),
        ("account_number", "hyper_precise", "BullseyeReporting"),
    ],
)
def test_the_seed_family_names_are_aliases(
    tmp_path: Path, alias: str, family: str, service: str
) -> None:
    state = load(
        tmp_path,
        f'accounts = ["0000000001-00001"]\n[[listener]]\nfamily = "{alias}"\n'
        f'service = "{service}"\nurl = "{HOOK}/{family}"\n',
    )
    assert state.listeners[0].family == family


def test_listeners_may_name_their_own_accounts(tmp_path: Path) -> None:
    state = load(
        tmp_path,
        f"""
accounts = ["0000000001-00001"]
[[listener]]
family = "location"
service = "Location"
url = "{HOOK}/a"
[[listener]]
family = "location"
service = "DeviceLocation"
url = "{HOOK}/b"
accounts = ["0000000002-00001"]
""",
    )
    assert state.all_accounts == ("0000000001-00001", "0000000002-00001")
    assert set(state.desired("0000000001-00001")["location"]) == {"Location"}
    assert set(state.desired("0000000002-00001")["location"]) == {"DeviceLocation"}


def test_a_missing_variable_names_it_and_the_place(tmp_path: Path) -> None:
    message = refusal(
        tmp_path,
        FLEET.replace("${HOOK_PASSWORD}", "${NOT_SET_ANYWHERE}"),
        accounts(1),
    )
    assert "${NOT_SET_ANYWHERE} is not set" in message
    assert "state.toml" in message
    assert "line 18 (password), listener 3" in message


def test_an_unknown_family_lists_the_valid_ones(tmp_path: Path) -> None:
    message = refusal(tmp_path, FLEET.replace('"firmware"', '"firmwar"'), accounts(1))
    assert "unknown family 'firmwar'" in message
    for name in ("diagnostics", "location", "firmware_v3", "connectivity", "hyper_precise"):
        assert name in message
    assert "account_name (connectivity)" in message
    assert "line 9, listener 2" in message


def test_the_same_listener_twice_with_other_values_names_both_places(tmp_path: Path) -> None:
    text = FLEET + f'\n[[listener]]\nfamily = "location"\nservice = "Location"\nurl = "{HOOK}/x"\n'
    message = refusal(tmp_path, text, accounts(2))
    assert "declared twice with different values" in message
    assert "line 4, listener 1" in message
    assert "listener 4" in message


def test_the_same_listener_twice_with_the_same_values_is_one(tmp_path: Path) -> None:
    text = FLEET + f'\n[[listener]]\nfamily = "firmware"\nurl = "{HOOK}/firmware"\n'
    state = load(tmp_path, text, accounts(1))
    assert list(state.desired(accounts(1)[0])["firmware"]) == [""]


def test_an_overlap_through_listener_accounts_is_refused(tmp_path: Path) -> None:
    text = FLEET + (
        f'\n[[listener]]\nfamily = "location"\nservice = "Location"\nurl = "{HOOK}/x"\n'
        f'accounts = ["{accounts(1, start=2)[0]}"]\n'
    )
    message = refusal(tmp_path, text, accounts(2))
    assert f"account '{accounts(1, start=2)[0]}'" in message


@pytest.mark.parametrize(
    ("listener", "expected"),
    [
        ('family = "location"\nurl = "https://h.example/x"', "location listeners need a service"),
        (
            'family = "firmware"\nservice = "X"\nurl = "https://h.example/x"',
            "one listener per account: drop service",
        ),
        ('family = "location"\nservice = "Location"\nurl = "ftp://h.example/x"', "http"),
        ('family = "location"\nservice = "Location"', "url is required"),
        (
            'family = "location"\nservice = "Location"\nurl = "https://u:p@h.example/x"',
            "must not carry credentials",
        ),
        (
            'family = "location"\nservice = "Weather"\nurl = "https://h.example/x"',
            "choose one of Location, DeviceLocation",
        ),
        (
            'family = "connectivity"\nservice = "CarrierService"\nurl = "https://h.example/x"\n'
            'password = "in-clear"',
            "password must come from the environment",
        ),
        (
            'family = "location"\nservice = "Location"\nurl = "https://h.example/x"\n'
            'username = "u"',
            "username is for connectivity listeners, not location",
        ),
        (
            'family = "location"\nservice = "Location"\nurl = "https://h.example/x"\ncolour = 1',
            "unknown key 'colour'",
        ),
        (
            'family = "hyper_precise"\nservice = "Bullseye"\nurl = "https://h.example/\u00e9"',
            "ASCII",
        ),
    ],
)
def test_a_listener_that_cannot_be_planned_is_refused(
    tmp_path: Path, listener: str, expected: str
) -> None:
    message = refusal(tmp_path, f'accounts = ["0000000001-00001"]\n[[listener]]\n{listener}\n')
    assert expected in message
    assert "line 2, listener 1" in message


def test_diagnostics_has_one_service_per_account(tmp_path: Path) -> None:
    text = 'accounts = ["0000000001-00001"]\n' + "".join(
        f'[[listener]]\nfamily = "diagnostics"\nservice = "{s}"\nurl = "{HOOK}/d"\n'
        for s in ("A", "B")
    )
    assert "diagnostics answers one listener per account" in refusal(tmp_path, text)


def test_a_bad_account_names_the_accounts_file_and_line(tmp_path: Path) -> None:
    message = refusal(tmp_path, FLEET, ["0000000001-00001", "# a comment", "0252012345/00001"])
    assert "accounts.txt:3" in message
    assert "must not contain '/'" in message


def test_an_accounts_file_that_does_not_exist(tmp_path: Path) -> None:
    assert "accounts file 'accounts.txt' cannot be read" in refusal(tmp_path, FLEET)


def test_not_toml(tmp_path: Path) -> None:
    assert "is not TOML" in refusal(tmp_path, "accounts = [")


def test_unknown_prune_family(tmp_path: Path) -> None:
    message = refusal(tmp_path, FLEET + "nope = true\n", accounts(1))
    assert "[prune]" in message
    assert "unknown family 'nope'" in message


def test_a_state_built_in_code(tmp_path: Path) -> None:
    state = State(
        listeners=(
            Listener("location", f"{HOOK}/loc", service="Location"),
            Listener(
                "connectivity",
                f"{HOOK}/c",
                service="CarrierService",
                username="hooks",
                password=SecretStr(SECRET),
            ),
        ),
        accounts=tuple(accounts(2)),
        prune=frozenset({"location"}),
    )
    assert SECRET not in repr(state)
    assert state.families(accounts(1)[0]) == ("location", "connectivity")
    with pytest.raises(StateFileError, match="unknown family"):
        State(listeners=(Listener("weather", f"{HOOK}/w"),), accounts=("0000000001-00001",))
    with pytest.raises(StateFileError, match="names no accounts"):
        State(listeners=(Listener("firmware", f"{HOOK}/f"),))


@pytest.mark.parametrize(
    "build",
    [
        lambda: State(
            listeners=(Listener("firmware", f"{HOOK}/f"),),
            accounts="0000000001-00001",  # type: ignore[arg-type]
        ),
        lambda: Listener("firmware", f"{HOOK}/f", accounts="0000000001-00001"),  # type: ignore[arg-type]
        lambda: State(
            listeners=(Listener("location", f"{HOOK}/l", service="Location"),),
            accounts=("0000000001-00001",),
            prune="location",  # type: ignore[arg-type]
        ),
    ],
    ids=["state accounts", "listener accounts", "prune"],
)
def test_a_string_is_not_taken_for_a_list(build: Any) -> None:
    # tuple("0000000001-00001") would be sixteen accounts "0", "1", "-"...
    with pytest.raises(StateFileError, match="not one string"):
        build()


def test_an_overlap_among_many_listeners_names_both_places() -> None:
    names = accounts(3000)
    own = [
        Listener("location", f"{HOOK}/{n}", service="Location", accounts=(n,), place=f"own {n}")
        for n in names
    ]
    # One listener per account, and a top-level one of another service: no overlap.
    top = Listener("location", f"{HOOK}/dl", service="DeviceLocation", place="top")
    state = State(listeners=(*own, top), accounts=tuple(names))
    assert state.desired(names[-1])["location"]["Location"].url == f"{HOOK}/{names[-1]}"

    clash = Listener(
        "location", f"{HOOK}/other", service="Location", accounts=(names[1500],), place="late"
    )
    with pytest.raises(StateFileError) as caught:
        State(listeners=(*own, clash), accounts=())
    assert f"account '{names[1500]}'" in str(caught.value)
    assert f"own {names[1500]} and late" in str(caught.value)

    # A top-level listener declared after the per-account ones still meets them.
    late_top = Listener("location", f"{HOOK}/all", service="Location", place="late top")
    with pytest.raises(StateFileError) as caught:
        State(listeners=(*own, late_top), accounts=(names[7],))
    assert f"own {names[7]} and late top" in str(caught.value)

    diagnostics = [
        Listener("diagnostics", f"{HOOK}/d", service="A", accounts=(names[0],), place="A"),
        Listener("diagnostics", f"{HOOK}/d", service="B", place="B"),
    ]
    with pytest.raises(StateFileError, match="diagnostics answers one listener per account"):
        State(listeners=tuple(diagnostics), accounts=(names[0],))
    # The same listener declared many times counts once.
    twice = State(listeners=(*own, *own), accounts=())
    assert len(twice.desired(names[0])["location"]) == 1


TOKEN = "tok-9c1e77d2"
"""A header secret the state files take from ``$HOOK_TOKEN``."""

DIAGNOSTICS = f"""
accounts = ["0000000001-00001"]

[[listener]]
family = "diagnostics"
service = "Diagnostics"
url = "{HOOK}/diagnostics"
http_headers = {{ Authorization = "Bearer ${{HOOK_TOKEN}}", X-Tenant = "fleet-1" }}
"""


def test_a_header_from_the_environment_is_a_secret(tmp_path: Path) -> None:
    state = load(tmp_path, DIAGNOSTICS, HOOK_TOKEN=TOKEN)
    listener = state.listeners[0]
    assert listener.secret_headers == frozenset({"Authorization"})
    assert listener.http_headers_from == {"Authorization": "Bearer ${HOOK_TOKEN}"}
    # The digest counts the template, not the value: the same for another token.
    other = load(tmp_path, DIAGNOSTICS, HOOK_TOKEN="another")
    assert state.digest() == other.digest()
    assert TOKEN not in repr(state)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ('{ X-Api-Key = "in-clear" }', "http_headers.X-Api-Key holds a credential"),
        ('{ Authorization = "Bearer in-clear" }', "must come from the environment"),
    ],
)
def test_a_credential_header_in_clear_is_refused(
    tmp_path: Path, headers: str, expected: str
) -> None:
    text = DIAGNOSTICS.replace(
        'http_headers = { Authorization = "Bearer ${HOOK_TOKEN}", X-Tenant = "fleet-1" }',
        f"http_headers = {headers}",
    )
    assert expected in refusal(tmp_path, text)


def test_a_variable_in_a_url_is_refused(tmp_path: Path) -> None:
    text = DIAGNOSTICS.replace("/diagnostics", "/diagnostics?token=${HOOK_TOKEN}")
    message = refusal(tmp_path, text, HOOK_TOKEN=TOKEN)
    assert "url must not take ${VARIABLE}" in message
    assert "(url), listener 1" in message
    assert TOKEN not in message
