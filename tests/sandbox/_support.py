"""Helpers for the sandbox tests: a fake clock, a recording listener, credentials."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


class FakeClock:
    """Monotonic seconds that move only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Received:
    path: str
    headers: httpx.Headers
    body: bytes


@dataclass
class Listener:
    """An ASGI app that records what it receives and answers the planned statuses."""

    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    """Statuses to answer, in order; 200 once they run out."""

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.received.append(
                Received(request.url.path, httpx.Headers(request.headers), await request.body())
            )
            status = self.statuses.pop(0) if self.statuses else 200
            return JSONResponse({"ok": status < 300}, status_code=status)

        return Starlette(routes=[Route("/{path:path}", hook, methods=["POST"])])


async def credentials(http: httpx.AsyncClient) -> dict[str, str]:
    """Headers with a fresh bearer token and session, fetched over HTTP."""
    token = await http.post(
        "ts/v1/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=("sandbox-client-id", "sandbox-client-secret"),
    )
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    login = await http.post(
        "m2m/v1/session/login",
        json={"username": "sandbox-user", "password": "sandbox-password"},
        headers=bearer,
    )
    return {**bearer, "VZ-M2M-Token": login.json()["sessionToken"]}
