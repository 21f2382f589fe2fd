"""Fault injection: latency, error answers, 429 with ``Retry-After``, dropped connections.

Every request draws from one ``random.Random`` seeded by :attr:`Faults.seed`, so a given
sequence of requests meets the same faults on every run.
"""

from __future__ import annotations

import json
import math
import random
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["IN_PROCESS_EXTENSION", "ConnectionDropped", "FaultInjector", "Faults"]

IN_PROCESS_EXTENSION = "thingspace_callbacks.sandbox.in_process"
"""ASGI scope extension set by the sandbox's in-process transport."""

Outcome = Literal["pass", "drop", "rate_limit", "error"]


class ConnectionDropped(Exception):  # noqa: N818 - it names an event, like httpx's
    """Raised inside the in-process transport to stand for a dropped connection."""


@dataclass(frozen=True)
class Faults:
    """What goes wrong, and how often. The default injects nothing.

    Each request waits ``latency`` first, then meets at most one of: a dropped
    connection (``drop_rate``), a 429 answer (``rate_limit_rate``), an error answer with
    ``error_status`` (``error_rate``). The three rates are fractions of requests and
    must add up to at most 1.

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

    latency: float | tuple[float, float] = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    rate_limit_rate: float = 0.0
    retry_after: int | None = 1
    drop_rate: float = 0.0
    seed: int | None = None
    include_auth: bool = False

    def __post_init__(self) -> None:
        low, high = self.latency_range
        if not (math.isfinite(low) and math.isfinite(high)) or low < 0 or high < low:
            raise ValueError(f"latency must be >= 0 (or a low <= high range), got {self.latency}")
        for name in ("error_rate", "rate_limit_rate", "drop_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value}")
        if self.error_rate + self.rate_limit_rate + self.drop_rate > 1.0 + 1e-9:
            raise ValueError("error_rate + rate_limit_rate + drop_rate must not exceed 1")
        if not 400 <= self.error_status <= 599:
            raise ValueError(f"error_status must be a 4xx or 5xx status, got {self.error_status}")
        if self.retry_after is not None and (
            isinstance(self.retry_after, bool)
            or not isinstance(self.retry_after, int)
            or self.retry_after < 0
        ):
            raise ValueError(f"retry_after must be whole seconds >= 0, got {self.retry_after!r}")

    @property
    def latency_range(self) -> tuple[float, float]:
        """``(low, high)`` seconds; equal bounds for a fixed latency."""
        if isinstance(self.latency, tuple):
            low, high = self.latency
            return float(low), float(high)
        return float(self.latency), float(self.latency)

    @property
    def active(self) -> bool:
        """Whether anything is injected at all."""
        return self.latency_range[1] > 0 or (
            self.error_rate + self.rate_limit_rate + self.drop_rate > 0
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (the admin route's answer)."""
        data = asdict(self)
        if isinstance(self.latency, tuple):
            data["latency"] = list(self.latency)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Faults:
        """Build from JSON (``latency`` may be a number or a ``[low, high]`` list);
        raises ``ValueError`` on unknown or invalid fields."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(unknown)}")
        values = dict(data)
        latency = values.get("latency")
        if isinstance(latency, list):
            if len(latency) != 2:
                raise ValueError("latency range must be [low, high]")
            values["latency"] = (float(latency[0]), float(latency[1]))
        try:
            return cls(**values)
        except TypeError as exc:
            raise ValueError(str(exc)) from None


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
