"""The sandbox serves and counts each operation under the family registry's name for it
(:mod:`thingspace_callbacks._families`), the name the client calls it by."""

from __future__ import annotations

from typing import Any

import pytest

from thingspace_callbacks import InvalidArgumentError
from thingspace_callbacks._families import FAMILIES, Family
from thingspace_callbacks.sandbox import Sandbox

ACCOUNT = "0000123456-00001"
URL = "https://listener.example.com/hooks"
SERVICE = "Location"
"""A service every family that takes one accepts (Location accepts only its own)."""

ORDER = ("register", "list", "get", "update", "unregister")
"""Each verb after what it needs: reads and updates find a listener, which is then
removed."""


def _arguments(family: Family, verb: str) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    if verb in ("register", "unregister") and family.takes_service:
        arguments["service"] = SERVICE
    if verb in ("register", "update"):
        arguments["url"] = URL
    return arguments


async def test_every_operation_is_counted_by_its_registry_name() -> None:
    sandbox = Sandbox(require_auth=False)

    async with sandbox.client(max_retries=0) as client:
        for family in FAMILIES:
            for verb in sorted(family.verbs, key=ORDER.index):
                method = getattr(getattr(client, family.name), verb)
                await method(ACCOUNT, **_arguments(family, verb))

    expected = {family.operation(verb) for family in FAMILIES for verb in family.verbs}
    assert len(expected) == 20
    assert set(sandbox.calls) == expected
    assert set(sandbox.calls.values()) == {1}
    assert sandbox.registrations() == []


async def test_the_token_and_session_endpoints_are_counted_by_their_names() -> None:
    sandbox = Sandbox()

    async with sandbox.client(max_retries=0) as client:
        await client.location.list(ACCOUNT)

    assert sandbox.calls == {"token": 1, "login": 1, "location.list": 1, "logout": 1}


@pytest.mark.parametrize(
    "family", [f for f in FAMILIES if not f.takes_service], ids=lambda f: f.name
)
def test_an_extra_listener_of_a_family_without_services_needs_none(family: Family) -> None:
    sandbox = Sandbox()

    (added,) = sandbox.drift(family.name, [ACCOUNT], "extra")

    assert (added.family, added.account, added.service) == (family.name, ACCOUNT, "")
    assert sandbox.drift(family.name, [ACCOUNT], "extra") == []  # one listener in all


@pytest.mark.parametrize("family", [f for f in FAMILIES if f.takes_service], ids=lambda f: f.name)
def test_an_extra_listener_of_a_family_with_services_needs_one(family: Family) -> None:
    sandbox = Sandbox()

    with pytest.raises(InvalidArgumentError, match="needs a service"):
        sandbox.drift(family.name, [ACCOUNT], "extra")
    (added,) = sandbox.drift(family.name, [ACCOUNT], "extra", service=SERVICE)

    assert (added.family, added.service) == (family.name, SERVICE)
