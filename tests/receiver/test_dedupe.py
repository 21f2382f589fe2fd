"""Message identity for deduplication, and the in-memory store and its claims."""

from __future__ import annotations

from typing import Any

import pytest

from thingspace_callbacks import InvalidArgumentError
from thingspace_callbacks.receiver import (
    Claim,
    ClaimingDedupeStore,
    DedupeStore,
    MemoryDedupeStore,
    default_dedupe_key,
)

from . import _messages as msg


def test_resend_has_the_same_key_despite_a_higher_callback_count() -> None:
    first = default_dedupe_key("/CarrierService", msg.m2m(callbackCount=1))
    assert default_dedupe_key("/CarrierService", msg.m2m(callbackCount=2)) == first
    assert default_dedupe_key("/CarrierService", msg.m2m(callbackCount=4)) == first
    reordered = dict(reversed(list(msg.m2m().items())))
    assert default_dedupe_key("/CarrierService", reordered) == first


def test_credentials_do_not_change_the_key() -> None:
    first = default_dedupe_key("/CarrierService", msg.m2m())
    assert default_dedupe_key("/CarrierService", msg.m2m(password="rotated")) == first
    assert msg.PASSWORD not in first


def test_different_messages_or_routes_have_different_keys() -> None:
    first = default_dedupe_key("/CarrierService", msg.m2m())
    assert default_dedupe_key("/CarrierService", msg.m2m(deviceIds=[{"id": "2"}])) != first
    assert default_dedupe_key("/CarrierService", msg.m2m(status="Failed")) != first
    assert default_dedupe_key("/NiddService", msg.m2m()) != first


async def test_in_memory_store_forgets_the_least_recently_used() -> None:
    store = MemoryDedupeStore(max_entries=2)
    assert isinstance(store, DedupeStore)
    await store.add("a")
    await store.add("b")
    assert await store.contains("a")  # "a" is now the most recent
    await store.add("c")
    assert await store.contains("a")
    assert await store.contains("c")
    assert not await store.contains("b")
    assert len(store) == 2


@pytest.mark.parametrize("max_entries", [0, -1, "x", 1.5, True, None])
def test_in_memory_store_needs_room(max_entries: Any) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        MemoryDedupeStore(max_entries=max_entries)
    assert str(caught.value) == f"'max_entries' must be an int >= 1, got {max_entries!r}"


async def test_in_memory_store_hands_out_one_claim_per_key() -> None:
    store = MemoryDedupeStore()
    assert isinstance(store, ClaimingDedupeStore)
    claim = await store.claim("a")
    assert isinstance(claim, Claim)
    assert claim.key == "a"
    assert await store.claim("a") == "busy"
    assert isinstance(await store.claim("b"), Claim)
    await store.complete(claim)
    assert await store.claim("a") == "done"
    assert await store.contains("a")


async def test_a_released_claim_can_be_claimed_again_but_not_released_twice() -> None:
    store = MemoryDedupeStore()
    first = await store.claim("a")
    assert isinstance(first, Claim)
    await store.release(first)
    second = await store.claim("a")
    assert isinstance(second, Claim)
    assert second.token != first.token
    await store.release(first)  # stale: leaves the newer claim alone
    assert await store.claim("a") == "busy"
    assert not await store.contains("a")


async def test_in_memory_claims_go_through_contains_and_add() -> None:
    class Persistent(MemoryDedupeStore):
        """A subclass written before claims existed, keeping its keys elsewhere."""

        def __init__(self) -> None:
            super().__init__()
            self.kept: set[str] = {"old"}

        async def contains(self, key: str) -> bool:
            return key in self.kept

        async def add(self, key: str) -> None:
            self.kept.add(key)

    store = Persistent()
    assert await store.claim("old") == "done"
    claim = await store.claim("new")
    assert isinstance(claim, Claim)
    await store.complete(claim)
    assert store.kept == {"old", "new"}


def test_a_contains_add_store_is_not_a_claiming_one() -> None:
    class Legacy:
        async def contains(self, key: str) -> bool:
            return False

        async def add(self, key: str) -> None:
            pass

    assert isinstance(Legacy(), DedupeStore)
    assert not isinstance(Legacy(), ClaimingDedupeStore)
