"""A client hanging up mid-request is not a sandbox error."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from thingspace_callbacks.sandbox import Sandbox


async def test_a_client_hanging_up_mid_body_gets_no_server_error() -> None:
    sandbox = Sandbox(require_auth=False)
    incoming: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"name": "Loc', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    path = "/api/loc/v1/callbacks/0000123456-00001"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json")],
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 50000),
    }
    await sandbox.app(scope, receive, send)  # raised ClientDisconnect before
    assert sent[0]["status"] == 499
    assert sandbox.registrations("location") == []
