"""Remembering which messages were handled, so a re-sent message is handled once.

ThingSpace re-sends a message that was not acknowledged, and may re-send one that was
(an acknowledgement lost on the way back). The receiver records a message as seen only
after its handler succeeded, so a message whose handler failed is handled again when it
comes back.

Two kinds of store: a :class:`DedupeStore` answers "was it handled?" and is told "it
was"; a :class:`ClaimingDedupeStore` also lets one process at a time *claim* a message
before handling it, so that processes sharing the store never handle one message twice
at the same moment. :class:`MemoryDedupeStore` is both.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

from .._checks import count

__all__ = [
    "Claim",
    "ClaimOutcome",
    "ClaimingDedupeStore",
    "DedupeStore",
    "MemoryDedupeStore",
    "default_dedupe_key",
]

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
    share it between processes.

    Processes sharing such a store may still each handle a copy of a message that
    reaches them at the same moment; a :class:`ClaimingDedupeStore` prevents that.
    """

    async def contains(self, key: str) -> bool:
        """Whether the message with ``key`` was handled."""
        ...

    async def add(self, key: str) -> None:
        """Record that the message with ``key`` was handled."""
        ...


@dataclass(frozen=True)
class Claim:
    """The right to handle the message with ``key``, held until it is completed or
    released (or, in a shared store, until it lapses)."""

    key: str
    """The message's dedupe key."""

    token: str
    """Tells this claim from a later one on the same key, so that completing or
    releasing a claim that lapsed cannot undo another process's."""


ClaimOutcome: TypeAlias = Claim | Literal["done", "busy"]
"""What :meth:`ClaimingDedupeStore.claim` answers: a :class:`Claim`, ``"done"`` (the
message was handled) or ``"busy"`` (a claim is held on it)."""


@runtime_checkable
class ClaimingDedupeStore(Protocol):
    """A store that hands out claims: the receiver claims a message, runs the handler,
    then completes the claim (success) or releases it (failure).

    A store given to :class:`~thingspace_callbacks.receiver.Receiver` that has these
    methods is used through them, whether or not it also has ``contains``/``add``.
    """

    async def claim(self, key: str) -> ClaimOutcome:
        """Claim the message with ``key``.

        Raise when the store cannot tell (unreachable): the receiver then answers 503
        without running the handler, and ThingSpace re-sends the message later. Raise
        ``ConnectionError`` (or a subclass) for an unreachable store, which is expected
        to report its outage itself; anything else is logged as a fault of the store.
        """
        ...

    async def complete(self, claim: Claim) -> None:
        """Record the message as handled: later claims on its key answer ``"done"``."""
        ...

    async def release(self, claim: Claim) -> None:
        """Give up ``claim`` (its handler failed), so that a re-send can be claimed; a
        claim that is no longer held is left alone."""
        ...


class MemoryDedupeStore:
    """The default store: the most recently handled ``max_entries`` keys, in this process.

    ThingSpace re-sends within minutes, so a bounded recent window is enough; the default
    holds 10,000 keys (about 1 MB). It also hands out claims, so receivers sharing one
    instance never handle a message twice at once; claims are held in memory until
    completed or released (they cannot outlive the process that took them).
    """

    __slots__ = ("_claims", "_keys", "max_entries")

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = count(max_entries, "max_entries", minimum=1)
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._claims: dict[str, str] = {}

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

    async def claim(self, key: str) -> ClaimOutcome:
        """``"done"`` when ``key`` is held, ``"busy"`` while claimed, else a claim."""
        # Through contains/add, so a subclass that keeps keys elsewhere still decides.
        if await self.contains(key):
            return "done"
        if key in self._claims:
            return "busy"
        token = self._claims[key] = secrets.token_hex(8)
        return Claim(key, token)

    async def complete(self, claim: Claim) -> None:
        """Hold the claim's key, and end the claim."""
        await self.release(claim)
        await self.add(claim.key)

    async def release(self, claim: Claim) -> None:
        """End the claim, if it is still the one held on its key."""
        if self._claims.get(claim.key) == claim.token:
            del self._claims[claim.key]

    def __len__(self) -> int:
        return len(self._keys)
