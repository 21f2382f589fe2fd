"""Request bodies: bounded in size while they arrive, and parsed as JSON of bounded depth.

Both limits hold on every route, the admin routes included:

- :class:`BodyLimit`, in front of all routes, counts the bytes of the ASGI body stream
  and stops it past ``max_size``; the request is answered 413 without the rest being
  kept. A declared ``Content-Length`` over the limit is answered before any of the body
  is read.
- :func:`read_json`, through which every route parses JSON, refuses JSON nested deeper
  than :data:`MAX_JSON_DEPTH` before handing it to ``json.loads``, whose recursive
  parser would otherwise overflow the stack on a few kilobytes of ``[``.

Routes read bodies only through :func:`read_body` and :func:`read_json`.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "MAX_JSON_DEPTH",
    "BodyLimit",
    "BodyTooLarge",
    "InvalidJSON",
    "body_too_large",
    "nested_too_deep",
    "read_body",
    "read_json",
]

DEFAULT_MAX_BODY_SIZE = 1024 * 1024
"""The largest request body a sandbox accepts by default, in bytes (1 MiB)."""

MAX_JSON_DEPTH = 64
"""How deeply arrays and objects may nest in a JSON body (callback bodies need 2)."""

# A JSON string, or what is left of an unterminated one: matching always succeeds at a
# quote, so no quote is ever tried twice and hostile text costs one pass.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class BodyTooLarge(Exception):  # noqa: N818 - an answer, not a failure of ours
    """The request body is over the sandbox's limit; answered 413 by :func:`body_too_large`."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body is larger than {limit} bytes")
        self.limit = limit


class InvalidJSON(ValueError):  # noqa: N818 - an answer, not a failure of ours
    """The body is not JSON the sandbox takes; the message says why."""


def body_too_large(limit: int) -> Response:
    """The 413 answer, in the ``{"errorCode", "errorMessage"}`` shape of other errors."""
    return JSONResponse(
        {"errorCode": "REQUEST_TOO_LARGE", "errorMessage": str(BodyTooLarge(limit))},
        status_code=413,
    )


class BodyLimit:
    """ASGI middleware that stops request bodies at ``max_size`` bytes.

    Past the limit the wrapped ``receive`` raises :class:`BodyTooLarge`, which the app
    answers 413; the server discards whatever the client still sends.
    """

    def __init__(self, app: ASGIApp, max_size: int = DEFAULT_MAX_BODY_SIZE) -> None:
        self.app = app
        self.max_size = max_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_size:
            await body_too_large(self.max_size)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_size:
                raise BodyTooLarge(self.max_size)
            return message

        await self.app(scope, limited, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def read_body(request: Request) -> bytes:
    """The request body, read through :class:`BodyLimit` (so never over the limit)."""
    return await request.body()


async def read_json(request: Request) -> Any:
    """The body as JSON (``None`` when blank); raises :class:`InvalidJSON`."""
    raw = await read_body(request)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # JSON between systems is UTF-8 (RFC 8259). Decoding here rather than letting
        # json.loads guess among UTF-16 and UTF-32 makes the depth scan read the very
        # text the parser will.
        raise InvalidJSON("Invalid JSON: the body is not UTF-8") from None
    if not text.strip():
        return None
    if nested_too_deep(text):
        raise InvalidJSON(f"Invalid JSON: nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except ValueError:
        raise InvalidJSON("Invalid JSON") from None


def nested_too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether arrays and objects in ``text`` nest deeper than ``limit``.

    Strings are cut out first, so brackets in them do not count; the running depth of
    what is left is then summed in C (no recursion; a hostile megabyte takes about a
    tenth of a second). Brackets past a syntax error may count too, which only errs towards
    refusing text that ``json.loads`` would refuse anyway.
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > limit
