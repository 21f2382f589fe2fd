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
in jobs of many accounts each (``thingspace-callbacks bulk --queue`` and ``worker``).

The SDK itself never imports this module, nor ``redis``.
"""

from __future__ import annotations

from .._exports import publish
from .._extras import requires_extra

with requires_extra(__name__, "redis", ("redis", "arq", "cryptography")):
    from ._dedupe import RedisDedupeStore
    from ._enqueue import enqueue_fan_out, queue_pool
    from ._jobs import QueuedResult
    from ._queued import QueuedFanOut
    from ._ratelimit import RedisRateLimiter
    from ._settings import worker_settings
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

publish(globals(), __all__, module=__name__)  # reprs and tracebacks name this module
