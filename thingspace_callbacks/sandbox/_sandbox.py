"""``Sandbox``: an embedded fake ThingSpace, in process or on a real socket."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from .. import _families as families
from .._checks import count
from .._client import AsyncThingSpaceClient
from .._constants import SHARED_SECRET_HEADER, SIGNATURE_HEADER
from .._errors import InvalidArgumentError
from ._admin import admin_routes
from ._app import API_ROOT, build_app
from ._body import DEFAULT_MAX_BODY_SIZE
from ._context import SandboxContext
from ._credentials import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_PASSWORD,
    SANDBOX_USERNAME,
    Credentials,
)
from ._delivery import Delivery, NoListenerError, build_message, deliver
from ._faults import IN_PROCESS_EXTENSION, ConnectionDropped, Faults
from ._server import ThreadedServer
from ._state import Family, Registration, Registry, family_name

if TYPE_CHECKING:
    from .._sync import ThingSpaceClient

__all__ = ["IN_PROCESS_BASE_URL", "Sandbox", "SandboxServer"]

IN_PROCESS_BASE_URL = "http://sandbox.thingspace.test" + API_ROOT
"""The API root of clients bound to a sandbox in process (no DNS lookup happens)."""

_CREDENTIAL_ARGS = (
    "auth",
    "client_id",
    "client_secret",
    "username",
    "password",
)


class Sandbox:
    """A fake ThingSpace that keeps its state in memory.

    It serves the 20 callback operations at their real paths under ``/api``, issues and
    expires OAuth tokens and M2M sessions, injects faults on demand and delivers sample
    notifications to the listeners registered with it::

        sandbox = Sandbox()
        async with sandbox.client() as client:          # in process, no socket
            await client.location.register("0000123456-00001", service="Location",
                                            url="https://example.com/hooks/location")

        with sandbox.serve(port=8080) as server:        # a real server on 127.0.0.1
            print(server.base_url)                      # http://127.0.0.1:8080/api

    :param require_auth: Check bearer tokens and sessions on every operation, as
        ThingSpace does. ``False`` lets requests without credentials through.
    :param faults: Faults to inject from the start (see :class:`Faults`).
    :param token_ttl: Lifetime of a bearer token from its first issue, in seconds.
    :param session_idle_timeout: Seconds without use after which a session expires.
    :param session_expired_status: Status of the ``REQUEST_FAILED.SessionToken.Expired``
        answer to an expired session (400 or 401; both have been reported for
        ThingSpace). The Location family ignores it: its documentation states its own
        answer, 400 ``INVALID_PARAMETER`` "UWS verification failure (The Session has
        expired.)".
    :param login_lock_threshold: Failed logins in a row that lock a user (``None``
        never locks).
    :param client_id: The OAuth client id accepted (with ``client_secret``).
    :param username: The M2M username accepted (with ``password``).
    :param shared_secret: A fixed HMAC key for every Location and Diagnostics
        registration; by default each registration gets a new random one.
    :param shared_secret_header: The registration answer header carrying it.
    :param signature_header: The delivered message header carrying the signature.
    :param enforce_m2m_ports: Refuse Connectivity Management listener URLs on ports
        ThingSpace does not allow (off by default, so local listeners work).
    :param delivery_transport: An ``httpx`` transport for delivering notifications
        (e.g. an ``httpx.ASGITransport`` to a listener app in process); by default they
        go over the network.
    :param delivery_timeout: Seconds to wait for a listener's answer.
    :param max_body_size: The largest request body taken, in bytes, on every route
        (1 MiB by default). A bigger one is answered 413 ``REQUEST_TOO_LARGE`` as soon
        as the limit is passed (at once when its ``Content-Length`` says so), and
        what the client still sends is discarded, never held in memory.
    :param clock: Monotonic seconds, for token and session expiry.

    Whatever the limit, JSON bodies nesting arrays and objects deeper than 64 levels
    are answered 400, and so are listener URLs other than absolute ``http(s)`` URLs
    with a host and without whitespace or control characters.
    """

    def __init__(
        self,
        *,
        require_auth: bool = True,
        faults: Faults | None = None,
        token_ttl: float = 3600.0,
        session_idle_timeout: float = 1200.0,
        session_expired_status: int = 400,
        login_lock_threshold: int | None = 5,
        client_id: str = SANDBOX_CLIENT_ID,
        client_secret: str = SANDBOX_CLIENT_SECRET,
        username: str = SANDBOX_USERNAME,
        password: str = SANDBOX_PASSWORD,
        shared_secret: str | None = None,
        shared_secret_header: str = SHARED_SECRET_HEADER,
        signature_header: str = SIGNATURE_HEADER,
        enforce_m2m_ports: bool = False,
        delivery_transport: httpx.AsyncBaseTransport | None = None,
        delivery_timeout: float = 10.0,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if session_expired_status not in (400, 401):
            raise InvalidArgumentError("session_expired_status must be 400 or 401")
        if token_ttl <= 0 or session_idle_timeout <= 0:
            raise InvalidArgumentError("token_ttl and session_idle_timeout must be positive")
        self._client_id = client_id
        self._client_secret = client_secret
        self._username = username
        self._password = password
        self.signature_header = signature_header
        """The header of delivered messages that carries their HMAC signature."""
        self._delivery_transport = delivery_transport
        self._delivery_timeout = delivery_timeout
        self._context = SandboxContext(
            registry=Registry(),
            credentials=Credentials(
                client_id=client_id,
                client_secret=client_secret,
                username=username,
                password=password,
                token_ttl=token_ttl,
                session_idle_timeout=session_idle_timeout,
                session_expired_status=session_expired_status,
                login_lock_threshold=login_lock_threshold,
                clock=clock,
            ),
            require_auth=require_auth,
            shared_secret=shared_secret,
            shared_secret_header=shared_secret_header,
            enforce_m2m_ports=enforce_m2m_ports,
        )
        self.max_body_size = count(max_body_size, "max_body_size")
        """The largest request body taken, in bytes."""
        self._app = build_app(
            self._context, faults, admin_routes(self), max_body_size=self.max_body_size
        )

    def __repr__(self) -> str:
        return f"Sandbox(require_auth={self.require_auth}, faults={self.faults!r})"

    @property
    def app(self) -> ASGIApp:
        """The ASGI application; mount it or serve it with any ASGI server."""
        return self._app

    @property
    def require_auth(self) -> bool:
        """Whether operations need a bearer token and a session."""
        return self._context.require_auth

    @property
    def shared_secret_header(self) -> str:
        """The registration answer header that carries the HMAC key."""
        return self._context.shared_secret_header

    @property
    def faults(self) -> Faults:
        """The faults in force; assign a new :class:`Faults` to change them (the seeded
        sequence restarts), or ``Faults()`` to stop injecting."""
        return self._app.faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        self._app.faults = value

    @property
    def calls(self) -> Counter[str]:
        """How many requests each operation answered, by the operation's name as the
        client calls it, ``"<family>.<verb>"`` (``calls["location.register"]``,
        ``calls["firmware_v3.unregister"]``), or ``"token"``, ``"revoke"``, ``"login"``
        and ``"logout"`` (``calls["token"]``). Requests stopped by injected faults are
        not counted."""
        return self._context.calls

    # State

    def registrations(
        self, family: Family | str | None = None, account: str | None = None
    ) -> list[Registration]:
        """The registered listeners, optionally of one family and account."""
        everything = self._context.registry.all()
        wanted = family_name(family) if family is not None else None
        return [
            r
            for r in everything
            if (wanted is None or r.family == wanted) and (account is None or r.account == account)
        ]

    def drift(
        self,
        family: Family | str,
        accounts: Iterable[str],
        how: Literal["url", "remove", "extra"] = "url",
        *,
        service: str | None = None,
        url: str | None = None,
    ) -> list[Registration]:
        """Change some accounts' listeners behind the clients' back, as someone else
        would, so that a plan sees drift; return the registrations changed, added or
        removed.

        ``how`` is ``"url"`` (point each listener of ``family`` of each account, only
        ``service``'s when given, at ``url``, by default its own URL with
        ``drifted/`` added to the path), ``"remove"`` (remove them) or ``"extra"``
        (register one more listener, of ``service``, at ``url``, by default
        ``https://drift.example.com/extra``; FOTA accounts get one only if they have
        none). Accounts without a matching listener are left as they are.
        """
        wanted = family_name(family)
        registry = self._context.registry
        if how not in ("url", "remove", "extra"):
            raise InvalidArgumentError(f"how must be 'url', 'remove' or 'extra', not {how!r}")
        takes_service = families.family(wanted).takes_service
        if how == "extra" and takes_service and not service:
            raise InvalidArgumentError("an extra listener needs a service")
        changed: list[Registration] = []
        for account in accounts:
            if how == "extra":
                name = service if takes_service else ""
                if registry.get(wanted, account, name or "") is not None:
                    continue
                changed.append(
                    registry.put(
                        Registration(
                            family=wanted,
                            account=account,
                            service=name or "",
                            url=url or "https://drift.example.com/extra",
                            created_on=datetime.now(timezone.utc),
                        )
                    )
                )
                continue
            for registration in registry.listeners(wanted, account):
                if service is not None and registration.service != service:
                    continue
                if how == "remove":
                    registry.remove(wanted, account, registration.service)
                    changed.append(registration)
                else:
                    moved = url or _drifted(registration.url)
                    changed.append(registry.put(replace(registration, url=moved)))
        return changed

    def reset(self) -> None:
        """Forget every registration, token, session, failed login and call count."""
        self._context.registry.clear()
        self._context.credentials.reset()
        self._context.calls.clear()

    def expire_tokens(self) -> None:
        """Make every bearer token issued so far expired (answers turn 401 ``900901``)."""
        self._context.credentials.expire_tokens()

    def expire_sessions(self) -> None:
        """Make every M2M session expired (answers turn ``SessionToken.Expired``)."""
        self._context.credentials.expire_sessions()

    def issue_credentials(self) -> tuple[str, str]:
        """A live bearer token and session token, issued without a request, for
        clients that take fixed tokens."""
        credentials = self._context.credentials
        token = credentials.issue_token(self._client_id).value
        session = credentials.login(self._username, self._password)
        if not isinstance(session, str):
            raise RuntimeError("the sandbox user is locked; call reset()")
        return token, session

    # Clients

    def transport(self) -> httpx.AsyncBaseTransport:
        """An ``httpx`` transport that hands requests to this sandbox in process."""
        return _InProcessTransport(_InProcessApp(self._app))

    def client(self, **kwargs: Any) -> AsyncThingSpaceClient:
        """An :class:`AsyncThingSpaceClient` bound to this sandbox in process.

        It authenticates with the sandbox's credentials unless ``kwargs`` bring their
        own; other ``kwargs`` (``timeout``, ``default_headers``...) go to the client.
        There is no socket to release, but ``async with`` works as usual.
        """
        http_client = httpx.AsyncClient(transport=self.transport())
        return AsyncThingSpaceClient(
            base_url=IN_PROCESS_BASE_URL,
            http_client=http_client,
            **self.client_kwargs(kwargs),
        )

    def sync_client(self, **kwargs: Any) -> ThingSpaceClient:
        """A :class:`ThingSpaceClient` bound to this sandbox in process, as
        :meth:`client` makes an async one; close it (``with``) when done."""
        from .._sync import ThingSpaceClient

        return ThingSpaceClient._over(  # noqa: SLF001 - the package's own
            lambda: httpx.AsyncClient(transport=self.transport()),
            base_url=IN_PROCESS_BASE_URL,
            **self.client_kwargs(kwargs),
        )

    def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
        """This sandbox on a real socket, served from a background thread.

        Use the result as a context manager (it starts on entry and stops on exit), or
        call its ``start()`` and ``stop()``. ``port=0`` picks a free port.
        """
        return SandboxServer(self, host=host, port=port)

    def credential_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`AsyncThingSpaceClient` that authenticate with
        this sandbox."""
        if not self.require_auth:
            return {}
        return {
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "username": self._username,
            "password": self._password,
        }

    def client_kwargs(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """``kwargs`` for an :class:`AsyncThingSpaceClient`, with the sandbox's
        credentials added unless they bring credentials of their own."""
        if any(name in kwargs for name in _CREDENTIAL_ARGS):
            return dict(kwargs)
        return {**self.credential_kwargs(), **kwargs}

    # Delivery

    async def emit(
        self,
        family: Family | str,
        account: str,
        service: str | None = None,
        *,
        message: Mapping[str, Any] | None = None,
        max_attempts: int = 1,
        retry_interval: float = 0.0,
    ) -> list[Delivery]:
        """POST a sample notification to each listener registered for ``account`` in
        ``family`` (only ``service``'s, when given), with the credentials ThingSpace
        puts in it, and return what each listener answered.

        ``message`` is merged over the sample (a ``None`` value removes a field). A
        listener that does not answer 2xx gets the message again, up to
        ``max_attempts`` times, ``retry_interval`` seconds apart; M2M messages count
        the attempts in ``callbackCount``. Raises :class:`NoListenerError` when no
        listener matches.
        """
        if max_attempts < 1:
            raise InvalidArgumentError("max_attempts must be at least 1")
        wanted = family_name(family)
        targets = [
            r
            for r in self._context.registry.listeners(wanted, account)
            if service is None or r.service == service
        ]
        if not targets:
            which = f" service {service!r}" if service is not None else ""
            raise NoListenerError(f"no {wanted} listener registered for account {account!r}{which}")
        transport = (
            _Unclosed(self._delivery_transport) if self._delivery_transport is not None else None
        )
        async with httpx.AsyncClient(
            transport=transport, timeout=self._delivery_timeout, follow_redirects=False
        ) as http_client:
            return [
                await deliver(
                    registration,
                    build_message(registration, message),
                    http_client=http_client,
                    signature_header=self.signature_header,
                    max_attempts=max_attempts,
                    retry_interval=retry_interval,
                )
                for registration in targets
            ]


def _drifted(url: str) -> str:
    """``url`` with ``drifted/`` put before its path: another listener, same host."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/drifted" + (parts.path or "/")))


class SandboxServer(ThreadedServer):
    """A :class:`Sandbox` served by uvicorn on a real socket from a background thread."""

    def __init__(self, sandbox: Sandbox, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(sandbox.app, host=host, port=port)
        self.sandbox = sandbox
        """The sandbox being served."""

    @property
    def base_url(self) -> str:
        """The API root to give clients, e.g. ``http://127.0.0.1:8080/api``."""
        return self.url + API_ROOT

    def client(self, **kwargs: Any) -> AsyncThingSpaceClient:
        """An :class:`AsyncThingSpaceClient` talking to this server over the socket,
        with the sandbox's credentials unless ``kwargs`` bring their own. Close it
        (``async with``) when done."""
        return AsyncThingSpaceClient(base_url=self.base_url, **self.sandbox.client_kwargs(kwargs))

    def sync_client(self, **kwargs: Any) -> ThingSpaceClient:
        """A :class:`ThingSpaceClient` talking to this server over the socket, with the
        sandbox's credentials unless ``kwargs`` bring their own. Close it (``with``)
        when done."""
        from .._sync import ThingSpaceClient

        return ThingSpaceClient(base_url=self.base_url, **self.sandbox.client_kwargs(kwargs))

    def __repr__(self) -> str:
        return f"SandboxServer({self.base_url!r})"


class _InProcessApp:
    """Marks requests as in process, so a dropped connection can be raised, not faked."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        extensions = dict(scope.get("extensions") or {})
        extensions[IN_PROCESS_EXTENSION] = {}
        await self._app({**scope, "extensions": extensions}, receive, send)


class _InProcessTransport(httpx.ASGITransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except ConnectionDropped:
            # What httpx raises when a server closes the connection without answering.
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None


class _Unclosed(httpx.AsyncBaseTransport):
    """A caller's transport, used per delivery without being closed by it."""

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._transport.handle_async_request(request)
