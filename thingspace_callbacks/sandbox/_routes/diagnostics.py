"""Device Diagnostics listeners: ``/diagnostics/v1/callbacks`` (operations 1-3)."""

from __future__ import annotations

from datetime import datetime, timezone

from starlette.requests import Request
from starlette.responses import Response

from .._context import BadRequest, Handler, SandboxContext, json_body, ok, text_field
from .._state import Family, Registration
from ._urls import listener_url

__all__ = ["handlers"]

_INVALID = "INVALID_PARAMETER"


def _not_registered() -> BadRequest:
    # The status, code and message of the Diagnostics Error Codes page; the page does not
    # say which operations give it (docs/spec/sources.md).
    return BadRequest(
        403, "CALLBACK_NOT_REGISTERED", "Callback is not registered for this account."
    )


def _callback(registration: Registration) -> dict[str, object]:
    return {
        "accountName": registration.account,
        "serviceName": registration.service,
        "endpoint": registration.url,
        "httpHeaders": dict(registration.http_headers or {}),
        "createdOn": registration.created_on.isoformat(timespec="milliseconds").replace(
            "+00:00", "Z"
        ),
    }


def _query(request: Request, name: str) -> str:
    value = request.query_params.get(name, "")
    if not value.strip():
        raise BadRequest(400, _INVALID, f"{name} is required")
    return value


def handlers(ctx: SandboxContext, family: Family) -> dict[str, Handler]:
    """Get, register and unregister."""
    registry = ctx.registry

    async def get(request: Request) -> Response:
        account = _query(request, "accountName")
        found = registry.listeners(family, account)
        if not found:
            raise _not_registered()
        return ok(_callback(found[0]))

    async def register(request: Request) -> Response:
        data = await json_body(request)
        account = text_field(data, "accountName")
        service = text_field(data, "serviceName")
        endpoint = listener_url(text_field(data, "endpoint"), code=_INVALID)
        headers = data.get("httpHeaders")
        if headers is not None and not isinstance(headers, dict):
            raise BadRequest(400, _INVALID, "httpHeaders must be an object")
        secret = ctx.new_shared_secret()
        registration = registry.put(
            Registration(
                family=family,
                account=account,
                service=service,
                url=endpoint,
                created_on=datetime.now(timezone.utc),
                http_headers=headers or {},
                shared_secret=secret,
            )
        )
        return ok(
            _callback(registration),
            headers={ctx.shared_secret_header: secret},
        )

    async def unregister(request: Request) -> Response:
        account = _query(request, "accountName")
        service = _query(request, "serviceName")
        removed = registry.remove(family, account, service)
        if removed is None:
            raise _not_registered()
        return ok(_callback(removed))

    return {"get": get, "register": register, "unregister": unregister}
