"""What the receiver did with one delivery (:class:`DeliveryOutcome`), and how it
answers the sender over ASGI: a small JSON body naming the outcome, with the status
code (and ``Retry-After``) the outcome carries."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .._constants import LOGGER_NAME
from ._errors import MessageTypeError, ReceiverError, VerificationError
from ._models import CallbackMessage
from ._request import InboundRequest

__all__ = [
    "CLOSE",
    "SHUTTING_DOWN",
    "ASGIMessage",
    "DeliveryOutcome",
    "Receive",
    "Scope",
    "Send",
    "Status",
    "logger",
    "rejected",
    "respond",
]

logger = logging.getLogger(f"{LOGGER_NAME}.receiver")

Scope = MutableMapping[str, Any]
ASGIMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[ASGIMessage]]
Send = Callable[[ASGIMessage], Awaitable[None]]

Status = Literal[
    "accepted", "duplicate", "busy", "unavailable", "rejected", "failed", "timed_out", "not_found"
]
"""The ``status`` of a delivery's JSON answer (see :class:`DeliveryOutcome`)."""


@dataclass(frozen=True)
class DeliveryOutcome:
    """What the receiver did with one delivery, and the HTTP status it answers with."""

    status_code: int
    """200 handled or duplicate; 400/401/403/408/413/422 rejected; 404 no route;
    405 not a POST; 409 busy; 500 failed; 503 unavailable or timed out."""

    status: Status
    """``"accepted"`` (handler succeeded), ``"duplicate"`` (handled before),
    ``"busy"`` (another process holds the message's claim, or a copy in this process
    outlasted the time limit), ``"unavailable"`` (the dedupe store could not be
    reached, or the server is shutting down), ``"rejected"``, ``"failed"`` (handler raised),
    ``"timed_out"`` (handler cancelled after ``handler_timeout``) or
    ``"not_found"``."""

    detail: str | None = None
    """Why it was rejected or failed (never a credential)."""

    message: CallbackMessage | None = None
    """The parsed message, when parsing got that far."""

    retry_after: int | None = None
    """Seconds after which to send again, answered as ``Retry-After`` (with a 503)."""

    @property
    def acknowledged(self) -> bool:
        """Whether ThingSpace is told the message arrived (a 2xx answer)."""
        return 200 <= self.status_code < 300


CLOSE = (b"connection", b"close")
"""The header of an answer after which the connection is closed."""

SHUTTING_DOWN = DeliveryOutcome(503, "unavailable", "the listener is shutting down; send again")
"""The answer to a delivery cancelled because the listener is stopping."""


def rejected(request: InboundRequest, error: ReceiverError) -> DeliveryOutcome:
    """The outcome of a delivery refused with ``error``, logged."""
    # A message refused for its shape is lost once ThingSpace stops re-sending it,
    # so it is an error to look at; the other refusals are the sender's problem.
    logger.log(
        logging.ERROR if isinstance(error, MessageTypeError) else logging.WARNING,
        "rejected callback to %s from %s: %s (%s)",
        request.path,
        request.client_host,
        error,
        type(error).__name__,
    )
    detail = "verification failed" if isinstance(error, VerificationError) else str(error)
    return DeliveryOutcome(error.status_code, "rejected", detail)


def _status_body(outcome: DeliveryOutcome) -> bytes:
    body: dict[str, str] = {"status": outcome.status}
    if outcome.detail:
        body["detail"] = outcome.detail
    return json.dumps(body).encode()


async def respond(
    send: Send,
    outcome: DeliveryOutcome,
    *,
    extra_headers: Sequence[tuple[bytes, bytes]] = (),
    more_body: bool = False,
) -> None:
    """Answer ``outcome`` over ASGI; with ``more_body`` the response is left open."""
    body = _status_body(outcome)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra_headers,
    ]
    if outcome.retry_after is not None:
        headers.append((b"retry-after", str(outcome.retry_after).encode()))
    await send({"type": "http.response.start", "status": outcome.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": more_body})
