"""The keyword options of a fan-out (:class:`FanOutOptions`) and their checks, made
before anything runs: a bad one raises :class:`InvalidArgumentError`.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterable, Callable, Iterable
from typing import TypedDict

import anyio

from .._checks import count
from .._errors import InvalidArgumentError
from .._exports import publish
from .._ratelimit import Limiter
from ._results import FanOutProgress

__all__ = ["FanOutOptions", "check_inputs", "resolve_concurrency"]


class FanOutOptions(TypedDict, total=False):
    """Options of :meth:`AsyncThingSpaceClient.fan_out`.

    - ``concurrency``: how many calls run at once (default 20), or an
      ``anyio.CapacityLimiter`` shared with other work; its ``total_tokens`` is then
      the number of workers and every call holds one of its tokens.
    - ``rate_limit``: calls started per second, or a :class:`RateLimiter` (or any
      limiter with ``async acquire()``, such as a ``RedisRateLimiter``) shared with
      other fan-outs. ``None`` (default): no limit beyond the client's own.
    - ``fail_fast``: stop at the first failure: take no more accounts, cancel the calls
      in flight (their results carry :class:`FanOutCancelledError`). Default false:
      a failure is one result and the others go on.
    - ``on_progress``: called with a :class:`FanOutProgress` after each result is
      handed out.
    - ``total``: the number of accounts, for progress and ETA, when ``len(accounts)``
      does not work (a generator).
    """

    concurrency: int | anyio.CapacityLimiter
    rate_limit: float | Limiter | None
    fail_fast: bool
    on_progress: Callable[[FanOutProgress], object] | None
    total: int | None


def check_inputs(accounts: object, operation: object, on_progress: object) -> None:
    """Refuse a fan-out's arguments that are not what :class:`FanOut` takes."""
    if isinstance(accounts, (str, bytes)):
        raise InvalidArgumentError(
            "'accounts' must be an iterable of accounts, not a single string"
        )
    if not isinstance(accounts, (Iterable, AsyncIterable)):
        raise InvalidArgumentError(
            f"'accounts' must be an iterable or async iterable, not {type(accounts).__name__}"
        )
    if not callable(operation):
        raise InvalidArgumentError("'operation' must be a callable returning an awaitable")
    if on_progress is not None and not callable(on_progress):
        raise InvalidArgumentError("'on_progress' must be a callable or None")


def resolve_concurrency(concurrency: object) -> tuple[anyio.CapacityLimiter | None, int]:
    """The limiter calls hold (if shared) and how many workers run."""
    if isinstance(concurrency, anyio.CapacityLimiter):
        tokens = concurrency.total_tokens
        if not math.isfinite(tokens):
            raise InvalidArgumentError("'concurrency' limiter must have finite tokens")
        return concurrency, int(tokens)
    if isinstance(concurrency, int) and not isinstance(concurrency, bool):
        return None, count(concurrency, "concurrency", minimum=1)
    raise InvalidArgumentError(
        f"'concurrency' must be an int or an anyio.CapacityLimiter, "
        f"not {type(concurrency).__name__}"
    )


publish(globals())  # exported classes report the package as their module
