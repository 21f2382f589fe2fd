"""Reading a request's body within the receiver's bounds: it must arrive within
``body_timeout`` (else 408) and fit in ``max_body_size`` (else 413). Both are applied
here rather than left to the ASGI server, so that they hold under any server. A 413 is
sent before the rest of the body is read and dropped, so that a sender still sending
reads the answer instead of a connection reset."""

from __future__ import annotations

from collections.abc import Sequence

import anyio

from ._errors import PayloadTooLargeError
from ._outcome import CLOSE, DeliveryOutcome, Receive, Send, respond

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "content_length",
    "drain_budget",
    "read_body",
    "refuse_oversize",
]

DEFAULT_BODY_TIMEOUT = 10.0
"""Seconds a request's body may take to arrive, from the end of its headers. ThingSpace
messages are a few kilobytes; even a full ``max_body_size`` (1 MiB) arrives in time at
about 100 kB/s."""


async def read_body(
    receive: Receive, declared: int | None, limit: int, time_limit: float | None
) -> bytes | None:
    """The whole body, or ``None`` when the sender hung up first.

    :param declared: The body's ``Content-Length``, if the sender gave one.
    :param limit: The largest body read, in bytes.
    :param time_limit: Seconds the body may take to arrive; ``None``: no limit.
    :raises PayloadTooLargeError: The body is (or is declared to be) over ``limit``.
    :raises TimeoutError: The body did not arrive within ``time_limit``.
    """
    if declared is not None and declared > limit:
        raise PayloadTooLargeError(f"body is larger than {limit} bytes")
    with anyio.fail_after(time_limit):
        return await _read(receive, limit)


async def _read(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        event = await receive()
        if event["type"] == "http.disconnect":
            return None
        chunk: bytes = event.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLargeError(f"body is larger than {limit} bytes")
        chunks.append(chunk)
        if not event.get("more_body", False):
            return b"".join(chunks)


def content_length(headers: Sequence[tuple[str, str]]) -> int | None:
    """The ``Content-Length`` the sender declared, if any (and a number)."""
    for name, value in headers:
        declared = value.strip()
        if name.lower() == "content-length" and declared.isascii() and declared.isdigit():
            return int(declared)
    return None


def drain_budget(limit: int, declared: int | None, headers: Sequence[tuple[str, str]]) -> int:
    """How many bytes of a refused body to read and drop before closing (see
    :func:`refuse_oversize`)."""
    # Bodies up to twice the limit are read to their end, so their senders get the
    # 413; a declared size past that would be cut off anyway, and a 100-continue
    # sender whose declared size was refused has not sent the body and will not.
    if declared is None:
        return limit  # about as much again as was read before refusing
    if declared > 2 * limit or _expects_continue(headers):
        return 0
    return declared


async def refuse_oversize(
    send: Send,
    receive: Receive,
    outcome: DeliveryOutcome,
    deadline: float | None,
    budget: int,
) -> None:
    """Answer ``outcome`` (a 413), then read and drop up to ``budget`` bytes of the body
    until ``deadline`` (``None``: no time limit), then close."""
    # Closing a socket with unread data makes the kernel send a reset, so a sender
    # still writing its body gets a write error instead of reading the 413. So the
    # answer goes out first, the rest of the body is read and dropped (bounded in
    # bytes and time), and only then is the response finished and the socket closed.
    await respond(send, outcome, extra_headers=[CLOSE], more_body=True)
    if budget > 0:
        remaining = None if deadline is None else max(deadline - anyio.current_time(), 0)
        with anyio.move_on_after(remaining):
            await _discard(receive, budget)
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _expects_continue(headers: Sequence[tuple[str, str]]) -> bool:
    return any(
        name.lower() == "expect" and value.strip().lower() == "100-continue"
        for name, value in headers
    )


async def _discard(receive: Receive, budget: int) -> None:
    discarded = 0
    while discarded < budget:
        event = await receive()
        if event["type"] == "http.disconnect":
            return
        discarded += len(event.get("body", b""))
        if not event.get("more_body", False):
            return
