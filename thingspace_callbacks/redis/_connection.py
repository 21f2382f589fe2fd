"""The Redis behind a store or a limiter: one client per event loop, a time limit on
every command, and what to do while Redis does not answer."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
import weakref
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar, cast
from urllib.parse import parse_qs, urlsplit

import anyio
from redis.asyncio import Redis
from redis.asyncio.connection import parse_url
from redis.exceptions import NoScriptError, RedisError

from .._constants import LOGGER_NAME
from .._errors import InvalidArgumentError

if TYPE_CHECKING:
    from arq.connections import RedisSettings
    from typing_extensions import Self

__all__ = [
    "RETRY_INTERVAL",
    "ClosingResource",
    "Connection",
    "Script",
    "Unavailable",
    "log",
    "redis_address",
]

log = logging.getLogger(LOGGER_NAME + ".redis")

RETRY_INTERVAL = 1.0
"""Seconds between attempts to reach Redis while it does not answer (unless a
:class:`Connection` is given another ``retry_interval``); in between, callers get
:class:`Unavailable` at once instead of waiting for a connection."""

_T = TypeVar("_T")


class Unavailable(Exception):  # noqa: N818 - a state, raised to the fallback path
    """Redis did not answer in time, failed, or is known to be down."""


class Script:
    """A Lua script, run by its SHA-1 (``EVALSHA``) and sent whole only when Redis does
    not know it yet (a restarted Redis has forgotten every script)."""

    __slots__ = ("sha", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis's name for it

    async def __call__(
        self, redis: Redis, keys: list[str], args: list[str | bytes | int]
    ) -> object:
        # redis-py types these with its synchronous client's return types.
        evalsha = cast("Callable[..., Awaitable[object]]", redis.evalsha)
        try:
            return await evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            eval_ = cast("Callable[..., Awaitable[object]]", redis.eval)
            return await eval_(self.source, len(keys), *keys, *args)


class Connection:
    """Runs commands on ``redis`` (a ``redis.asyncio.Redis``, or a URL from which one
    client per event loop is made, since a client's connections belong to the loop
    that opened them), each within ``timeout`` seconds.

    When a command fails, one warning says so and what ``consequence`` follows;
    commands then raise :class:`Unavailable` without contacting Redis, but for one
    attempt at a time, at most one every ``retry_interval`` seconds, until one succeeds
    (logged once too). With ``retry_interval=0`` the next command after a failed
    attempt tries Redis again, so the first one after Redis is back succeeds.
    """

    def __init__(
        self,
        redis: Redis | str,
        *,
        timeout: float,
        consequence: str,
        retry_interval: float = RETRY_INTERVAL,
    ) -> None:
        if isinstance(redis, str):
            try:
                parse_url(redis)
            except ValueError:
                # Not chained, and the URL not quoted: it may hold a password.
                raise InvalidArgumentError(
                    "not a Redis URL: expected redis://[[user]:password@]host[:port][/db], "
                    "rediss://... or unix:///path"
                ) from None
        elif not isinstance(redis, Redis):
            raise InvalidArgumentError(
                f"expected a redis.asyncio.Redis or a redis:// URL, not {type(redis).__name__}"
            )
        self._redis = redis
        self._timeout = timeout
        self._consequence = consequence
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Redis] = (
            weakref.WeakKeyDictionary()
        )
        self._retry_interval = retry_interval
        self._down_since: float | None = None
        self._retry_at = -math.inf
        self._probing = False
        self.address = redis_address(redis)
        """Where Redis is, without credentials (``host:port/db``), for messages."""

    def client(self) -> Redis:
        """The client for the running event loop."""
        if isinstance(self._redis, Redis):
            return self._redis
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = Redis.from_url(
                self._redis, socket_timeout=self._timeout, socket_connect_timeout=self._timeout
            )
            self._clients[loop] = client
        return client

    async def run(self, command: Callable[[Redis], Awaitable[_T]]) -> _T:
        """The result of ``command`` on the client; :class:`Unavailable` when Redis
        does not answer within the time limit, fails, or is down and not due for
        another attempt."""
        probe = self._down_since is not None
        if probe:
            if self._probing or time.monotonic() < self._retry_at:
                raise Unavailable
            # One caller tries; the others step aside meanwhile instead of each
            # waiting up to the time limit for a Redis that may still be gone.
            self._probing = True
        try:
            with anyio.fail_after(self._timeout):
                result = await command(self.client())
        except (RedisError, OSError) as exc:  # OSError: TimeoutError, refused sockets
            self._failed(exc)
            raise Unavailable from None
        finally:
            if probe:
                self._probing = False
        self._recovered()
        return result

    async def aclose(self) -> None:
        """Close the client this object made for the running event loop (a client
        given to it is the caller's to close)."""
        if isinstance(self._redis, Redis):
            return
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    def _failed(self, exc: Exception) -> None:
        now = time.monotonic()
        self._retry_at = now + self._retry_interval
        if self._down_since is None:
            self._down_since = now
            log.warning(
                "Redis at %s is unavailable (%s); %s until it answers again",
                self.address,
                type(exc).__name__,
                self._consequence,
            )

    def _recovered(self) -> None:
        if self._down_since is not None:
            log.info(
                "Redis at %s answers again after %.1f s",
                self.address,
                time.monotonic() - self._down_since,
            )
            self._down_since = None


def redis_address(redis: Redis | str | RedisSettings) -> str:
    """Where ``redis`` is, for messages: ``host:port/db``, or the socket path; never a
    password. ``redis`` is a client (an arq pool too), a URL, or arq's settings."""
    if isinstance(redis, str):
        parts = urlsplit(redis)
        if parts.scheme == "unix":
            return parts.path
        try:
            port = parts.port or 6379
        except ValueError:
            port = 6379
        # ?db=N wins over the path, as redis-py and arq read the URL.
        database = parse_qs(parts.query).get("db", [parts.path.strip("/") or "0"])[0]
        return f"{parts.hostname or 'localhost'}:{port}/{database}"
    if isinstance(redis, Redis):
        settings = redis.connection_pool.connection_kwargs
        if "path" in settings:
            return str(settings["path"])
        host = settings.get("host", "localhost")
        return f"{host}:{settings.get('port', 6379)}/{settings.get('db', 0)}"
    # arq's RedisSettings, not imported: the stores and the limiter work without arq.
    if redis.unix_socket_path:
        return redis.unix_socket_path
    return f"{redis.host}:{redis.port}/{redis.database}"


class ClosingResource:
    """What the Redis-backed classes share: ``aclose()`` and ``async with`` close the
    Redis client they made from a URL (for the running event loop); a client given to
    them is left open."""

    _connection: Connection

    async def aclose(self) -> None:
        """Close the Redis client made from a URL; a client given is left open."""
        await self._connection.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
