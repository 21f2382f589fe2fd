"""uvicorn's HTTP/1.1 protocol, with the connection bounds uvicorn lacks.

uvicorn puts no time limit on a request's headers: a connection that sends nothing, or
its headers a byte at a time, stays open for good. And its ``limit_concurrency`` counts
open connections as well as requests, so a few hundred such connections have every
real request answered 503. :func:`guarded_h11_protocol` makes a protocol class, given
to ``uvicorn.Config(http=...)``, that:

* closes a connection that has not delivered a request's complete headers within
  ``header_timeout`` seconds: of opening, or of the first bytes of its next request
  (a keep-alive connection idle between requests is uvicorn's ``timeout_keep_alive``);
* answers 503 only when ``limit_concurrency`` *requests* are being served, whatever
  the number of connections;
* keeps at most ``max_connections`` connections open: past it, the connection that
  has waited longest for its headers is closed to make room (the new one, when every
  connection is serving a request).

Only uvicorn needs it; the module imports uvicorn, so ``thingspace_callbacks.receiver``
does not import it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, ClassVar

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.flow_control import service_unavailable
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from .._constants import LOGGER_NAME
from .._errors import InvalidArgumentError

__all__ = ["GuardedH11Protocol", "guarded_h11_protocol"]

logger = logging.getLogger(f"{LOGGER_NAME}.receiver")

_WARN_EVERY = 10.0
"""Seconds between two warnings of one kind: a flood of connections must not become a
flood of log lines."""


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header time limit, a limit on requests served at
    once that ignores idle connections, and a cap on open connections.

    Configure it through :func:`guarded_h11_protocol`, which makes a subclass holding
    the limits (and the connections of one server).
    """

    header_timeout: ClassVar[float | None] = None
    """Seconds a connection may take to deliver a request's headers."""
    max_requests: ClassVar[int | None] = None
    """Requests served at once; more are answered 503."""
    max_connections: ClassVar[int | None] = None
    """Connections open at once."""
    waiting: ClassVar[dict[GuardedH11Protocol, None]]
    """The connections waiting for headers, oldest first."""
    warned: ClassVar[dict[str, float]]
    """When each kind of warning was last logged (``time.monotonic``)."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # uvicorn's own check counts connections too; requests are counted below.
        self.limit_concurrency = None
        self._served_app = self.app
        self.app = self._limited
        self._header_timer: asyncio.TimerHandle | None = None
        self._awaited_cycle: object = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Take the connection, within ``max_connections``; its headers are now due."""
        super().connection_made(transport)
        cap = self.max_connections
        if cap is not None and len(self.connections) > cap:
            oldest = next(iter(self.waiting), None)
            if oldest is None:
                self._warn("full", "%d connections are serving requests: refused one", cap)
                self.transport.close()
                return
            self._warn("evict", "%d connections open: closing the longest waiting", cap)
            oldest.close_waiting()
        self._await_headers()

    def data_received(self, data: bytes) -> None:
        """Read ``data``; the first bytes of a connection's next request start its
        header time limit, and a request's complete headers end it."""
        if self._header_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._await_headers()
        super().data_received(data)
        if self._header_timer is not None and self.cycle is not self._awaited_cycle:
            self._headers_arrived()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        """Hand the connection over; its headers arrived."""
        self._headers_arrived()
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection."""
        self._headers_arrived()
        super().connection_lost(exc)

    def _await_headers(self) -> None:
        if self.header_timeout is None or self.transport.is_closing():
            return
        self._headers_arrived()
        self._awaited_cycle = self.cycle
        self._header_timer = self.loop.call_later(self.header_timeout, self.close_waiting)
        self.waiting[self] = None

    def _headers_arrived(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        self.waiting.pop(self, None)

    def close_waiting(self) -> None:
        """Close this connection, which is still waiting for a request's headers."""
        # No answer: a connection that has not sent its headers in time is a slow or
        # hostile client, and ThingSpace sends each message's headers at once.
        self._headers_arrived()
        if not self.transport.is_closing():
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("closed a connection from %s: no request headers in time", self.client)
            self.transport.close()

    async def _limited(self, scope: Any, receive: Any, send: Any) -> None:
        # This request's task is already among the server's tasks.
        if self.max_requests is not None and len(self.tasks) > self.max_requests:
            self._warn("busy", "%d requests being served: answered 503", self.max_requests)
            await service_unavailable(scope, receive, send)
            return
        try:
            await self._served_app(scope, receive, send)
        except asyncio.CancelledError:
            # uvicorn cancels the requests still running past its shutdown grace, and
            # logs each as an "Exception in ASGI application" with a traceback; one the
            # app answered (the receiver answers 503 as it is cancelled) ends quietly.
            if self.cycle is None or not self.cycle.response_started:
                raise

    def _warn(self, kind: str, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self.warned.get(kind, -_WARN_EVERY) >= _WARN_EVERY:
            self.warned[kind] = now
            logger.warning(message, *args)


def guarded_h11_protocol(
    *,
    header_timeout: float | None,
    max_requests: int | None,
    max_connections: int | None,
) -> type[GuardedH11Protocol]:
    """A :class:`GuardedH11Protocol` class with these limits, for
    ``uvicorn.Config(http=...)``; make one per server.

    :param header_timeout: Seconds a connection may take to deliver a request's
        headers, from opening or from the first bytes of its next request; then it is
        closed without an answer. ``None``: no limit.
    :param max_requests: Requests served at once; more are answered 503. ``None``: no
        limit.
    :param max_connections: Connections open at once; past it the connection that has
        waited longest for its headers is closed, or the new one when every connection
        is serving a request. ``None``: no limit.
    """
    for name, value in (
        ("header_timeout", header_timeout),
        ("max_requests", max_requests),
        ("max_connections", max_connections),
    ):
        if value is not None and not value > 0:
            raise InvalidArgumentError(f"{name} must be positive, or None")

    class Configured(GuardedH11Protocol):
        pass

    Configured.waiting = {}
    Configured.warned = {}
    Configured.header_timeout = header_timeout
    Configured.max_requests = max_requests
    Configured.max_connections = max_connections
    Configured.__name__ = Configured.__qualname__ = "GuardedH11Protocol"
    return Configured
