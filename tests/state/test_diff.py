"""Planning as a pure function of (desired, observed): :func:`diff` as a table."""

from __future__ import annotations

import pytest

from thingspace_callbacks import InvalidArgumentError
from thingspace_callbacks._families import family
from thingspace_callbacks.state import (
    NOT_RETURNED,
    SENSITIVE,
    Plan,
    PlanEntry,
    PlanFileError,
    Snapshot,
)
from thingspace_callbacks.state._entries import diff
from thingspace_callbacks.state._preflight import check_prune

A = "0000000001-00001"
NEW = Snapshot("https://hooks.example.com/new")
OLD = Snapshot("https://hooks.example.com/old")
LOCATION = family("location")
CONNECTIVITY = family("connectivity")


def kinds(entries: list[PlanEntry]) -> list[tuple[str | None, str]]:
    return [(e.service, e.kind) for e in entries]


@pytest.mark.parametrize(
    ("wanted", "seen", "prune", "expected"),
    [
        ({"Location": NEW}, [], False, [("Location", "add")]),
        ({"Location": NEW}, [("Location", NEW)], False, [("Location", "unchanged")]),
        ({"Location": NEW}, [("Location", OLD)], False, [("Location", "change")]),
        # An undeclared listener is left alone, unless its family is pruned.
        (
            {"Location": NEW},
            [("Location", NEW), ("DeviceLocation", OLD)],
            False,
            [("Location", "unchanged")],
        ),
        (
            {"Location": NEW},
            [("Location", NEW), ("DeviceLocation", OLD)],
            True,
            [("Location", "unchanged"), ("DeviceLocation", "remove")],
        ),
        ({}, [("DeviceLocation", OLD)], True, [("DeviceLocation", "remove")]),
        ({}, [("DeviceLocation", OLD)], False, []),
        # A failed read is never an add nor a remove.
        ({"Location": NEW}, None, False, [("Location", "unreadable")]),
        ({"Location": NEW}, None, True, [("Location", "unreadable")]),
        ({}, None, True, [(None, "unreadable")]),
    ],
)
def test_entries(
    wanted: dict[str, Snapshot],
    seen: list[tuple[str, Snapshot]] | None,
    prune: bool,
    expected: list[tuple[str | None, str]],
) -> None:
    assert kinds(diff(A, LOCATION, wanted, seen, prune=prune, error="boom")) == expected


def test_a_change_says_what_changes() -> None:
    (entry,) = diff(A, LOCATION, {"Location": NEW}, [("Location", OLD)], prune=False)
    assert entry.changes == ("url",)
    assert (entry.before, entry.after) == (OLD, NEW)


DIGEST = "pbkdf2_sha256$1$salt$00"
WITH_PASSWORD = Snapshot("https://h.example/c", "hooks", DIGEST)


@pytest.mark.parametrize(
    ("seen_password", "resend", "kind"),
    [
        (DIGEST, False, "unchanged"),  # the read returned the state's password
        (SENSITIVE, False, "change"),  # another password
        (None, False, "change"),  # none at all
        (NOT_RETURNED, False, "unchanged"),  # cannot be compared
        (NOT_RETURNED, True, "change"),  # ...unless asked to send it again
    ],
)
def test_passwords(seen_password: str | None, resend: bool, kind: str) -> None:
    seen = Snapshot("https://h.example/c", "hooks", seen_password)
    (entry,) = diff(
        A,
        CONNECTIVITY,
        {"CarrierService": WITH_PASSWORD},
        [("CarrierService", seen)],
        prune=False,
        resend_secrets=resend,
    )
    assert entry.kind == kind
    if kind == "change":
        assert entry.changes == ("password",)


def test_entries_round_trip_through_json() -> None:
    for entry in diff(A, CONNECTIVITY, {"CarrierService": WITH_PASSWORD}, [], prune=False):
        assert PlanEntry.from_data(entry.data()) == entry


@pytest.mark.parametrize("share", ["NaN", "Infinity", "-0.5", "1.5", '"half"', "null", "true"])
def test_a_loaded_plans_prune_share_is_checked(share: str) -> None:
    # NaN compares False with everything: "n > NaN * held" would let any prune through.
    entry = PlanEntry(A, "location", "Location", "remove", OLD)
    text = Plan(entries=(entry,), state_digest="sha256:0").to_json()
    text = text.replace('"maxPruneShare":0.5', f'"maxPruneShare":{share}')
    with pytest.raises(PlanFileError, match="maxPruneShare must be a number between 0 and 1"):
        Plan.from_json(text)
    kept = Plan.from_json(text.replace(f'"maxPruneShare":{share}', '"maxPruneShare":1'))
    assert kept.max_prune_share == 1.0


def test_a_plan_whose_prune_share_is_nan_is_refused_on_apply() -> None:
    entry = PlanEntry(A, "location", "Location", "remove", OLD)
    made = Plan(entries=(entry,), state_digest="sha256:0", max_prune_share=float("nan"))
    with pytest.raises(InvalidArgumentError, match="max_prune_share"):
        check_prune(made, allow_large_prune=False)
