"""Fixtures for the fan-out tests.

These tests run under anyio's pytest plugin (``pytestmark = pytest.mark.anyio`` in each
module) with ``anyio_backend`` parametrized over asyncio and trio, because fan-out,
rate limits and cancellation claim to work under both. pytest-asyncio's auto mode
leaves anyio-marked tests to anyio's plugin, so the two do not conflict.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each test under asyncio and under trio."""
    return str(request.param)


Scope = dict[str, Any]


async def _api(scope: Scope, receive: Any, send: Any) -> None:
    """A tiny ThingSpace stand-in for Device Location (register, list), with failure
    modes picked by the account name (``missing-*`` answers 404, ``slow-*`` waits 2 s)."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    assert scope["type"] == "http"
    while (await receive()).get("more_body"):
        pass
    account = scope["path"].rsplit("/", 1)[-1]
    status: int = 200
    body: object = {"accountName": account, "serviceName": "Location"}
    if scope["method"] == "GET":
        body = [{"name": "Location", "url": "https://listener.example.com/hooks"}]
    if account.startswith("missing-"):
        status, body = 404, {"errorCode": "ACCOUNT_NOT_FOUND", "errorMessage": "no such account"}
    elif account.startswith("slow-"):
        # Answer after 2 s, or give up as soon as the client hangs up.
        try:
            message = await asyncio.wait_for(receive(), 2)
        except TimeoutError:
            message = {}
        if message.get("type") == "http.disconnect":
            return
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": payload})


@pytest.fixture(scope="session")
def api_server() -> Iterator[str]:
    """A real uvicorn server on 127.0.0.1 (its own thread and event loop, so clients
    under asyncio and trio alike can use it); yields its API root."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        _api, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        threading.Event().wait(0.01)
    else:  # pragma: no cover - only when uvicorn cannot start
        raise RuntimeError("uvicorn did not start")
    try:
        yield f"http://127.0.0.1:{port}/api"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
