"""What the queue's two sides (the enqueuing side and the workers) make of Redis not
answering: the exceptions that mean it, and one warning when it goes, one line when it
is back. Both sides wait for Redis rather than fall back to working alone."""

from __future__ import annotations

import time

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from ._connection import log

__all__ = ["OUTAGE_ERRORS", "Outage"]

OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, WatchError, OSError)
"""What Redis going away raises (``OSError``: refused sockets, time limits). arq's
transactions watch keys, and redis-py reports a connection lost while watching as a
``WatchError``; arq handles the other kind (a watched key changed) itself."""


class Outage:
    """One warning when Redis stops answering, one line when it is back."""

    def __init__(self, address: str, consequence: str) -> None:
        self.address = address
        self._consequence = consequence
        self._since: float | None = None

    def failed(self, exc: BaseException) -> None:
        if self._since is None:
            self._since = time.monotonic()
            log.warning(
                "Redis at %s is unavailable (%s); %s",
                self.address,
                type(exc).__name__,
                self._consequence,
            )

    def recovered(self) -> bool:
        """Note that Redis answered; whether it had been down."""
        if self._since is None:
            return False
        log.warning(
            "Redis at %s answers again after %.1f s", self.address, time.monotonic() - self._since
        )
        self._since = None
        return True
