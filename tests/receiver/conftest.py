"""A real uvicorn server on 127.0.0.1 for end-to-end receiver tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import uvicorn

ServeApp = Callable[..., contextlib.AbstractAsyncContextManager[str]]
ServeConfig = Callable[[uvicorn.Config], contextlib.AbstractAsyncContextManager[str]]


@contextlib.asynccontextmanager
async def _serve_config(config: uvicorn.Config) -> AsyncIterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))  # a free port, held from here on: no race with others
    port = sock.getsockname()[1]
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


@contextlib.asynccontextmanager
async def _serve(app: Any, **options: Any) -> AsyncIterator[str]:
    config = uvicorn.Config(
        app,
        lifespan="on",
        proxy_headers=False,
        log_level="warning",
        access_log=False,
        **options,
    )
    async with _serve_config(config) as base_url:
        yield base_url


@pytest.fixture
def serve_app() -> ServeApp:
    """``async with serve_app(asgi_app, **uvicorn_options) as base_url:`` runs the app on
    a real socket."""
    return _serve


@pytest.fixture
def serve_config() -> ServeConfig:
    """``async with serve_config(uvicorn_config) as base_url:`` serves that configuration
    (its host and port aside) on a real socket."""
    return _serve_config
