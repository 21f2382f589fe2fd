"""Connectivity Management listeners: ``/m2m/v1/callbacks/{account}`` (operations 15-17)."""

from __future__ import annotations

from datetime import datetime, timezone

from starlette.requests import Request
from starlette.responses import Response

from .._context import (
    BadRequest,
    Handler,
    SandboxContext,
    json_body,
    ok,
    optional_text,
    text_field,
)
from .._state import Family, Registration
from ._urls import M2M_PORTS, listener_url

__all__ = ["handlers"]

_MAX_CREDENTIAL = 40
"""Listener usernames and passwords are at most 40 characters (Register page)."""


def _code(detail: str) -> str:
    # Connectivity Management codes are "<service>.<category>.<detail>".
    return f"UnifiedWebService.{detail}"


def handlers(ctx: SandboxContext, family: Family) -> dict[str, Handler]:
    """List, register and unregister."""
    registry = ctx.registry

    async def list_(request: Request) -> Response:
        account = request.path_params["account"]
        found = registry.listeners(family, account)
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
        account = request.path_params["account"]
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
                family=family,
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
        account = request.path_params["account"]
        service = request.path_params["service"]
        if registry.remove(family, account, service) is None:
            raise BadRequest(
                400,
                _code("REQUEST_FAILED.CallbackNotFound"),
                f"No {service} callback is registered for account {account}.",
            )
        return ok({"accountName": account, "serviceName": service})

    return {"list": list_, "register": register, "unregister": unregister}
