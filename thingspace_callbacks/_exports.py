"""How the package and its subpackages export their names: one table of the public
API, names imported on first use, and exported objects that name their public module.

- :data:`PUBLIC` is the public API: ``thingspace_callbacks.__all__`` is derived from it,
  and the package's lazy ``__getattr__`` looks names up in it.
- :func:`lazy_exports` makes a package's ``__getattr__`` and ``__dir__`` (PEP 562), so
  ``import thingspace_callbacks`` stays nearly free and a program pays only for the
  families it uses (the package, ``models``, ``resources`` and ``_auth`` use it).
- :func:`publish` makes exported classes and functions report the public module as
  theirs (the package; ``receiver`` and ``redis`` for their own names).

It imports nothing of the SDK, so every private module can use it without importing
the package root.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from types import FunctionType
from typing import Any

__all__ = ["PACKAGE", "PUBLIC", "Home", "lazy_exports", "publish"]

PACKAGE = "thingspace_callbacks"

PUBLIC: dict[str, str] = {
    # the client and what a call returns
    "AsyncThingSpaceClient": "_client",
    "ThingSpaceClient": "_sync",
    "EventLoopThreadError": "_sync",
    "SyncFanOut": "_sync.fanout",
    "APIResponse": "_response",
    "NOT_GIVEN": "_types",
    "NotGiven": "_types",
    "RequestOptions": "_options",
    "RetryPolicy": "_retry",
    # authentication
    "Auth": "_auth",
    "AuthContext": "_auth",
    "MemoryTokenStore": "_auth",
    "NoAuth": "_auth",
    "Refusal": "_auth",
    "ThingSpaceAuth": "_auth",
    "Token": "_auth",
    "TokenStore": "_auth",
    "SharedTokenStore": "_auth",
    # many accounts at once
    "FanOut": "_fanout",
    "FanOutCancelledError": "_fanout",
    "FanOutOptions": "_fanout",
    "FanOutProgress": "_fanout",
    "FanOutReport": "_fanout",
    "FanOutResult": "_fanout",
    "RateLimiter": "_ratelimit",
    "Limiter": "_ratelimit",
    # errors
    "ThingSpaceError": "_errors",
    "InvalidArgumentError": "_errors",
    "APIError": "_errors",
    "APIConnectionError": "_errors",
    "APITimeoutError": "_errors",
    "APIResponseValidationError": "_errors",
    "ResponseTooLargeError": "_errors",
    "APIStatusError": "_errors",
    "RedirectError": "_errors",
    "BadRequestError": "_errors",
    "AuthenticationError": "_errors",
    "PermissionDeniedError": "_errors",
    "NotFoundError": "_errors",
    "ConflictError": "_errors",
    "UnprocessableEntityError": "_errors",
    "RateLimitError": "_errors",
    "InternalServerError": "_errors",
    "ErrorException": "_errors",
    "RestErrorResponseException": "_errors",
    "ErrorResponseError2Exception": "_errors",
}
"""Every public name (but ``__version__``) and the private module it comes from."""


Home = str | tuple[str, str]
"""Where a name lives: a submodule defining it, or (submodule, attribute) for an alias."""


def lazy_exports(
    namespace: dict[str, Any], homes: Mapping[str, Home]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose names live in ``homes``.

    A name is imported at its first lookup and then stored in the package, so later
    lookups are plain attribute reads.
    """
    package = namespace["__name__"]

    def getattr_(name: str) -> object:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = (home, name) if isinstance(home, str) else home
        value = getattr(importlib.import_module(f"{package}.{module}"), attribute)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        # The public names only: the implementation's helpers are not the API.
        return sorted(namespace["__all__"])

    return getattr_, dir_


def publish(
    namespace: dict[str, Any], names: Iterable[str] | None = None, *, module: str = PACKAGE
) -> None:
    """Make the classes and functions ``names`` (default: :data:`PUBLIC`) of the module
    whose globals are ``namespace`` report ``module`` (default: the package) as their
    module, so reprs, tracebacks and docs name ``thingspace_callbacks.X`` rather than a
    private module. Only what that module or a private module of ``module`` defines is
    renamed; a name re-exported from elsewhere keeps its home.

    Each private module that defines exported classes calls this as its last
    statement, so whichever path imports it first, its classes are renamed before use;
    a public subpackage calls it on the names it re-exports.
    """
    home = namespace["__name__"]
    private = module + "._"
    for name in PUBLIC if names is None else names:
        value = namespace.get(name)
        if isinstance(value, (type, FunctionType)) and (
            value.__module__ == home or value.__module__.startswith(private)
        ):
            value.__module__ = module
