"""The sandbox's HTTP routes under the API root, one module per family."""

from __future__ import annotations

from starlette.routing import BaseRoute

from .._context import SandboxContext
from . import auth, connectivity, diagnostics, firmware, hyper_precise, location

__all__ = ["api_routes"]


def api_routes(ctx: SandboxContext) -> list[BaseRoute]:
    """Every route under the API root (``/api``): tokens, sessions, 20 operations."""
    return [
        *auth.routes(ctx),
        *diagnostics.routes(ctx),
        *location.routes(ctx),
        *firmware.routes(ctx, "v2"),
        *firmware.routes(ctx, "v3"),
        *connectivity.routes(ctx),
        *hyper_precise.routes(ctx),
    ]
