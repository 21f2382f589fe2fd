"""The sandbox's ASGI application: the API under ``/api``, admin routes under
``/sandbox``, fault injection around both (admin routes excepted)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount

from ._body import BodyLimit, BodyTooLarge, body_too_large
from ._context import SandboxContext
from ._faults import FaultInjector, Faults
from ._routes import api_routes

__all__ = ["API_ROOT", "build_app"]

API_ROOT = "/api"
"""Where the API lives in the sandbox, as under ``https://thingspace.verizon.com/api``."""


async def _no_such_resource(request: Request, exc: Exception) -> Response:
    # What ThingSpace's API gateway answers for a path or method it does not serve.
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    return JSONResponse(
        {
            "fault": {
                "code": "900906",
                "message": "No matching resource found for given API Request",
                "description": f"The requested resource ({request.method} "
                f"{request.url.path}) is not available (HTTP {status}).",
            }
        },
        status_code=400,
    )


async def _client_gone(request: Request, exc: Exception) -> Response:
    # The client hung up mid-request (a cancelled call, a deadline): nobody reads this
    # answer, and it is no server error worth a traceback in the sandbox's log.
    return Response(status_code=499)


async def _too_large(request: Request, exc: Exception) -> Response:
    limit = exc.limit if isinstance(exc, BodyTooLarge) else 0
    return body_too_large(limit)


def build_app(
    ctx: SandboxContext,
    faults: Faults | None,
    admin_routes: list[BaseRoute],
    *,
    max_body_size: int,
) -> FaultInjector:
    """The whole application, taking bodies up to ``max_body_size`` bytes on every
    route; its :attr:`FaultInjector.faults` can be changed live."""
    app = Starlette(
        routes=[
            Mount(API_ROOT, routes=api_routes(ctx)),
            Mount("/sandbox", routes=admin_routes),
        ],
        middleware=[Middleware(BodyLimit, max_size=max_body_size)],
        exception_handlers={
            404: _no_such_resource,
            405: _no_such_resource,
            ClientDisconnect: _client_gone,
            BodyTooLarge: _too_large,
        },
    )
    return FaultInjector(app, faults)
