"""The suite's one real HTTP server: uvicorn serving an ASGI app on 127.0.0.1, on a free
port that is bound (and so held) before the server starts.

- :func:`serve` runs it in a background thread with its own event loop, so tests under
  asyncio or trio, and synchronous ones, can talk to it. Use it by default.
- :func:`serve_here` runs it as a task of the running asyncio loop, for a test whose app
  shares loop-bound objects with it (an ``anyio.Event`` the handler waits on).

Both take an app and uvicorn options (the suite's defaults below, which any option
overrides), or a ready :class:`uvicorn.Config` (whose host and port are ignored), and
yield the base URL ``http://127.0.0.1:PORT``. A test using either opens sockets: mark
it ``integration``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn

from thingspace_callbacks.sandbox._server import PromptServer, bind_socket

__all__ = ["serve", "serve_here"]

DEFAULTS: dict[str, Any] = {
    "lifespan": "off",
    "http": "h11",
    "loop": "asyncio",
    "log_config": None,  # leave the test run's logging (and caplog) alone
    "log_level": "warning",
    "access_log": False,
    "proxy_headers": False,
    "timeout_graceful_shutdown": 1,
}
STARTUP_TIMEOUT = 10.0
"""Generous: on a loaded machine a thread may wait long for its first turn."""


def _config(app: Any, options: dict[str, Any]) -> uvicorn.Config:
    if isinstance(app, uvicorn.Config):
        assert not options, "options go into the uvicorn.Config given"
        return app
    return uvicorn.Config(app, **{**DEFAULTS, **options})


@contextlib.contextmanager
def serve(app: Any, **options: Any) -> Iterator[str]:
    """Serve ``app`` from a background thread; yield its base URL, stop it on exit."""
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = PromptServer(_config(app, options))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}", daemon=True
    )
    thread.start()
    try:
        give_up = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > give_up:
                raise RuntimeError("the test server did not start")
            time.sleep(0.005)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.request_stop()
        thread.join(timeout=10)
        sock.close()


@contextlib.asynccontextmanager
async def serve_here(app: Any, **options: Any) -> AsyncIterator[str]:
    """Serve ``app`` as a task of the running asyncio loop; yield its base URL, stop it
    on exit."""
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = PromptServer(_config(app, options))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        give_up = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if task.done() or time.monotonic() > give_up:
                raise RuntimeError("the test server did not start")
            await asyncio.sleep(0.005)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.request_stop()
        await task
        sock.close()
