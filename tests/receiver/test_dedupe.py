"""Message identity for deduplication, and the in-memory store."""

from __future__ import annotations

import pytest

from thingspace_callbacks.receiver import DedupeStore, InMemoryDedupeStore, default_dedupe_key

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
    store = InMemoryDedupeStore(max_entries=2)
    assert isinstance(store, DedupeStore)
    await store.add("a")
    await store.add("b")
    assert await store.contains("a")  # "a" is now the most recent
    await store.add("c")
    assert await store.contains("a")
    assert await store.contains("c")
    assert not await store.contains("b")
    assert len(store) == 2


def test_in_memory_store_needs_room() -> None:
    with pytest.raises(ValueError, match="max_entries"):
        InMemoryDedupeStore(max_entries=0)
