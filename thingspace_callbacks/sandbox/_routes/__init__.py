"""The sandbox's HTTP routes under the API root: tokens and sessions, and one module
per family, named as the family's module in :mod:`thingspace_callbacks.resources`.

A family module answers requests; where each of its operations is served (method and
path) and what it is counted as (:attr:`Sandbox.calls`) come from the family registry
(:mod:`thingspace_callbacks._families`), so the sandbox serves what the client sends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.routing import BaseRoute, Route

from ..._families import FAMILIES, Family
from .._context import Handler, SandboxContext, guarded
from .._state import Family as FamilyName
from .._state import family_name
from . import auth, connectivity, diagnostics, firmware, hyper_precise, location

__all__ = ["api_routes"]

Handlers = Callable[[SandboxContext, FamilyName], Mapping[str, Handler]]
"""A family module's ``handlers``: the handler of each verb, for the family named."""

_HANDLERS: dict[str, Handlers] = {
    handlers.__module__.rpartition(".")[2]: handlers
    for handlers in (
        diagnostics.handlers,
        location.handlers,
        firmware.handlers,
        connectivity.handlers,
        hyper_precise.handlers,
    )
}
"""Each family module's ``handlers``, by module name (:attr:`Family.module`)."""


def api_routes(ctx: SandboxContext) -> list[BaseRoute]:
    """Every route under the API root (``/api``): tokens, sessions, 20 operations."""
    return [*auth.routes(ctx), *(route for f in FAMILIES for route in _family_routes(ctx, f))]


def _family_routes(ctx: SandboxContext, family: Family) -> list[BaseRoute]:
    """The routes of each operation of ``family``, counted by its operation name."""
    handlers = _HANDLERS[family.module](ctx, family_name(family.name))
    if set(handlers) != set(family.verbs):
        # A family module out of step with the registry would serve another API than
        # the one the client calls: refuse to build rather than answer 900906 later.
        raise RuntimeError(
            f"sandbox routes of {family.name} answer {sorted(handlers)}, "
            f"the registry has {sorted(family.verbs)}"
        )
    return [
        Route(
            family.path(verb),
            guarded(ctx, family.operation(verb), _api(family.path(verb)), handlers[verb]),
            methods=[family.method(verb)],
        )
        for verb in family.verbs
    ]


def _api(path: str) -> str:
    """The API a path belongs to, as the gateway names it: ``"/loc/v1"`` for
    ``"/loc/v1/callbacks/{account}"``."""
    return "/".join(path.split("/")[:3])
