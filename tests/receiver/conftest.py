"""A real uvicorn server on 127.0.0.1 for end-to-end receiver tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import uvicorn

ServeApp = Callable[[Any], contextlib.AbstractAsyncContextManager[str]]


@contextlib.asynccontextmanager
async def _serve(app: Any) -> AsyncIterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # a free port, held from here on: no race with others
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="on",
        proxy_headers=False,
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if not server.started:
            raise RuntimeError("uvicorn did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
def serve_app() -> ServeApp:
    """``async with serve_app(asgi_app) as base_url:`` runs the app on a real socket."""
    return _serve
