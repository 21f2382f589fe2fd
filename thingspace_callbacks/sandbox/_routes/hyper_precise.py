"""Hyper Precise Location listeners: ``/hyper-precise/v1/callbacks`` (operations 18-20)."""

from __future__ import annotations

from datetime import datetime, timezone

from starlette.requests import Request
from starlette.responses import Response

from .._context import BadRequest, Handler, SandboxContext, json_body, ok, optional_text
from .._state import Family, Registration
from ._urls import listener_url

__all__ = ["handlers"]

_INVALID = "INVALID_PARAMETER"


def _query(request: Request, *names: str) -> str:
    for name in names:
        value = request.query_params.get(name, "")
        if value.strip():
            return value
    raise BadRequest(400, _INVALID, f"{names[0]} is required")


def _listener(r: Registration) -> dict[str, object]:
    return {"aname": r.account, "name": r.service, "url": r.url}


def handlers(ctx: SandboxContext, family: Family) -> dict[str, Handler]:
    """List, register and unregister."""
    registry = ctx.registry

    async def list_(request: Request) -> Response:
        account = _query(request, "accountNumber")
        return ok([_listener(r) for r in registry.listeners(family, account)])

    async def register(request: Request) -> Response:
        # Older servers read the listener from the name/url headers, newer ones from
        # the JSON body; the body wins when both are sent.
        account = _query(request, "accountNumber")
        data = await json_body(request)
        name = optional_text(data, "name") or request.headers.get("name", "")
        url = optional_text(data, "url") or request.headers.get("url", "")
        if not name.strip():
            raise BadRequest(400, _INVALID, "name is required")
        if not url.strip():
            raise BadRequest(400, _INVALID, "url is required")
        registration = registry.put(
            Registration(
                family=family,
                account=account,
                service=name,
                url=listener_url(url, code=_INVALID),
                created_on=datetime.now(timezone.utc),
            )
        )
        return ok(_listener(registration))

    async def unregister(request: Request) -> Response:
        account = _query(request, "accountNumber")
        # The seed SDK names the parameter "name", newer Verizon SDKs "service".
        name = _query(request, "service", "name")
        if registry.remove(family, account, name) is None:
            raise BadRequest(404, _INVALID, f"Callback listener {name} not found")
        return ok({"responseCode": "SUCCESS", "message": f"Callback listener {name} deleted"})

    return {"list": list_, "register": register, "unregister": unregister}
