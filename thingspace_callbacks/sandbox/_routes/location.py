"""Device Location listeners: ``/loc/v1/callbacks/{account}`` (operations 4-6)."""

from __future__ import annotations

from datetime import datetime, timezone

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .._context import BadRequest, SandboxContext, guarded, json_body, ok, text_field
from .._state import Registration
from ._urls import listener_url

__all__ = ["routes"]

_API = "/loc/v1"
_INVALID = "INVALID_PARAMETER"
_SERVICES = ("Location", "DeviceLocation")


def routes(ctx: SandboxContext) -> list[BaseRoute]:
    """List, register and deregister."""
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
                for r in registry.listeners("location", account)
            ]
        )

    async def register(request: Request) -> Response:
        account = request.path_params["account"]
        data = await json_body(request)
        service = text_field(data, "name")
        if service not in _SERVICES:
            raise BadRequest(
                400, _INVALID, f"Invalid service name {service}; use Location or DeviceLocation"
            )
        url = listener_url(text_field(data, "url"), code=_INVALID)
        secret = ctx.new_shared_secret()
        registry.put(
            Registration(
                family="location",
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

    async def deregister(request: Request) -> Response:
        account = request.path_params["account"]
        service = request.path_params["service"]
        if registry.remove("location", account, service) is None:
            raise BadRequest(
                400,
                _INVALID,
                f"No callback registered for service {service} on account {account}",
            )
        return ok({"success": True})

    path = f"{_API}/callbacks/{{account}}"
    return [
        Route(path, guarded(ctx, "location.list", _API, list_), methods=["GET"]),
        Route(path, guarded(ctx, "location.register", _API, register), methods=["POST"]),
        Route(
            f"{path}/name/{{service}}",
            guarded(ctx, "location.deregister", _API, deregister),
            methods=["DELETE"],
        ),
    ]
