"""The options of a call: declared once, checked once, resolved once.

:class:`RequestOptions` declares what every operation (and ``with_options``) takes;
:class:`ResolvedOptions` is what the pipeline sends a call with. The client resolves its
defaults into a :class:`ResolvedOptions` when it is built (``with_options`` builds a new
client, so a copy's defaults are resolved the same way); a call that passes options
merges them onto the client's with :meth:`ResolvedOptions.merge`. Each option is checked
by one function here, whichever of the three gave it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypedDict

import httpx

from ._checks import count, optional_seconds
from ._exports import publish
from ._retry import DEFAULT_RETRY_POLICY, RetryPolicy
from ._send import attempt_time_limit
from ._types import TimeoutTypes

__all__ = [
    "RequestOptions",
    "ResolvedOptions",
    "as_timeout",
    "check_deadline",
    "check_max_response_size",
    "check_max_retries",
]


class RequestOptions(TypedDict, total=False):
    """Options accepted by every operation, overriding the client's defaults for one call.

    - ``timeout``: seconds or an ``httpx.Timeout`` for each attempt; ``None`` disables it.
      Each phase (connect, read, write, pool) has its limit, and the whole attempt, up
      to the last byte of the answer, takes at most the longest of them.
    - ``extra_headers``: headers added to the request (they win over the SDK's own,
      except the authentication headers).
    - ``max_retries``: how many times a failure worth retrying is retried; ``0`` turns
      retries off for this call.
    - ``deadline``: seconds the whole call may take, every attempt and wait included;
      past it, :class:`APITimeoutError`. ``None`` removes the client's deadline.
    - ``max_response_size``: the largest answer read, in bytes (default 4 MiB); past
      it, :class:`ResponseTooLargeError`. ``None`` removes the limit.
    """

    timeout: TimeoutTypes
    extra_headers: Mapping[str, str]
    max_retries: int
    deadline: float | None
    max_response_size: int | None


_NAMES = frozenset(RequestOptions.__annotations__)

_NO_HEADERS: Mapping[str, str] = {}


@dataclass(frozen=True, slots=True)
class ResolvedOptions:
    """Checked, canonical options of a client or of one call, and what follows from
    them, worked out once rather than on every request or attempt.

    Build it with :meth:`resolve`, which checks every value; the constructor trusts
    its arguments.
    """

    timeout: httpx.Timeout
    """Timeout of each attempt."""
    max_retries: int
    """How many times a failure worth retrying is retried."""
    retry_policy: RetryPolicy
    """How retries wait and when they give up."""
    deadline: float | None
    """Seconds the whole call may take, every attempt and wait included, or ``None``."""
    max_response_size: int | None
    """The largest answer read, in bytes, or ``None`` for no limit."""
    headers: Mapping[str, str]
    """Headers of every request that the HTTP client does not already send."""
    extra_headers: Mapping[str, str]
    """A call's ``extra_headers``: added last, over the operation's own headers."""
    timeout_extension: dict[str, float | None] = field(init=False, repr=False, compare=False)
    """``timeout`` as httpx stores it in a request's extensions."""
    time_limit: float | None = field(init=False, repr=False, compare=False)
    """Seconds one attempt may take in all, up to the last byte of the answer."""
    budget: float | None = field(init=False, repr=False, compare=False)
    """Seconds after which no retry starts: the policy's budget or the deadline,
    whichever is shorter."""

    def __post_init__(self) -> None:
        extension = self.timeout.as_dict()
        budget = self.retry_policy.budget
        if self.deadline is not None and (budget is None or self.deadline < budget):
            budget = self.deadline
        object.__setattr__(self, "timeout_extension", extension)
        object.__setattr__(self, "time_limit", attempt_time_limit(extension))
        object.__setattr__(self, "budget", budget)

    @classmethod
    def resolve(
        cls,
        *,
        timeout: TimeoutTypes,
        max_retries: int,
        retry_policy: RetryPolicy | None,
        deadline: float | None,
        max_response_size: int | None,
        headers: Mapping[str, str],
        extra_headers: Mapping[str, str] | None = None,
    ) -> ResolvedOptions:
        """Check every value (a bad one raises :class:`InvalidArgumentError` naming
        it) and put it in its canonical form."""
        return cls(
            timeout=as_timeout(timeout),
            max_retries=check_max_retries(max_retries),
            retry_policy=DEFAULT_RETRY_POLICY if retry_policy is None else retry_policy,
            deadline=check_deadline(deadline),
            max_response_size=check_max_response_size(max_response_size),
            headers=dict(headers),
            extra_headers=dict(extra_headers) if extra_headers else _NO_HEADERS,
        )

    def merge(self, options: RequestOptions, operation: str) -> ResolvedOptions:
        """These options with those passed to ``operation`` (a call, or
        ``with_options``) in their place; ``extra_headers`` add to those already given.
        An unknown name raises ``TypeError``, as an unknown keyword argument does."""
        if not options:
            return self
        if not _NAMES.issuperset(options):
            raise _unknown_option(operation, options)
        extra = options.get("extra_headers")
        return ResolvedOptions.resolve(
            timeout=options.get("timeout", self.timeout),
            max_retries=options.get("max_retries", self.max_retries),
            retry_policy=self.retry_policy,
            deadline=options.get("deadline", self.deadline),
            max_response_size=options.get("max_response_size", self.max_response_size),
            headers=self.headers,
            extra_headers={**self.extra_headers, **extra} if extra else self.extra_headers,
        )


def as_timeout(value: TimeoutTypes) -> httpx.Timeout:
    """Check a ``timeout`` argument and give it as an ``httpx.Timeout``: seconds above
    0, or ``None`` for no timeout at all (as for httpx), or an ``httpx.Timeout`` whose
    every phase is one of those."""
    if not isinstance(value, httpx.Timeout):
        return httpx.Timeout(optional_seconds(value, "timeout", positive=True))
    # httpx checks none of its phases: a negative one would time every attempt out.
    for phase, limit in value.as_dict().items():
        optional_seconds(limit, f"timeout.{phase}", positive=True)
    return value


def check_max_retries(value: object) -> int:
    """Check a ``max_retries`` argument: a whole number, 0 or more."""
    return count(value, "max_retries")


def check_deadline(value: object) -> float | None:
    """Check a ``deadline`` argument: seconds above 0, or ``None`` for no deadline."""
    return optional_seconds(value, "deadline", positive=True)


def check_max_response_size(value: object) -> int | None:
    """Check a ``max_response_size``: bytes (at least 1), or ``None`` for no limit."""
    return None if value is None else count(value, "max_response_size", minimum=1)


def _unknown_option(operation: str, options: Mapping[str, object]) -> TypeError:
    name = sorted(set(options) - _NAMES)[0]
    close = difflib.get_close_matches(name, _NAMES, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f" (options: {', '.join(sorted(_NAMES))})"
    return TypeError(f"{operation}() got an unexpected keyword argument {name!r}{hint}")


publish(globals())  # exported classes report the package as their module
