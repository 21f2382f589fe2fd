"""What every sandbox route shares: state, credentials, settings and answer helpers."""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ._body import InvalidJSON, read_json
from ._credentials import AuthFailure, Credentials
from ._state import Registry

__all__ = ["BadRequest", "SandboxContext", "error", "guarded", "json_body", "ok"]

Handler = Callable[[Request], Awaitable[Response]]


@dataclass
class SandboxContext:
    """The state and settings one sandbox's routes work with."""

    registry: Registry
    credentials: Credentials
    require_auth: bool
    shared_secret: str | None = field(repr=False)
    """A fixed HMAC key for every registration; ``None`` makes a new one each time."""
    shared_secret_header: str
    enforce_m2m_ports: bool
    calls: Counter[str] = field(default_factory=Counter)
    """Requests answered, by operation name (``"token"``, ``"location.register"``...)."""
    _calls_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, operation: str) -> None:
        with self._calls_lock:
            self.calls[operation] += 1

    def new_shared_secret(self) -> str:
        return self.shared_secret or secrets.token_hex(32)


class BadRequest(Exception):  # noqa: N818 - an answer, not a failure of ours
    """Raised by a handler to answer a family error; caught by :func:`guarded`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def ok(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer."""
    return JSONResponse(body, status_code=status, headers=headers)


def error(status: int, code: str, message: str) -> Response:
    """The ``{"errorCode", "errorMessage"}`` answer every callback family uses."""
    return JSONResponse({"errorCode": code, "errorMessage": message}, status_code=status)


def refused(failure: AuthFailure) -> Response:
    """The answer to refused credentials."""
    return JSONResponse(failure.body, status_code=failure.status)


async def json_body(request: Request, *, code: str = "INVALID_PARAMETER") -> Any:
    """The request's JSON body (``None`` when blank); raises :class:`BadRequest` (400,
    ``code``) if it is not JSON or nests too deeply."""
    try:
        return await read_json(request)
    except InvalidJSON as exc:
        raise BadRequest(400, code, str(exc)) from None


def text_field(data: Any, name: str, *, code: str = "INVALID_PARAMETER") -> str:
    """A required non-blank string field of a JSON object."""
    value = data.get(name) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(400, code, f"{name} is required")
    return value


def optional_text(data: Any, name: str, *, code: str = "INVALID_PARAMETER") -> str | None:
    """An optional string field of a JSON object."""
    value = data.get(name) if isinstance(data, dict) else None
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(400, code, f"{name} must be a string")
    return value


def guarded(ctx: SandboxContext, operation: str, api: str, handler: Handler) -> Handler:
    """Wrap an operation: count it, check the bearer token and the session (as every
    callback operation requires), then run it, turning :class:`BadRequest` into its
    answer."""

    async def endpoint(request: Request) -> Response:
        ctx.count(operation)
        if ctx.require_auth:
            failure = ctx.credentials.check_bearer(request.headers.get("authorization"), api)
            if failure is None:
                failure = ctx.credentials.check_session(request.headers.get("vz-m2m-token"), api)
            if failure is not None:
                return refused(failure)
        try:
            return await handler(request)
        except BadRequest as exc:
            return error(exc.status, exc.code, exc.message)

    endpoint.__name__ = operation.replace(".", "_")
    return endpoint
