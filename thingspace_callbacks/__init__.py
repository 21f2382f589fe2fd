"""Async, typed SDK for the Verizon ThingSpace callback APIs.

Start with :class:`AsyncThingSpaceClient`; every public name is listed in ``__all__``.
"""

from __future__ import annotations

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
from ._version import __version__ as __version__

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

# Reprs and tracebacks name the public module, not the private one a class lives in.
for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) and _obj.__module__.startswith("thingspace_callbacks._"):
        _obj.__module__ = "thingspace_callbacks"
del _name, _obj
