"""What the authentication tests share: credentials, a fake clock, respx routes standing
in for ThingSpace, and client builders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import respx

from thingspace_callbacks import (
    AsyncThingSpaceClient,
    Auth,
    RetryPolicy,
    ThingSpaceAuth,
    TokenStore,
)

CLIENT_ID = "app-key-7f3a"
CLIENT_SECRET = "client-secret-Zq81vX"
USERNAME = "uws-user"
PASSWORD = "password-Hk29cD"
ACCOUNT = "0252012345-00001"
LIST_PATH = f"/loc/v1/callbacks/{ACCOUNT}"
TOKEN_PATH = "/ts/v1/oauth2/token"
LOGIN_PATH = "/m2m/v1/session/login"
LOGOUT_PATH = "/m2m/v1/session/logout"
NO_WAIT = RetryPolicy(initial_backoff=0, max_backoff=0)


class FakeClock:
    """Wall-clock seconds that move only when a test says so."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class ThingSpace:
    """respx routes standing in for ThingSpace's token, login, logout and one operation.

    Each token request gets a new token ``access-1``, ``access-2``, ... and each login a
    new session ``session-1``, ...; ``delay`` makes both take that long, so concurrent
    callers really overlap.
    """

    router: respx.MockRouter
    expires_in: int = 3600
    delay: float = 0.0
    token_failures: list[httpx.Response] = field(default_factory=list)
    login_failures: list[httpx.Response] = field(default_factory=list)
    tokens_issued: int = 0
    sessions_issued: int = 0
    token_route: respx.Route = field(init=False)
    login_route: respx.Route = field(init=False)
    logout_route: respx.Route = field(init=False)
    list_route: respx.Route = field(init=False)

    def __post_init__(self) -> None:
        self.token_route = self.router.post(TOKEN_PATH).mock(side_effect=self._token)
        self.login_route = self.router.post(LOGIN_PATH).mock(side_effect=self._login)
        self.logout_route = self.router.post(LOGOUT_PATH).mock(
            return_value=httpx.Response(200, json={"sessionToken": "gone"})
        )
        self.list_route = self.router.get(LIST_PATH).mock(return_value=httpx.Response(200, json=[]))

    async def _token(self, request: httpx.Request) -> httpx.Response:
        if self.delay:
            await anyio.sleep(self.delay)
        if self.token_failures:
            return self.token_failures.pop(0)
        self.tokens_issued += 1
        return httpx.Response(
            200,
            json={
                "access_token": f"access-{self.tokens_issued}",
                "token_type": "Bearer",
                "expires_in": self.expires_in,
                "scope": "discovery:read",
            },
        )

    async def _login(self, request: httpx.Request) -> httpx.Response:
        if self.delay:
            await anyio.sleep(self.delay)
        if self.login_failures:
            return self.login_failures.pop(0)
        self.sessions_issued += 1
        return httpx.Response(200, json={"sessionToken": f"session-{self.sessions_issued}"})

    def operation_answers(self, *answers: httpx.Response) -> None:
        """Answer the operation with these, in order, then 200 ``[]``."""
        queue = list(answers)

        def answer(request: httpx.Request) -> httpx.Response:
            return queue.pop(0) if queue else httpx.Response(200, json=[])

        self.list_route.mock(side_effect=answer)

    def sent(self, route: respx.Route, header: str) -> list[str | None]:
        """The value of ``header`` on each request ``route`` got."""
        return [call.request.headers.get(header) for call in route.calls]


def make_auth(
    clock: Callable[[], float] | None = None,
    *,
    token_store: TokenStore | None = None,
    refresh_margin: float = 60.0,
    logout_on_close: bool = True,
    **kwargs: Any,
) -> ThingSpaceAuth:
    """Client credentials plus a user login, on the given clock."""
    return ThingSpaceAuth(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        username=USERNAME,
        password=PASSWORD,
        refresh_margin=refresh_margin,
        token_store=token_store,
        logout_on_close=logout_on_close,
        clock=clock,
        **kwargs,
    )


def bearer_only(**kwargs: Any) -> ThingSpaceAuth:
    """Client credentials alone: bearer tokens, no session."""
    return ThingSpaceAuth(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **kwargs)


# Building an SSL context takes a good part of a second on a busy machine; the clients of
# these tests share one. Their pools never open a connection (respx answers), so leaving
# them to the garbage collector releases nothing that matters.
_SSL_CONTEXT = httpx.create_ssl_context()


def make_client(auth: Auth, **kwargs: Any) -> AsyncThingSpaceClient:
    """A client without retries, so each test sees exactly the requests it causes."""
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("http_client", httpx.AsyncClient(verify=_SSL_CONTEXT))
    return AsyncThingSpaceClient(auth=auth, **kwargs)
