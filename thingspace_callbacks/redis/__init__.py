"""Act as one client from many processes, through Redis (the ``redis`` extra)::

    pip install "thingspace-callbacks[redis]"

:class:`RedisTokenStore` gives every process one bearer token and one M2M session,
obtained and renewed once for all; :class:`RedisRateLimiter` gives them one rate limit;
:class:`RedisDedupeStore` lets receivers on many processes handle each callback
message once. Each takes a ``redis.asyncio.Redis`` or a ``redis://`` URL, and a key
``prefix``. When Redis does not answer, each process goes on alone (its own tokens, a
local rate limit of the same size) after one warning, and shares again once Redis is
back; receivers answer 503 instead, so that ThingSpace re-sends the message later.
:func:`enqueue_fan_out` and :func:`worker_settings` spread a bulk run over arq workers,
one job per account (``thingspace-callbacks bulk --queue`` and ``worker``).

The SDK itself never imports this module, nor ``redis``.
"""

from __future__ import annotations

from ._dedupe import RedisDedupeStore
from ._queue import QueuedFanOut, QueuedResult, enqueue_fan_out, queue_pool, worker_settings
from ._ratelimit import RedisRateLimiter
from ._store import RedisTokenStore

__all__ = (
    "QueuedFanOut",
    "QueuedResult",
    "RedisDedupeStore",
    "RedisRateLimiter",
    "RedisTokenStore",
    "enqueue_fan_out",
    "queue_pool",
    "worker_settings",
)

for _exported in (
    QueuedFanOut,
    QueuedResult,
    RedisDedupeStore,
    RedisRateLimiter,
    RedisTokenStore,
    enqueue_fan_out,
    queue_pool,
    worker_settings,
):
    # Reprs, tracebacks and docs name the public module, not the private one.
    _exported.__module__ = __name__
del _exported
