"""Planning and applying against a sandbox on a real socket, through the Python API:
adds on a fresh sandbox, convergence, drift, conflicts, unreadable accounts, prunes,
and secrets kept out of every plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from thingspace_callbacks import AsyncThingSpaceClient
from thingspace_callbacks.state import (
    Listener,
    Plan,
    PlanFileError,
    PruneRefusedError,
    State,
    apply,
    plan,
)

from .conftest import BROKEN, FLEET, HOOK, SECRET, Served, accounts, write_state

pytestmark = pytest.mark.integration

ENV = {"HOOK_PASSWORD": SECRET}
FLEET_SIZE = 6


def fleet(tmp_path: Path, names: list[str] | None = None) -> State:
    path = write_state(tmp_path, FLEET, names or accounts(FLEET_SIZE))
    return State.load(str(path), environ=ENV)


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_a_fresh_sandbox_is_all_adds_and_an_apply_converges(
    served: Served, tmp_path: Path, anyio_backend: str
) -> None:
    state = fleet(tmp_path)
    async with served.client() as client:
        first = await plan(client, state)
        assert first.counts == {
            "add": 3 * FLEET_SIZE,
            "change": 0,
            "remove": 0,
            "unchanged": 0,
            "unreadable": 0,
        }
        assert first.exit_code == 2
        assert {(e.account, e.family, e.service) for e in first} == {
            (account, name, service)
            for account in accounts(FLEET_SIZE)
            for name, service in (
                ("location", "Location"),
                ("firmware", ""),
                ("connectivity", "CarrierService"),
            )
        }
        report = await apply(client, first)
        assert report.ok
        assert report.counts["applied"] == 3 * FLEET_SIZE
        again = await plan(client, state)
    assert again.exit_code == 0
    assert again.counts["unchanged"] == 3 * FLEET_SIZE
    registered = served.sandbox.registrations("connectivity")
    assert {r.password for r in registered} == {SECRET}


async def converged(served: Served, client: AsyncThingSpaceClient, state: State) -> None:
    report = await apply(client, await plan(client, state), allow_large_prune=True)
    assert report.ok


async def test_drift_shows_exactly_the_drifted_accounts(
    served: Served, client: AsyncThingSpaceClient, tmp_path: Path
) -> None:
    state = fleet(tmp_path)
    await converged(served, client, state)
    names = accounts(FLEET_SIZE)
    served.sandbox.drift("location", names[:2], "url")
    served.sandbox.drift("firmware", [names[2]], "remove")
    served.sandbox.drift("location", [names[3]], "extra", service="DeviceLocation")
    served.sandbox.drift("connectivity", [names[4]], "extra", service="DeviceUsage")

    drifted = await plan(client, state)

    pending = {(e.account, e.family, e.service): e for e in drifted.changes}
    assert set(pending) == {
        (names[0], "location", "Location"),
        (names[1], "location", "Location"),
        (names[2], "firmware", ""),
        # location is pruned; connectivity is not, so its extra listener stays
        (names[3], "location", "DeviceLocation"),
    }
    assert pending[(names[0], "location", "Location")].kind == "change"
    assert pending[(names[0], "location", "Location")].changes == ("url",)
    assert pending[(names[2], "firmware", "")].kind == "add"
    assert pending[(names[3], "location", "DeviceLocation")].kind == "remove"
    assert drifted.counts["unchanged"] == 3 * FLEET_SIZE - 3

    await apply(client, drifted)
    assert (await plan(client, state)).exit_code == 0
    # Only the undeclared listeners of the pruned family went.
    assert (names[4], "DeviceUsage") in served.urls("connectivity")
    assert (names[3], "DeviceLocation") not in served.urls("location")


async def test_a_listener_changed_between_plan_and_apply_is_a_conflict(
    served: Served, client: AsyncThingSpaceClient, tmp_path: Path
) -> None:
    state = fleet(tmp_path)
    await converged(served, client, state)
    names = accounts(FLEET_SIZE)
    served.sandbox.drift("location", names[:2], "url")
    made = await plan(client, state)
    # Someone moves one of them again, and removes the other, after the plan.
    served.sandbox.drift("location", [names[0]], "url", url="https://someone.example/else")
    served.sandbox.drift("location", [names[1]], "remove")

    report = await apply(client, made)

    assert [(r.entry.account, r.outcome) for r in report.results] == [
        (names[0], "conflict"),
        (names[1], "conflict"),
    ]
    assert report.conflicts[0].found is not None
    assert report.conflicts[0].found.url == "https://someone.example/else"
    # Left alone: not overwritten, not registered again.
    assert served.urls("location")[(names[0], "Location")] == "https://someone.example/else"
    assert (names[1], "Location") not in served.urls("location")


async def test_without_recheck_the_plan_is_trusted(
    served: Served, client: AsyncThingSpaceClient, tmp_path: Path
) -> None:
    state = fleet(tmp_path)
    await converged(served, client, state)
    names = accounts(FLEET_SIZE)
    served.sandbox.drift("location", names[:2], "url")
    made = await plan(client, state)
    served.sandbox.drift("location", [names[0]], "url", url="https://someone.example/else")
    reads = served.sandbox.calls["location.list"]
    assert reads > 0  # the plan's reads are counted

    report = await apply(client, made, recheck=False)

    # One request per change, no re-read: the later move is overwritten, as
    # terraform apply would.
    assert served.sandbox.calls["location.list"] == reads
    assert [(r.entry.account, r.outcome) for r in report.results] == [
        (names[0], "applied"),
        (names[1], "applied"),
    ]
    assert served.urls("location")[(names[0], "Location")] == f"{HOOK}/location"
    assert (await plan(client, state)).exit_code == 0


async def test_a_failed_read_is_unreadable_never_added_or_pruned(
    served: Served, client: AsyncThingSpaceClient, tmp_path: Path
) -> None:
    names = [*accounts(2), BROKEN]
    state = fleet(tmp_path, names)
    made = await plan(client, state)
    broken = [e for e in made if e.account == BROKEN]
    assert {e.kind for e in broken} == {"unreadable"}
    assert len(broken) == 3
    assert all("ACCOUNT_LOCKED" in (e.error or "") for e in broken)
    assert made.exit_code == 1
    report = await apply(client, made)
    assert all(r.entry.account != BROKEN for r in report.results)
    assert not served.sandbox.registrations(account=BROKEN)


async def test_prune_removes_only_undeclared_listeners_of_pruned_families(
    served: Served, client: AsyncThingSpaceClient, tmp_path: Path
) -> None:
    names = accounts(4)
    state = fleet(tmp_path, names)
    await converged(served, client, state)
    for account in names:
        await client.location.register(account, service="DeviceLocation", url=f"{HOOK}/old")
        await client.connectivity.register(account, service="DeviceUsage", url=f"{HOOK}/usage")
    made = await plan(client, state)
    assert {(e.account, e.family, e.service) for e in made.changes} == {
        (account, "location", "DeviceLocation") for account in names
    }
    assert {e.kind for e in made.changes} == {"remove"}
    # Half the fleet's location listeners: not more than the default share.
    assert made.large_prunes() == ()
    await apply(client, made)
    assert set(served.urls("location")) == {(a, "Location") for a in names}
    assert set(served.urls("connectivity")) == {
        (a, s) for a in names for s in ("CarrierService", "DeviceUsage")
    }


async def test_a_large_prune_needs_allow_large_prune(
    served: Served, client: AsyncThingSpaceClient, tmp_path: Path
) -> None:
    names = accounts(3)
    for account in names:
        await client.location.register(account, service="DeviceLocation", url=f"{HOOK}/old")
    state = State(
        listeners=(Listener("firmware", f"{HOOK}/fw"),),
        accounts=tuple(names),
        prune=frozenset({"location"}),
    )
    made = await plan(client, state)
    reasons = made.large_prunes()
    assert "location: removes 3 of the 3 listeners read (more than 50%)" in reasons[0]
    assert "leaves 3 account(s) with no listener" in reasons[1]
    with pytest.raises(PruneRefusedError):
        await apply(client, made)
    assert len(served.sandbox.registrations("location")) == 3  # nothing was sent
    report = await apply(client, made, allow_large_prune=True)
    assert report.ok
    assert not served.sandbox.registrations("location")


async def test_a_saved_plan_applies_exactly_and_holds_no_secret(
    served: Served, client: AsyncThingSpaceClient, tmp_path: Path
) -> None:
    state = fleet(tmp_path)
    made = await plan(client, state)
    saved = tmp_path / "plan.json"
    made.save(str(saved))
    assert SECRET not in saved.read_text()
    loaded = Plan.load(str(saved))
    assert loaded.entries == made.entries
    assert loaded.state_digest == made.state_digest

    with pytest.raises(PlanFileError, match="no longer holds the password"):
        await apply(client, loaded, environ={"HOOK_PASSWORD": "another"})
    with pytest.raises(PlanFileError, match=r"\$\{HOOK_PASSWORD\} is not set"):
        await apply(client, loaded, environ={})
    assert not served.sandbox.registrations()  # refused before any request

    report = await apply(client, loaded, environ=ENV)
    assert report.ok
    assert {r.password for r in served.sandbox.registrations("connectivity")} == {SECRET}


async def test_a_plan_is_refused_by_another_api_root(
    served: Served, client: AsyncThingSpaceClient, tmp_path: Path
) -> None:
    made = await plan(client, fleet(tmp_path))
    other = served.client(base_url="http://127.0.0.1:9/api")
    async with other:
        with pytest.raises(PlanFileError, match="was made against"):
            await apply(other, made)


async def test_a_changed_password_is_a_change(
    served: Served, client: AsyncThingSpaceClient, tmp_path: Path
) -> None:
    path = write_state(tmp_path, FLEET, accounts(2))
    await converged(served, client, State.load(str(path), environ=ENV))
    rotated = await plan(client, State.load(str(path), environ={"HOOK_PASSWORD": "rotated-1"}))
    changes = rotated.changes
    assert [(e.family, e.changes) for e in changes] == [("connectivity", ("password",))] * 2
    assert "rotated-1" not in rotated.to_json()
    assert SECRET not in rotated.to_json()


async def test_every_family_converges_and_its_changes_are_seen(
    served: Served, client: AsyncThingSpaceClient, tmp_path: Path
) -> None:
    names = accounts(2)

    def state(version: str) -> State:
        return State(
            listeners=(
                Listener("diagnostics", f"{HOOK}/{version}/d", service="Diagnostics",
                         http_headers={"X-Hook": version}),
                Listener("location", f"{HOOK}/{version}/l", service="DeviceLocation"),
                Listener("firmware", f"{HOOK}/{version}/f"),
                Listener("firmware_v3", f"{HOOK}/{version}/f3"),
                Listener("connectivity", f"{HOOK}/{version}/c", service="DeviceUsage",
                         username=f"user-{version}"),
                Listener("hyper_precise", f"{HOOK}/{version}/h", service="BullseyeReporting"),
            ),
            accounts=tuple(names),
        )  # fmt: skip

    first = await plan(client, state("v1"))
    assert first.counts["add"] == 12
    assert (await apply(client, first)).ok
    assert (await plan(client, state("v1"))).exit_code == 0

    rotated = await plan(client, state("v2"))
    changes = {(e.family, e.changes) for e in rotated.changes}
    assert changes == {
        ("diagnostics", ("url", "http_headers")),
        ("location", ("url",)),
        ("firmware", ("url",)),
        ("firmware_v3", ("url",)),
        ("connectivity", ("url", "username")),
        ("hyper_precise", ("url",)),
    }
    before = served.sandbox.calls["firmware.update"]
    assert (await apply(client, rotated)).ok
    assert served.sandbox.calls["firmware.update"] == before + 2  # FOTA: update
    assert (await plan(client, state("v2"))).exit_code == 0
