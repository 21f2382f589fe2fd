"""How a worker announces a job's outcomes: pushed in batches, as its accounts
finish, onto a list named for the run, where the enqueuing side (:mod:`._queued`) pops
them; the last batch once arq has kept the job's result. Apart from the jobs
(:mod:`._worker`), since it is only about batching and pushing within bounds, whatever
the job does.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from typing import TYPE_CHECKING, Any

import anyio
from arq.connections import ArqRedis

if TYPE_CHECKING:
    from redis.asyncio.client import Pipeline

from ._commands import pipelined
from ._outage import OUTAGE_ERRORS

__all__ = ["Announcer"]

_PUSH_TIMEOUT = 5.0
"""Seconds an announcement may take once begun, cancelled or not (Redis not
answering)."""

_ANNOUNCE_EVERY = 25
"""Outcomes announced in one push while a chunk runs..."""
_ANNOUNCE_AFTER = 0.25
"""...or fewer, once the oldest has waited this many seconds."""


class Announcer:
    """Pushes a job's outcomes onto the run's list in batches as its accounts finish:
    every :data:`_ANNOUNCE_EVERY`, or those :data:`_ANNOUNCE_AFTER` seconds old
    (:meth:`flushing`). The newest is always held back, and the last batch left for
    :meth:`finish`, once arq has kept the job's result."""

    def __init__(self, ctx: dict[Any, Any], job: object, keep_result: float) -> None:
        redis = ctx.get("redis")
        key = job.get("notify") if isinstance(job, dict) else None
        self._redis = redis if isinstance(redis, ArqRedis) else None
        self._key = key if isinstance(key, str) else None
        self._job_id = ctx.get("job_id")
        self._ttl = max(1, math.ceil(keep_result))
        self._unsent: list[dict[str, Any]] = []
        self._since = 0.0
        self._last: dict[str, Any] | None = None
        self._partial = False
        self._more: anyio.Event | None = None

    async def add(self, outcome: dict[str, Any]) -> None:
        # The batch is pushed before the next outcome joins it, so an outcome is always
        # left for finish(): the run hears of a job's last account once it is kept.
        unsent = self._unsent
        if unsent and (
            len(unsent) >= _ANNOUNCE_EVERY or time.monotonic() - self._since >= _ANNOUNCE_AFTER
        ):
            self._unsent = []
            await self._push({"results": unsent})
        if not self._unsent:
            self._since = time.monotonic()
        self._unsent.append(outcome)
        if len(self._unsent) > 1 and self._more is not None:
            self._more.set()

    async def flushing(self) -> None:
        """Push the outcomes not pushed, but the newest, once the oldest has waited
        :data:`_ANNOUNCE_AFTER` seconds, without waiting for another to finish (a
        chunk whose accounts finish slowly still shows its progress); until cancelled."""
        while True:
            if len(self._unsent) < 2:
                self._more = anyio.Event()
                await self._more.wait()
                continue
            wait = self._since + _ANNOUNCE_AFTER - time.monotonic()
            if wait > 0:
                await anyio.sleep(wait)
                continue
            batch, self._unsent = self._unsent[:-1], self._unsent[-1:]
            self._since = time.monotonic()
            await self._push({"results": batch})

    def last(self, entry: dict[str, Any]) -> None:
        """Announce ``entry`` (``results`` or a format 1 ``result``) at the end instead
        of what was not pushed yet."""
        self._unsent = []
        self._last = entry

    def partial(self) -> None:
        """Say at the end that the job's result lacks some of its accounts, so that its
        run queues them again at once."""
        self._partial = True

    async def finish(self) -> None:
        entry = self._last if self._last is not None else {"results": self._unsent}
        if self._partial:
            entry = {**entry, "partial": True}
        self._unsent, self._last = [], None
        await self._push(entry)

    async def _push(self, entry: dict[str, Any]) -> None:
        """Announce ``entry`` to whoever waits for it; when Redis fails, they find the
        outcomes among arq's results instead."""
        redis, key = self._redis, self._key
        if redis is None or key is None or (entry.get("results") == [] and len(entry) == 1):
            return
        data = json.dumps({"job": self._job_id, **entry}, separators=(",", ":"), default=str)
        # Shielded, within a bound: cancelled halfway (the chunk's end stops the
        # flushing task, a job's time runs out), the batch, already taken from the
        # unsent outcomes, would be announced by nobody.
        limit = anyio.current_time() + _PUSH_TIMEOUT
        ttl = self._ttl

        def queue(pipe: Pipeline) -> None:
            # Each push renews the list's lifetime: a run nobody collects leaves nothing
            # behind, even when its worker died before the job's end.
            pipe.rpush(key, data)
            pipe.expire(key, ttl)

        with contextlib.suppress(*OUTAGE_ERRORS), anyio.CancelScope(shield=True, deadline=limit):
            await pipelined(redis, queue)
