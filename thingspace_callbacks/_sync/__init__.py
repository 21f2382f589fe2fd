"""The synchronous client, :class:`ThingSpaceClient`: the async client run on one
background event loop per process (:mod:`._loop`), with thin sync twins of its
sub-clients (:mod:`.resources`, :mod:`.callbacks`) and fan-out (:mod:`.fanout`)."""

from __future__ import annotations

from ._client import ThingSpaceClient
from ._loop import EventLoopThreadError

__all__ = ["EventLoopThreadError", "ThingSpaceClient"]
