"""Fault injection: latency, error answers, 429 with ``Retry-After``, dropped connections.

Every request draws from one ``random.Random`` seeded by :attr:`Faults.seed`, so a given
sequence of requests meets the same faults on every run.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import anyio
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from starlette.types import ASGIApp, Receive, Scope, Send

from .._checks import count, seconds
from .._errors import InvalidArgumentError
from .._validation_errors import describe_problems, location

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

__all__ = [
    "IN_PROCESS_EXTENSION",
    "ConnectionDropped",
    "FaultInjector",
    "Faults",
    "describe_invalid",
]

IN_PROCESS_EXTENSION = "thingspace_callbacks.sandbox.in_process"
"""ASGI scope extension set by the sandbox's in-process transport."""

Outcome = Literal["pass", "drop", "rate_limit", "error"]

_RATES = ("error_rate", "rate_limit_rate", "drop_rate")


class ConnectionDropped(Exception):  # noqa: N818 - it names an event, like httpx's
    """Raised inside the in-process transport to stand for a dropped connection."""


class _FaultSettings(BaseModel):
    """The constructor of :class:`Faults`: invalid keyword arguments are refused like
    any other setting, with :class:`InvalidArgumentError` in one line, rather than
    pydantic's ``ValidationError``.

    It is declared here rather than on :class:`Faults`, so that pydantic's mypy plugin
    and the docs still give ``Faults`` its fields' signature. ``model_validate`` does not
    come through it.
    """

    def __init__(self, /, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise InvalidArgumentError(describe_invalid(exc)) from None


class Faults(_FaultSettings):
    """What goes wrong, and how often. The default injects nothing.

    Each request waits ``latency`` first, then meets at most one of: a dropped
    connection (``drop_rate``), a 429 answer (``rate_limit_rate``), an error answer with
    ``error_status`` (``error_rate``). The three rates are fractions of requests and
    must add up to at most 1.

    Invalid settings raise :class:`~thingspace_callbacks.InvalidArgumentError` (a
    ``ValueError``) naming every problem in one line, like every other bad setting.

    It is a frozen pydantic model: ``Faults.model_validate(data)`` builds one from the
    JSON of ``PUT /sandbox/faults`` (``latency`` may be a number or a ``[low, high]``
    list; unknown fields are refused) and ``model_dump(mode="json")`` gives it back.
    Being pydantic's own constructor, ``model_validate`` raises
    ``pydantic.ValidationError`` (also a ``ValueError``) for invalid data, as for any
    model; the admin route answers it 400 with the same one line.

    :param latency: Seconds to wait before answering, or a ``(low, high)`` range drawn
        uniformly per request.
    :param error_rate: Fraction of requests answered with ``error_status``.
    :param error_status: The status of those answers (400-599), 503 by default.
    :param rate_limit_rate: Fraction of requests answered 429.
    :param retry_after: The ``Retry-After`` header of a 429, in whole seconds; ``None``
        sends none.
    :param drop_rate: Fraction of requests whose connection is dropped without a
        complete answer (the client sees a connection error).
    :param seed: Seed of the random draws; ``None`` draws differently on every run.
    :param include_auth: Also inject into the token, login and logout endpoints (by
        default only the 20 callback operations meet faults).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency: float | tuple[float, float] = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    rate_limit_rate: float = 0.0
    retry_after: int | None = 1
    drop_rate: float = 0.0
    seed: int | None = Field(default=None, strict=True)
    include_auth: bool = Field(default=False, strict=True)

    @field_validator("latency", mode="before")
    @classmethod
    def _check_latency(cls, value: object) -> float | tuple[float, float]:
        if not isinstance(value, (list, tuple)):
            return seconds(value, "latency")
        if len(value) != 2:
            raise ValueError(f"'latency' range must be [low, high], got {value!r}")
        low, high = (seconds(bound, "latency") for bound in value)
        if high < low:
            raise ValueError(f"'latency' range must have low <= high, got {[low, high]}")
        return low, high

    @field_validator(*_RATES, mode="before")
    @classmethod
    def _check_rate(cls, value: object, info: ValidationInfo) -> float:
        # Written out rather than as ge/le constraints, which let booleans in.
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
            return float(value)
        raise ValueError(f"{info.field_name!r} must be a number between 0 and 1, got {value!r}")

    @field_validator("error_status", mode="before")
    @classmethod
    def _check_status(cls, value: object) -> int:
        status = count(value, "error_status")
        if not 400 <= status <= 599:
            raise ValueError(f"'error_status' must be a 4xx or 5xx status, got {status}")
        return status

    @field_validator("retry_after", mode="before")
    @classmethod
    def _check_retry_after(cls, value: object) -> int | None:
        return None if value is None else count(value, "retry_after")

    @model_validator(mode="after")
    def _check_total(self) -> Faults:
        if self.error_rate + self.rate_limit_rate + self.drop_rate > 1.0 + 1e-9:
            raise ValueError("error_rate + rate_limit_rate + drop_rate must not exceed 1")
        return self

    @property
    def latency_range(self) -> tuple[float, float]:
        """``(low, high)`` seconds; equal bounds for a fixed latency."""
        if isinstance(self.latency, tuple):
            return self.latency
        return self.latency, self.latency

    @property
    def active(self) -> bool:
        """Whether anything is injected at all."""
        return self.latency_range[1] > 0 or (
            self.error_rate + self.rate_limit_rate + self.drop_rate > 0
        )


def describe_invalid(exc: ValidationError) -> str:
    """One line naming every problem of a refused setting: the message of the
    :class:`InvalidArgumentError` that ``Faults(...)`` raises, and of the admin route's
    400 answer."""
    unknown = [str(e["loc"][0]) for e in exc.errors() if e["type"] == "extra_forbidden"]
    problems = describe_problems(exc, line=_setting_problem)
    if not unknown:
        return problems
    listed = f"unknown fault settings: {', '.join(unknown)}"
    return f"{listed}; {problems}" if problems else listed


def _setting_problem(error: ErrorDetails) -> str | None:
    if error["type"] == "extra_forbidden":
        return None  # listed together, first
    cause = error.get("ctx", {}).get("error")
    # The validators' own messages name the field; pydantic's need the location.
    return str(cause) if cause is not None else f"{location(error['loc'])}: {error['msg']}"


@dataclass
class _Draws:
    faults: Faults
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.faults.seed)  # noqa: S311 - simulation, not security


class FaultInjector:
    """ASGI middleware that applies the current :class:`Faults` to API requests.

    Paths under ``/sandbox`` (the admin routes) never meet faults.
    """

    def __init__(self, app: ASGIApp, faults: Faults | None = None) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._draws = _Draws(faults or Faults())

    @property
    def faults(self) -> Faults:
        """The faults in force."""
        return self._draws.faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        # A new setting restarts the seeded sequence, so runs are reproducible.
        with self._lock:
            self._draws = _Draws(value)

    def draw(self) -> tuple[float, Outcome]:
        """The next request's latency and outcome."""
        with self._lock:
            draws = self._draws
            faults = draws.faults
            low, high = faults.latency_range
            latency = low if low == high else draws.rng.uniform(low, high)
            if faults.error_rate + faults.rate_limit_rate + faults.drop_rate == 0:
                return latency, "pass"
            roll = draws.rng.random()
        if roll < faults.drop_rate:
            return latency, "drop"
        if roll < faults.drop_rate + faults.rate_limit_rate:
            return latency, "rate_limit"
        if roll < faults.drop_rate + faults.rate_limit_rate + faults.error_rate:
            return latency, "error"
        return latency, "pass"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        faults = self._draws.faults
        if scope["type"] != "http" or not faults.active or not _faultable(scope, faults):
            await self.app(scope, receive, send)
            return
        latency, outcome = self.draw()
        if latency > 0:
            await anyio.sleep(latency)
        if outcome == "pass":
            await self.app(scope, receive, send)
        elif outcome == "drop":
            await _drop(scope, send)
        elif outcome == "rate_limit":
            headers: dict[str, str] = {}
            if faults.retry_after is not None:
                headers["retry-after"] = str(faults.retry_after)
            body: dict[str, object] = {
                "fault": {
                    "code": "900800",
                    "message": "Message throttled out",
                    "description": "You have exceeded your quota (injected by the sandbox)",
                }
            }
            await _answer(send, 429, body, headers)
        else:
            body = {
                "errorCode": "SANDBOX_INJECTED_FAULT",
                "errorMessage": f"Fault injected by the sandbox (status {faults.error_status})",
            }
            await _answer(send, faults.error_status, body, {})


def _faultable(scope: Scope, faults: Faults) -> bool:
    path: str = scope.get("path", "")
    if path.startswith("/sandbox"):
        return False
    is_auth = (
        path.endswith(("/ts/v1/oauth2/token", "/ts/v1/oauth2/revoke")) or "/m2m/v1/session/" in path
    )
    return faults.include_auth or not is_auth


async def _drop(scope: Scope, send: Send) -> None:
    if IN_PROCESS_EXTENSION in (scope.get("extensions") or {}):
        raise ConnectionDropped
    # Over a socket: announce a body, send none, and return. The server closes the
    # connection mid-answer, which the client sees as a broken connection (an ASGI app
    # cannot close a socket without answering at all).
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
        }
    )
    await send({"type": "http.response.body", "body": b"{", "more_body": True})


async def _answer(send: Send, status: int, body: object, headers: Mapping[str, str]) -> None:
    content = json.dumps(body).encode()
    raw = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(content)).encode()),
        *((name.encode(), value.encode()) for name, value in headers.items()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": content})
