"""The package's public names and the private module each is defined in.

This one table is the public API: ``thingspace_callbacks.__all__`` is derived from it,
the package's lazy ``__getattr__`` looks names up in it, and :func:`publish` uses it to
make each exported class report ``thingspace_callbacks`` as its module. It imports
nothing of the SDK, so every private module can use it without importing the package
root.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PACKAGE", "PUBLIC", "publish"]

PACKAGE = "thingspace_callbacks"

PUBLIC: dict[str, str] = {
    # the client and what a call returns
    "AsyncThingSpaceClient": "_client",
    "APIResponse": "_response",
    "NOT_GIVEN": "_types",
    "NotGiven": "_types",
    "RequestOptions": "_types",
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
    "RequestValidationError": "_errors",
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


def publish(namespace: dict[str, Any]) -> None:
    """Make the exported classes defined in the module whose globals are ``namespace``
    report the package as their module, so reprs, tracebacks and docs name
    ``thingspace_callbacks.X`` rather than a private module.

    Each private module that defines exported classes calls this as its last
    statement, so whichever path imports it first, its classes are renamed before use.
    """
    module = namespace["__name__"]
    for name in PUBLIC:
        value = namespace.get(name)
        if isinstance(value, type) and value.__module__ == module:
            value.__module__ = PACKAGE
