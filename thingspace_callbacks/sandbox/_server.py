"""Run an ASGI app with uvicorn on a real socket, in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING

import uvicorn
from starlette.types import ASGIApp

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["PromptServer", "ThreadedServer", "bind_socket", "quiet_dropped_connections"]

_DROPPED = "ASGI callable returned without completing response."


class _DroppedConnectionFilter(logging.Filter):
    """Hides uvicorn's error line for responses the sandbox drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DROPPED


_FILTER = _DroppedConnectionFilter()


def quiet_dropped_connections() -> None:
    """Keep uvicorn from logging the connections dropped by fault injection as errors."""
    logger = logging.getLogger("uvicorn.error")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket bound to ``host:port`` (``port=0`` picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says
    # TCP, and without it every keep-alive answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listening already, before the server runs: whoever is told the address (the
        # banner of `thingspace-callbacks sandbox`) may connect at once; the kernel
        # queues the connection until the server accepts it.
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class PromptServer(uvicorn.Server):
    """A :class:`uvicorn.Server` that stops as soon as it is asked to.

    uvicorn looks for a stop request every 0.1 s, and when stopping waits 0.1 s for its
    connections to close even when it has none: a fifth of a second at the end of every
    test that serves a sandbox. Asked with :meth:`request_stop`, this one wakes at once
    and, with no connection or task left to drain, closes without waiting; otherwise it
    drains them as uvicorn does.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        # Before the first tick, which sees a request made before the loop ran.
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864_000
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # first: no connection arrives after the check below
        await asyncio.sleep(0)  # one turn for a connection accepted just before
        if self.server_state.connections or self.server_state.tasks:
            await super().shutdown(sockets)
            return
        for sock in sockets or []:
            sock.close()
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()

    def request_stop(self) -> None:
        """Ask the server to stop, from any thread; :meth:`serve` then returns."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # its loop has closed: it has stopped
                loop.call_soon_threadsafe(wake.set)


class ThreadedServer:
    """uvicorn serving ``app`` on ``host:port`` from a daemon thread.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. ``port=0``
    picks a free port; :attr:`port` tells which.
    """

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port
        self._app = app
        self._server: PromptServer | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port = port
        """The port served (known once started)."""

    @property
    def url(self) -> str:
        """``http://host:port`` (no trailing slash)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        """Bind, start serving and return once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        quiet_dropped_connections()
        sock = bind_socket(self.host, self._requested_port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        server = PromptServer(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"thingspace-sandbox:{self.port}",
            daemon=True,
        )
        self._server, self._thread, self._socket = server, thread, sock
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the server on {self.url} did not start")
            time.sleep(0.005)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread to end. Calling it again does nothing."""
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        if server is not None:
            server.request_stop()
        if thread is not None:
            thread.join(timeout)
        if sock is not None:
            sock.close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
