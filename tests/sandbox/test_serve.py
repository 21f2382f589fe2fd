"""``Sandbox.serve()`` stops when asked: the port is released whether or not a client
still holds a connection, and a request being answered is answered first."""

from __future__ import annotations

import socket
import threading

import anyio
import httpx
import pytest
from starlette.types import Receive, Scope, Send

from thingspace_callbacks.sandbox import Sandbox
from thingspace_callbacks.sandbox._server import ThreadedServer

pytestmark = pytest.mark.integration

LIST = "/api/loc/v1/callbacks/0252012345-00001"


def refused(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:``port`` any more."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def test_a_server_left_idle_stops_and_frees_its_port() -> None:
    with Sandbox(require_auth=False).serve() as server:
        assert httpx.get(server.url + LIST).status_code == 200
        port = server.port

    assert refused(port)


def test_a_server_stops_while_a_client_holds_a_keep_alive_connection() -> None:
    with httpx.Client() as client:
        with Sandbox(require_auth=False).serve() as server:
            assert client.get(server.url + LIST).status_code == 200  # kept alive
            port = server.port

        assert refused(port)
        with pytest.raises(httpx.TransportError):
            client.get(f"http://127.0.0.1:{port}{LIST}")


def test_a_request_being_answered_is_answered_before_the_server_stops() -> None:
    entered = threading.Event()

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        entered.set()
        await anyio.sleep(0.2)  # long enough for the stop to be asked meanwhile
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})

    answers: list[str] = []
    server = ThreadedServer(slow)
    server.start()
    caller = threading.Thread(target=lambda: answers.append(httpx.get(server.url).text))
    caller.start()
    assert entered.wait(10)
    server.stop()
    caller.join(10)

    assert answers == ["done"]
    assert refused(server.port)
