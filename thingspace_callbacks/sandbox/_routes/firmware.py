"""Software Management (FOTA) listeners: ``/fota/v2/callbacks/{account}`` (operations
7-10) and ``/fota/v3/callbacks/{acc}`` (operations 11-14). One listener per account."""

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
from ._urls import listener_url

__all__ = ["handlers"]

_INVALID = "INVALID_PARAMETER"


def handlers(ctx: SandboxContext, family: Family) -> dict[str, Handler]:
    """Get, register, update and unregister for one FOTA version (``firmware`` or
    ``firmware_v3``)."""
    registry = ctx.registry

    def missing(account: str) -> BadRequest:
        return BadRequest(400, _INVALID, f"No callback registered for account {account}")

    async def get(request: Request) -> Response:
        account = request.path_params["account"]
        found = registry.get(family, account, "")
        if found is None:
            raise missing(account)
        return ok({"url": found.url})

    async def register(request: Request) -> Response:
        # Registering over an existing listener replaces it, so a repeated (retried)
        # registration is harmless.
        account = request.path_params["account"]
        data = await json_body(request)
        registration = registry.put(
            Registration(
                family=family,
                account=account,
                service="",
                url=listener_url(text_field(data, "url"), code=_INVALID),
                created_on=datetime.now(timezone.utc),
                username=optional_text(data, "username"),
                password=optional_text(data, "password"),
            )
        )
        return ok({"url": registration.url})

    async def update(request: Request) -> Response:
        account = request.path_params["account"]
        data = await json_body(request)
        url = listener_url(text_field(data, "url"), code=_INVALID)
        updated = registry.update_url(family, account, "", url)
        if updated is None:
            raise missing(account)
        return ok({"url": updated.url})

    async def unregister(request: Request) -> Response:
        account = request.path_params["account"]
        if registry.remove(family, account, "") is None:
            raise missing(account)
        return ok({"success": True})

    return {"get": get, "register": register, "update": update, "unregister": unregister}
