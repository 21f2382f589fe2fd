"""Async, typed SDK for the Verizon ThingSpace callback APIs.

Start with :class:`AsyncThingSpaceClient` (or :class:`ThingSpaceClient` in code that does
not ``await``); every public name is listed in ``__all__``.

Names are imported on first use (PEP 562), so ``import thingspace_callbacks`` costs
next to nothing and ``from thingspace_callbacks import AsyncThingSpaceClient`` loads only
what the client needs.
"""

# Not `from typing import TYPE_CHECKING`: importing typing would cost more than this
# module; type checkers treat any name TYPE_CHECKING as true. This block repeats the
# table in `_exports.py` for type checkers only (a test keeps the two equal).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._auth import Auth as Auth
    from ._auth import AuthContext as AuthContext
    from ._auth import MemoryTokenStore as MemoryTokenStore
    from ._auth import NoAuth as NoAuth
    from ._auth import Refusal as Refusal
    from ._auth import SharedTokenStore as SharedTokenStore
    from ._auth import ThingSpaceAuth as ThingSpaceAuth
    from ._auth import Token as Token
    from ._auth import TokenStore as TokenStore
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
    from ._errors import InvalidArgumentError as InvalidArgumentError
    from ._errors import NotFoundError as NotFoundError
    from ._errors import PermissionDeniedError as PermissionDeniedError
    from ._errors import RateLimitError as RateLimitError
    from ._errors import RedirectError as RedirectError
    from ._errors import ResponseTooLargeError as ResponseTooLargeError
    from ._errors import RestErrorResponseException as RestErrorResponseException
    from ._errors import ThingSpaceError as ThingSpaceError
    from ._errors import UnprocessableEntityError as UnprocessableEntityError
    from ._fanout import FanOut as FanOut
    from ._fanout import FanOutCancelledError as FanOutCancelledError
    from ._fanout import FanOutOptions as FanOutOptions
    from ._fanout import FanOutProgress as FanOutProgress
    from ._fanout import FanOutReport as FanOutReport
    from ._fanout import FanOutResult as FanOutResult
    from ._options import RequestOptions as RequestOptions
    from ._ratelimit import Limiter as Limiter
    from ._ratelimit import RateLimiter as RateLimiter
    from ._response import APIResponse as APIResponse
    from ._retry import RetryPolicy as RetryPolicy
    from ._sync import EventLoopThreadError as EventLoopThreadError
    from ._sync import ThingSpaceClient as ThingSpaceClient
    from ._sync.fanout import SyncFanOut as SyncFanOut
    from ._types import NOT_GIVEN as NOT_GIVEN
    from ._types import NotGiven as NotGiven

from ._exports import PUBLIC as _PUBLIC  # noqa: E402 - after the type checkers' block
from ._exports import lazy_exports as _lazy_exports  # noqa: E402
from ._version import __version__ as __version__  # noqa: E402

__all__ = ("__version__", *sorted(_PUBLIC))

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__, __dir__ = _lazy_exports(globals(), _PUBLIC)
    # Only public names stay in the namespace (what `vars()` and completion show);
    # importing a submodule binds its name here too.
    for _name in ("_PUBLIC", "_lazy_exports", "_exports", "_version", "_name"):
        globals().pop(_name, None)
del TYPE_CHECKING
