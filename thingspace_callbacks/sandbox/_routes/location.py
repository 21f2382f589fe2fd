"""Device Location listeners: ``/loc/v1/callbacks/{account}`` (operations 4-6)."""

from __future__ import annotations

from datetime import datetime, timezone

from starlette.requests import Request
from starlette.responses import Response

from ...models.location import LocationServiceName
from .._context import BadRequest, Handler, SandboxContext, json_body, ok, text_field
from .._state import Family, Registration
from ._urls import listener_url

__all__ = ["handlers"]

_INVALID = "INVALID_PARAMETER"
_SERVICES = tuple(service.value for service in LocationServiceName)
"""The services a listener may be registered for: those the client's model lists."""


def handlers(ctx: SandboxContext, family: Family) -> dict[str, Handler]:
    """List, register and unregister."""
    registry = ctx.registry

    async def list_(request: Request) -> Response:
        account = request.path_params["account"]
        return ok(
            [
                {
                    "name": r.service,
                    "accountName": r.account,
                    "serviceName": r.service,
                    "url": r.url,
                }
                for r in registry.listeners(family, account)
            ]
        )

    async def register(request: Request) -> Response:
        account = request.path_params["account"]
        data = await json_body(request)
        service = text_field(data, "name")
        if service not in _SERVICES:
            raise BadRequest(
                400, _INVALID, f"Invalid service name {service}; use {' or '.join(_SERVICES)}"
            )
        url = listener_url(text_field(data, "url"), code=_INVALID)
        secret = ctx.new_shared_secret()
        registry.put(
            Registration(
                family=family,
                account=account,
                service=service,
                url=url,
                created_on=datetime.now(timezone.utc),
                shared_secret=secret,
            )
        )
        return ok(
            {"accountName": account, "serviceName": service},
            headers={ctx.shared_secret_header: secret},
        )

    async def unregister(request: Request) -> Response:
        account = request.path_params["account"]
        service = request.path_params["service"]
        if registry.remove(family, account, service) is None:
            raise BadRequest(
                400,
                _INVALID,
                f"No callback registered for service {service} on account {account}",
            )
        return ok({"success": True})

    return {"list": list_, "register": register, "unregister": unregister}
