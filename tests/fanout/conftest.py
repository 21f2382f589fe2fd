"""Fixtures for the fan-out tests.

These tests run under anyio's pytest plugin (the suite's only async plugin) with
``anyio_backend`` parametrized over asyncio and trio, because fan-out, rate limits and
cancellation claim to work under both.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from .._servers import serve


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
    """The suite's real server (its own thread and event loop, so clients under asyncio
    and trio alike can use it) running :func:`_api`; yields its API root."""
    with serve(_api, lifespan="on") as base_url:
        yield f"{base_url}/api"
