"""Looking inside a client's connection pool, whichever transport it uses."""

from __future__ import annotations

from typing import Any

from thingspace_callbacks import AsyncThingSpaceClient

__all__ = ["checked_out"]


def checked_out(client: AsyncThingSpaceClient) -> int:
    """Connections of the client's pool that are in use, plus requests waiting for one.

    Knows httpx's own transport (an httpcore pool) and the aiohttp-backed one, bare or
    behind the SDK's ``AutoTransport``; fails on anything else rather than guess.
    """
    transport: Any = client.http_client._transport
    inner: Any = getattr(transport, "_transport", None) or transport
    pool = getattr(inner, "_pool", None)
    if pool is not None:  # httpcore.AsyncConnectionPool
        # A request in flight is both in `_requests` and on a busy connection.
        busy = [c for c in pool.connections if not (c.is_idle() or c.is_closed())]
        return max(len(busy), len(pool._requests))
    connector = getattr(getattr(inner, "client", None), "connector", None)
    if connector is not None:  # aiohttp.TCPConnector
        waiting = sum(len(waiters) for waiters in connector._waiters.values())
        return len(connector._acquired) + waiting
    raise AssertionError(f"do not know how to inspect the pool of {inner!r}")
