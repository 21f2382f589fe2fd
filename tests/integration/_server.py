"""A fault app for integration tests, served by :func:`tests._servers.serve`.

:class:`FaultServer` is an ASGI app that answers each request with the next fault a
test planned (:class:`Reply`, :class:`Reset`) and records what it was sent, so faults
cross a real socket rather than a mock transport.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["FaultServer", "Reply", "Reset", "Seen"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Fault(Protocol):
    """Something the fault server does with one request (whose body was read)."""

    async def play(self, receive: Receive, send: Send) -> None: ...


@dataclass(frozen=True)
class Reply:
    """Answer ``status`` with ``body``, after ``delay`` seconds.

    ``body`` may be bytes, text, or anything JSON-serialisable (sent as JSON).
    """

    status: int = 200
    body: object = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "application/json"

    async def play(self, receive: Receive, send: Send) -> None:
        if self.delay and not await _sleep_unless_disconnected(self.delay, receive):
            return
        body = self.body
        if isinstance(body, str):
            content = body.encode()
        elif isinstance(body, bytes):
            content = body
        else:
            content = json.dumps(body).encode()
        headers = [
            (b"content-type", self.content_type.encode()),
            (b"content-length", str(len(content)).encode()),
            *((k.lower().encode(), v.encode()) for k, v in self.headers.items()),
        ]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": content})


@dataclass(frozen=True)
class Reset:
    """Start a 200 answer promising ``length`` bytes, send ``prefix``, then reset the
    connection (TCP RST) in the middle of the body."""

    prefix: bytes = b'{"accountName": "02520'
    length: int = 4096

    async def play(self, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(self.length).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": self.prefix, "more_body": True})
        # uvicorn's send is a method of the request cycle, which holds the transport.
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if transport is None:
            # Not uvicorn's h11 cycle: an exception makes the server drop the connection.
            raise ConnectionResetError("fault: reset mid-response")
        raw = transport.get_extra_info("socket")
        if raw is not None:
            # Linger 0: close() sends RST instead of FIN.
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        # Let the server notice the lost connection before the app returns.
        for _ in range(3):
            await asyncio.sleep(0)


async def _sleep_unless_disconnected(delay: float, receive: Receive) -> bool:
    """Sleep ``delay`` seconds; ``False`` if the client hung up first (so a slow reply
    whose client gave up does not hold the server at shutdown)."""
    sleeper = asyncio.ensure_future(asyncio.sleep(delay))
    watcher = asyncio.ensure_future(receive())
    done, pending = await asyncio.wait({sleeper, watcher}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return sleeper in done


@dataclass(frozen=True)
class Seen:
    """A request the fault server received."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    at: float
    """``time.monotonic()`` when it arrived."""


NOTHING_PLANNED = Reply(501, "fault server: no reply planned", content_type="text/plain")


class FaultServer:
    """ASGI app answering each request with the next planned fault, in order.

    When nothing is planned it answers 501 (never retried by the SDK), so a test that
    sends more than it planned fails loudly.
    """

    def __init__(self) -> None:
        self.url = ""
        """Base URL, set once the server runs."""
        self.seen: list[Seen] = []
        self._plan: deque[Fault] = deque()
        self._lock = threading.Lock()

    def plan(self, *faults: Fault) -> None:
        """Queue what the next requests get, one fault each."""
        with self._lock:
            self._plan.extend(faults)

    def reset(self) -> None:
        """Forget planned faults and seen requests."""
        with self._lock:
            self._plan.clear()
            self.seen.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        with self._lock:
            self.seen.append(
                Seen(
                    method=scope["method"],
                    path=scope["path"],
                    query=scope["query_string"].decode("latin-1"),
                    headers=headers,
                    body=body,
                    at=time.monotonic(),
                )
            )
            fault = self._plan.popleft() if self._plan else NOTHING_PLANNED
        await fault.play(receive, send)
