"""Connectivity Management listeners: ``/m2m/v1/callbacks/{aname}`` (operations 15-17)."""

from __future__ import annotations

from datetime import datetime, timezone

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .._context import (
    BadRequest,
    SandboxContext,
    guarded,
    json_body,
    ok,
    optional_text,
    text_field,
)
from .._state import Registration
from ._urls import M2M_PORTS, listener_url

__all__ = ["routes"]

_API = "/m2m/v1"
_MAX_CREDENTIAL = 40
"""Listener usernames and passwords are at most 40 characters (Register page)."""


def _code(detail: str) -> str:
    # Connectivity Management codes are "<service>.<category>.<detail>".
    return f"UnifiedWebService.{detail}"


def routes(ctx: SandboxContext) -> list[BaseRoute]:
    """List, register and unregister."""
    registry = ctx.registry

    async def list_(request: Request) -> Response:
        account = request.path_params["aname"]
        found = registry.listeners("connectivity", account)
        if not found:
            # "empty body if none" (List Callback Listeners).
            return Response(status_code=200)
        return ok(
            [
                {
                    "accountName": r.account,
                    "serviceName": r.service,
                    "url": r.url,
                    "username": r.username or "",
                    "password": r.password or "",
                }
                for r in found
            ]
        )

    async def register(request: Request) -> Response:
        account = request.path_params["aname"]
        data = await json_body(request, code=_code("INPUT_INVALID.Body"))
        service = text_field(data, "name", code=_code("INPUT_INVALID.ServiceName"))
        url = listener_url(
            text_field(data, "url", code=_code("INPUT_INVALID.Url")),
            code=_code("INPUT_INVALID.Url"),
            ports=M2M_PORTS if ctx.enforce_m2m_ports else None,
        )
        username = optional_text(data, "username", code=_code("INPUT_INVALID.Username"))
        password = optional_text(data, "password", code=_code("INPUT_INVALID.Password"))
        for name, value in (("username", username), ("password", password)):
            if value is not None and len(value) > _MAX_CREDENTIAL:
                raise BadRequest(
                    400,
                    _code(f"INPUT_INVALID.{name.capitalize()}"),
                    f"The {name} must be at most {_MAX_CREDENTIAL} characters.",
                )
        registry.put(
            Registration(
                family="connectivity",
                account=account,
                service=service,
                url=url,
                created_on=datetime.now(timezone.utc),
                username=username,
                password=password,
            )
        )
        return ok({"accountName": account, "serviceName": service})

    async def unregister(request: Request) -> Response:
        account = request.path_params["aname"]
        service = request.path_params["sname"]
        if registry.remove("connectivity", account, service) is None:
            raise BadRequest(
                400,
                _code("REQUEST_FAILED.CallbackNotFound"),
                f"No {service} callback is registered for account {account}.",
            )
        return ok({"accountName": account, "serviceName": service})

    path = f"{_API}/callbacks/{{aname}}"
    return [
        Route(path, guarded(ctx, "connectivity.list", _API, list_), methods=["GET"]),
        Route(path, guarded(ctx, "connectivity.register", _API, register), methods=["POST"]),
        Route(
            f"{path}/name/{{sname}}",
            guarded(ctx, "connectivity.unregister", _API, unregister),
            methods=["DELETE"],
        ),
    ]
