"""An HTTP/1.1 server on 127.0.0.1, on raw sockets, that sends prepared answers byte for
byte: any ``Content-Encoding`` (including ones no framework would produce, such as a
gzip bomb), exactly as given.

The last segment of the request's path picks the answer (``/.../callbacks/<account>``
picks ``answers[<account>]``); every request's headers are recorded.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = ["Answer", "EncodedServer", "encoded_server"]


@dataclass(frozen=True)
class Answer:
    body: bytes
    encoding: str | None = None
    """The ``Content-Encoding`` header, or none."""
    status: str = "200 OK"


@dataclass
class EncodedServer:
    url: str = ""
    """``http://127.0.0.1:PORT``"""
    answers: dict[str, Answer] = field(default_factory=dict)
    received: list[dict[str, str]] = field(default_factory=list)
    """The headers of every request, in arrival order (names in lower case)."""


@contextmanager
def encoded_server() -> Iterator[EncodedServer]:
    """Run the server in a background thread; yield it, and stop it on exit."""
    state = EncodedServer()
    loop = asyncio.new_event_loop()
    started = threading.Event()

    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: _serve(state, r, w), "127.0.0.1", 0)
        state.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        started.set()
        async with server:
            await server.serve_forever()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(main())
        except asyncio.CancelledError:
            pass
        finally:
            loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10), "the server did not start"
    try:
        yield state
    finally:
        loop.call_soon_threadsafe(lambda: [task.cancel() for task in asyncio.all_tasks(loop)])
        thread.join(10)


async def _serve(
    state: EncodedServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            if length := int(headers.get("content-length", "0") or 0):
                await reader.readexactly(length)
            state.received.append(headers)
            answer = state.answers.get(path.split("?")[0].rstrip("/").rsplit("/", 1)[-1])
            if answer is None:
                answer = Answer(b'{"errorCode":"NotFound"}', status="404 Not Found")
            fields = {"Content-Type": "application/json", "Content-Length": len(answer.body)}
            if answer.encoding is not None:
                fields["Content-Encoding"] = answer.encoding
            writer.write(
                f"HTTP/1.1 {answer.status}\r\n".encode()
                + "".join(f"{name}: {value}\r\n" for name, value in fields.items()).encode()
                + b"\r\n"
            )
            # In pieces, so the client may hang up mid-body (as it does past its limit).
            for start in range(0, len(answer.body), 65536):
                writer.write(answer.body[start : start + 65536])
                await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        return
    finally:
        writer.close()
