"""What an error answer says: its body, decoded once however many readers ask (the
request's replay check, the credentials' renewal, the exception), the error code and
message in whichever shape the service used, the server's request id, and the one line
every error uses to name an answer.

The shapes read, by the services that send them: ``{"errorCode", "errorMessage"}`` (all
callback families), the API gateway's ``{"fault": {"code", "message"}}``, Hyper Precise
Location's ``{"responseCode", "message"}`` (Verizon's newest SDK), and OAuth's
``{"error", "error_description"}``. A body that is not JSON counts as its text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from ._constants import ERROR_BODY_EXCERPT, REQUEST_ID_HEADERS

__all__ = ["body_fields", "decoded_body", "describe_answer", "error_fields", "request_id_of"]

_DECODED = "thingspace_callbacks.decoded_body"
"""The key of ``response.extensions`` under which the decoded body is kept."""


def decoded_body(response: httpx.Response) -> object | None:
    """The body of a read answer: its JSON, else its text (the first few KB), ``None``
    when it is empty. Decoded at the first call and kept on the response, so every
    later reader of the same answer gets the same object without decoding it again."""
    extensions = response.extensions
    if _DECODED in extensions:
        cached: object | None = extensions[_DECODED]
        return cached
    body: object | None = None
    if response.content:
        try:
            body = json.loads(response.content)
        except ValueError:
            # Not the parser's message: it quotes the body, which may hold a credential.
            body = excerpt(response)
    extensions[_DECODED] = body
    return body


def excerpt(response: httpx.Response) -> str:
    """The start of the answer's text, for an error to keep."""
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        text = response.content.decode("utf-8", "replace")
    return text[:ERROR_BODY_EXCERPT]


def error_fields(response: httpx.Response) -> tuple[str | None, str | None]:
    """The error code and message of a read error answer; ``(None, None)`` when it has
    neither."""
    return body_fields(decoded_body(response))


def body_fields(body: object) -> tuple[str | None, str | None]:
    """The error code and message of a decoded body (see :func:`decoded_body`)."""
    if isinstance(body, Mapping):
        fields: Mapping[str, Any] = body
        fault = fields.get("fault")
        if isinstance(fault, Mapping):
            fields = fault
        code = _first(fields, "errorCode", "code", "responseCode", "error")
        message = _first(fields, "errorMessage", "message", "error_description", "description")
        return code, message
    if isinstance(body, str) and body.strip():
        return None, body.strip()
    return None, None


def _first(fields: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = fields.get(name)
        if value is not None and not isinstance(value, (Mapping, list)):
            return str(value)
    return None


def request_id_of(headers: httpx.Headers) -> str | None:
    """The server's id for a request, from the first response header that carries one."""
    for name in REQUEST_ID_HEADERS:
        value: str | None = headers.get(name)
        if value:
            return value
    return None


def describe_answer(
    status_code: int,
    reason_phrase: str,
    error_code: str | None,
    error_message: str | None,
    request_id: str | None,
) -> str:
    """An answer as errors name it: ``400 Bad Request - CODE: message (request id X)``,
    leaving out what it lacks."""
    text = f"{status_code} {reason_phrase}".rstrip()
    details = ": ".join(part for part in (error_code, error_message) if part)
    if details:
        text = f"{text} - {details}"
    if request_id:
        text = f"{text} (request id {request_id})"
    return text
