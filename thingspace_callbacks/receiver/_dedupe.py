"""Remembering which messages were handled, so a re-sent message is handled once.

ThingSpace re-sends a message that was not acknowledged, and may re-send one that was
(an acknowledgement lost on the way back). The receiver records a message as seen only
after its handler succeeded, so a message whose handler failed is handled again when it
comes back.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = ["DedupeStore", "InMemoryDedupeStore", "default_dedupe_key"]

_VOLATILE_FIELDS = frozenset({"callbackCount", "maxCallbackThreshold", "username", "password"})
"""Fields that differ between sends of one message, or say nothing about which message
it is: the attempt counter, and the credentials (which must not feed a stored key)."""


def default_dedupe_key(route: str, payload: Mapping[str, Any]) -> str:
    """A digest that is equal for every send of one message on one route.

    It covers the route and the whole body except ``callbackCount`` (which grows with
    each re-send), ``maxCallbackThreshold`` and the credentials; key order and
    whitespace do not matter.
    """
    identity = {key: value for key, value in payload.items() if key not in _VOLATILE_FIELDS}
    canonical = json.dumps(
        [route, identity], sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str
    )
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


@runtime_checkable
class DedupeStore(Protocol):
    """Where handled messages' keys are kept; implement it over Redis or a database to
    share it between processes."""

    async def contains(self, key: str) -> bool:
        """Whether the message with ``key`` was handled."""
        ...

    async def add(self, key: str) -> None:
        """Record that the message with ``key`` was handled."""
        ...


class InMemoryDedupeStore:
    """The default store: the most recently handled ``max_entries`` keys, in this process.

    ThingSpace re-sends within minutes, so a bounded recent window is enough; the default
    holds 10,000 keys (about 1 MB).
    """

    __slots__ = ("_keys", "max_entries")

    def __init__(self, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._keys: OrderedDict[str, None] = OrderedDict()

    async def contains(self, key: str) -> bool:
        """Whether ``key`` is held; a hit counts as recent use."""
        if key in self._keys:
            self._keys.move_to_end(key)
            return True
        return False

    async def add(self, key: str) -> None:
        """Hold ``key``, forgetting the least recently used key when full."""
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self.max_entries:
            self._keys.popitem(last=False)

    def __len__(self) -> int:
        return len(self._keys)
