"""Async, typed SDK for the Verizon ThingSpace callback APIs.

Start with :class:`AsyncThingSpaceClient`; every public name is listed in ``__all__``.

Names are imported on first use (PEP 562), so ``import thingspace_callbacks`` costs
next to nothing and ``from thingspace_callbacks import AsyncThingSpaceClient`` loads only
what the client needs.
"""

from __future__ import annotations

from ._version import __version__ as __version__

# Not `from typing import TYPE_CHECKING`: importing typing would cost more than this
# module; type checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._auth import Auth as Auth
    from ._auth import AuthContext as AuthContext
    from ._auth import NoAuth as NoAuth
    from ._auth import StaticTokenAuth as StaticTokenAuth
    from ._client import AsyncThingSpaceClient as AsyncThingSpaceClient
    from ._errors import APIConnectionError as APIConnectionError
    from ._errors import APIError as APIError
    from ._errors import APIResponseValidationError as APIResponseValidationError
    from ._errors import APIStatusError as APIStatusError
    from ._errors import APITimeoutError as APITimeoutError
    from ._errors import AuthenticationError as AuthenticationError
    from ._errors import BadRequestError as BadRequestError
    from ._errors import ConflictError as ConflictError
    from ._errors import ErrorException as ErrorException
    from ._errors import ErrorResponseError2Exception as ErrorResponseError2Exception
    from ._errors import InternalServerError as InternalServerError
    from ._errors import NotFoundError as NotFoundError
    from ._errors import PermissionDeniedError as PermissionDeniedError
    from ._errors import RateLimitError as RateLimitError
    from ._errors import RequestValidationError as RequestValidationError
    from ._errors import RestErrorResponseException as RestErrorResponseException
    from ._errors import ThingSpaceError as ThingSpaceError
    from ._errors import UnprocessableEntityError as UnprocessableEntityError
    from ._oauth import OAuthClientCredentials as OAuthClientCredentials
    from ._response import APIResponse as APIResponse
    from ._retry import RetryPolicy as RetryPolicy
    from ._session import M2MSession as M2MSession
    from ._thingspace_auth import ThingSpaceAuth as ThingSpaceAuth
    from ._token_store import MemoryTokenStore as MemoryTokenStore
    from ._token_store import Token as Token
    from ._token_store import TokenStore as TokenStore
    from ._types import NOT_GIVEN as NOT_GIVEN
    from ._types import NotGiven as NotGiven
    from ._types import RequestOptions as RequestOptions

__all__ = (
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIResponse",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncThingSpaceClient",
    "Auth",
    "AuthContext",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "ErrorException",
    "ErrorResponseError2Exception",
    "InternalServerError",
    "M2MSession",
    "MemoryTokenStore",
    "NoAuth",
    "NotFoundError",
    "NotGiven",
    "OAuthClientCredentials",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestOptions",
    "RequestValidationError",
    "RestErrorResponseException",
    "RetryPolicy",
    "StaticTokenAuth",
    "ThingSpaceAuth",
    "ThingSpaceError",
    "Token",
    "TokenStore",
    "UnprocessableEntityError",
    "__version__",
)

_HOMES: dict[str, str] = {
    "APIConnectionError": "_errors",
    "APIError": "_errors",
    "APIResponse": "_response",
    "APIResponseValidationError": "_errors",
    "APIStatusError": "_errors",
    "APITimeoutError": "_errors",
    "AsyncThingSpaceClient": "_client",
    "Auth": "_auth",
    "AuthContext": "_auth",
    "AuthenticationError": "_errors",
    "BadRequestError": "_errors",
    "ConflictError": "_errors",
    "ErrorException": "_errors",
    "ErrorResponseError2Exception": "_errors",
    "InternalServerError": "_errors",
    "M2MSession": "_session",
    "MemoryTokenStore": "_token_store",
    "NOT_GIVEN": "_types",
    "NoAuth": "_auth",
    "NotFoundError": "_errors",
    "NotGiven": "_types",
    "OAuthClientCredentials": "_oauth",
    "PermissionDeniedError": "_errors",
    "RateLimitError": "_errors",
    "RequestOptions": "_types",
    "RequestValidationError": "_errors",
    "RestErrorResponseException": "_errors",
    "RetryPolicy": "_retry",
    "StaticTokenAuth": "_auth",
    "ThingSpaceAuth": "_thingspace_auth",
    "ThingSpaceError": "_errors",
    "Token": "_token_store",
    "TokenStore": "_token_store",
    "UnprocessableEntityError": "_errors",
}
"""The private module each exported name (but ``__version__``) is defined in."""

if not TYPE_CHECKING:  # type checkers see the imports above instead
    from ._lazy import lazy_exports

    __getattr__, __dir__ = lazy_exports(globals(), _HOMES)
    del lazy_exports


def _publish(namespace: dict[str, object]) -> None:
    """Make the classes a private module exports report the package as their module, so
    reprs, tracebacks and docs name ``thingspace_callbacks.X``.

    Each private module defining exported classes calls this as its last statement:
    whichever path first imports it (this package's ``__getattr__``, another SDK
    module, ``thingspace_callbacks.fanout``...), its classes are renamed before use.
    """
    module = namespace["__name__"]
    for name, home in _HOMES.items():
        value = namespace.get(name)
        if isinstance(value, type) and value.__module__ == module == f"{__name__}.{home}":
            value.__module__ = __name__


del TYPE_CHECKING
