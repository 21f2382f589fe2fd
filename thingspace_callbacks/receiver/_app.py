"""The receiver: an ASGI application that verifies, parses, deduplicates and dispatches
callback messages to async handlers.

Delivery is at least once: a message is acknowledged (200) only after its handler
returned, so ThingSpace re-sends it when the handler failed (500), and a re-send of a
handled message is acknowledged without calling the handler again.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import anyio

from .._constants import LOGGER_NAME, RECEIVER_MAX_BODY_SIZE
from ._dedupe import DedupeStore, InMemoryDedupeStore, default_dedupe_key
from ._errors import PayloadTooLargeError, ReceiverError, VerificationError
from ._models import CallbackMessage
from ._parse import parse_message
from ._request import InboundRequest
from ._verify import Verifier

__all__ = ["DeliveryOutcome", "Handler", "Receiver"]

logger = logging.getLogger(f"{LOGGER_NAME}.receiver")

Scope = MutableMapping[str, Any]
ASGIMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[ASGIMessage]]
Send = Callable[[ASGIMessage], Awaitable[None]]

Handler = Callable[[Any], Awaitable[object]]
"""An async callable taking one :class:`CallbackMessage`; returning means handled."""

HandlerT = TypeVar("HandlerT", bound=Callable[..., Awaitable[Any]])

DedupeKey = Callable[[str, Mapping[str, Any]], str]

Status = Literal["accepted", "duplicate", "rejected", "failed", "not_found"]


@dataclass(frozen=True)
class DeliveryOutcome:
    """What the receiver did with one delivery, and the HTTP status it answers with."""

    status_code: int
    """200 handled or duplicate; 400/401/403/413 rejected; 404 no route; 500 failed."""

    status: Status
    """``"accepted"`` (handler succeeded), ``"duplicate"`` (handled before),
    ``"rejected"``, ``"failed"`` (handler raised) or ``"not_found"``."""

    detail: str | None = None
    """Why it was rejected or failed (never a credential)."""

    message: CallbackMessage | None = None
    """The parsed message, when parsing got that far."""

    @property
    def acknowledged(self) -> bool:
        """Whether ThingSpace is told the message arrived (a 2xx answer)."""
        return 200 <= self.status_code < 300


@dataclass(frozen=True)
class _Route:
    path: str
    service: str | None
    handler: Handler
    verifiers: tuple[Verifier, ...]


def _check_async(handler: object) -> None:
    # Checked up front: a sync handler would run and then fail at "await", answering 500
    # for work that was done, so ThingSpace would re-send it.
    target = handler
    while isinstance(target, functools.partial):
        target = target.func
    if not (
        inspect.iscoroutinefunction(target)
        or (callable(target) and inspect.iscoroutinefunction(type(target).__call__))
    ):
        raise TypeError(f"handler {handler!r} must be an async function (async def)")


def _normalise_path(path: str) -> str:
    if not path.startswith("/"):
        path = "/" + path
    return path.rstrip("/") or "/"


class Receiver:
    """An ASGI app that receives ThingSpace callback messages.

    Register one async handler per service; each listens on its own path (``/`` plus
    the service name unless ``path`` says otherwise), as ThingSpace advises one URL per
    service::

        receiver = Receiver(verify=[BodyCredentials("listener", "s3cret")])

        @receiver.on("CarrierService")
        async def carrier(message: ConnectivityMessage) -> None:
            ...

    Serve it with any ASGI server (``uvicorn module:receiver``), mount it in a
    Starlette or FastAPI app, or run ``thingspace-callbacks listen``.

    Args:
        verify: verifiers every message must pass, unless a route has its own. Required,
            so accepting unauthenticated messages is a visible choice (``verify=[]``).
        dedupe: where handled messages are remembered; ``True`` (the default) is an
            :class:`InMemoryDedupeStore`, ``False`` turns deduplication off.
        dedupe_key: computes a message's identity from its route path and decoded
            body; the default ignores ``callbackCount`` and the credentials.
        max_body_size: the largest body read, in bytes; larger ones are answered 413
            without being read in full.
    """

    def __init__(
        self,
        *,
        verify: Sequence[Verifier],
        dedupe: DedupeStore | bool = True,
        dedupe_key: DedupeKey = default_dedupe_key,
        max_body_size: int = RECEIVER_MAX_BODY_SIZE,
    ) -> None:
        if max_body_size < 1:
            raise ValueError("max_body_size must be a positive number of bytes")
        self.verifiers: tuple[Verifier, ...] = tuple(verify)
        self.dedupe_store: DedupeStore | None
        if dedupe is True:
            self.dedupe_store = InMemoryDedupeStore()
        elif dedupe is False:
            self.dedupe_store = None
        else:
            self.dedupe_store = dedupe
        self.dedupe_key = dedupe_key
        self.max_body_size = max_body_size
        self._routes: dict[str, _Route] = {}
        self._fallback: _Route | None = None
        self._inflight: dict[str, anyio.Event] = {}

    # -- registration -------------------------------------------------------------

    def on(
        self,
        service: str,
        *,
        path: str | None = None,
        verify: Sequence[Verifier] | None = None,
    ) -> Callable[[HandlerT], HandlerT]:
        """Decorator: handle messages for ``service`` POSTed to ``path``.

        Args:
            service: the service name, e.g. ``"CarrierService"`` or ``"DeviceLocation"``;
                it selects the message model and becomes ``message.service``.
            path: where ThingSpace POSTs (the path of the URL you registered); default
                ``"/" + service``.
            verify: verifiers for this route instead of the receiver's.
        """

        def register(handler: HandlerT) -> HandlerT:
            self.add_handler(service, handler, path=path, verify=verify)
            return handler

        return register

    def add_handler(
        self,
        service: str,
        handler: Handler,
        *,
        path: str | None = None,
        verify: Sequence[Verifier] | None = None,
    ) -> None:
        """Register ``handler`` for ``service``; see :meth:`on`."""
        if not isinstance(service, str) or not service.strip():
            raise ValueError("service must be a non-empty service name")
        _check_async(handler)
        route_path = _normalise_path(path if path is not None else service)
        if route_path in self._routes:
            raise ValueError(f"path {route_path!r} already has a handler")
        verifiers = self.verifiers if verify is None else tuple(verify)
        self._routes[route_path] = _Route(route_path, service, handler, verifiers)

    def on_any(self, *, verify: Sequence[Verifier] | None = None) -> Callable[[HandlerT], HandlerT]:
        """Decorator: handle messages POSTed to any path that has no handler of its own.

        ``message.service`` is then the last segment of the path (``None`` for ``/``).
        """

        def register(handler: HandlerT) -> HandlerT:
            if self._fallback is not None:
                raise ValueError("the receiver already has an on_any handler")
            _check_async(handler)
            verifiers = self.verifiers if verify is None else tuple(verify)
            self._fallback = _Route("", None, handler, verifiers)
            return handler

        return register

    @property
    def routes(self) -> Mapping[str, str]:
        """Registered paths and the service each handles."""
        return {path: route.service or "" for path, route in self._routes.items()}

    def _match(self, path: str) -> _Route | None:
        path = _normalise_path(path)
        route = self._routes.get(path)
        if route is not None:
            return route
        if self._fallback is None:
            return None
        service = path.rsplit("/", 1)[-1] or None
        fallback = self._fallback
        return _Route(path, service, fallback.handler, fallback.verifiers)

    # -- processing ---------------------------------------------------------------

    async def process(self, request: InboundRequest) -> DeliveryOutcome:
        """Verify, parse, deduplicate and dispatch one delivery, whatever carried it.

        The ASGI app calls this; call it yourself to receive through another framework,
        then answer ThingSpace with ``outcome.status_code``. It never raises for a bad
        message or a failing handler.
        """
        route = self._match(request.path)
        if route is None:
            return DeliveryOutcome(404, "not_found", f"no handler for {request.path}")
        try:
            for verify in route.verifiers:
                verify(request)
            message = parse_message(request.json(), service=route.service)
        except ReceiverError as exc:
            return self._rejected(request, exc)
        except Exception:
            logger.exception("verifying or parsing a callback to %s failed", request.path)
            return DeliveryOutcome(500, "failed", "verification failed unexpectedly")
        key = self._key_of(route, request)
        if key is None:
            return await self._run(route, message)
        return await self._run_once(route, message, key)

    def _rejected(self, request: InboundRequest, error: ReceiverError) -> DeliveryOutcome:
        logger.warning(
            "rejected callback to %s from %s: %s (%s)",
            request.path,
            request.client_host,
            error,
            type(error).__name__,
        )
        detail = "verification failed" if isinstance(error, VerificationError) else str(error)
        return DeliveryOutcome(error.status_code, "rejected", detail)

    def _key_of(self, route: _Route, request: InboundRequest) -> str | None:
        if self.dedupe_store is None:
            return None
        try:
            return self.dedupe_key(route.path, request.json())
        except Exception:
            # Better handled twice than not at all: deliver without deduplication.
            logger.exception("dedupe key failed for a callback to %s", route.path)
            return None

    async def _run_once(self, route: _Route, message: CallbackMessage, key: str) -> DeliveryOutcome:
        store = self.dedupe_store
        assert store is not None
        # A re-send arriving while the first send is still being handled waits for it:
        # acknowledging it now would lose the message if that handler then failed.
        while (running := self._inflight.get(key)) is not None:
            await running.wait()
        done = self._inflight[key] = anyio.Event()
        try:
            try:
                seen = await store.contains(key)
            except Exception:
                logger.exception("dedupe store lookup failed; handling the message anyway")
                seen = False
            if seen:
                logger.info("duplicate callback to %s acknowledged", route.path)
                return DeliveryOutcome(200, "duplicate", message=message)
            outcome = await self._run(route, message)
            if outcome.acknowledged:
                try:
                    await store.add(key)
                except Exception:
                    logger.exception("dedupe store update failed; a re-send will be handled")
            return outcome
        finally:
            del self._inflight[key]
            done.set()

    async def _run(self, route: _Route, message: CallbackMessage) -> DeliveryOutcome:
        try:
            await route.handler(message)
        except Exception:
            logger.exception(
                "handler for %s failed on a %s (answered 500, ThingSpace will re-send)",
                route.service or route.path,
                type(message).__name__,
            )
            return DeliveryOutcome(500, "failed", "handler failed", message)
        return DeliveryOutcome(200, "accepted", message=message)

    # -- ASGI ---------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1000})
            return
        path = _route_path(scope)
        if self._match(path) is None:
            await _respond(send, DeliveryOutcome(404, "not_found", "no handler for this path"))
            return
        if scope["method"] != "POST":
            outcome = DeliveryOutcome(405, "rejected", "callbacks are POSTed")
            await _respond(send, outcome, extra_headers=[(b"allow", b"POST")])
            return
        headers = [
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]
        ]
        client = scope.get("client")
        client_host: str | None = client[0] if client else None
        try:
            body = await self._read_body(headers, receive)
        except PayloadTooLargeError as exc:
            unread = InboundRequest(body=b"", client_host=client_host, path=path)
            await _respond(send, self._rejected(unread, exc))
            return
        if body is None:
            return  # the sender hung up; nobody to answer
        request = InboundRequest(body=body, headers=headers, client_host=client_host, path=path)
        await _respond(send, await self.process(request))

    async def _read_body(self, headers: list[tuple[str, str]], receive: Receive) -> bytes | None:
        limit = self.max_body_size
        too_large = PayloadTooLargeError(f"body is larger than {limit} bytes")
        for name, value in headers:
            declared = value.strip()
            if name.lower() != "content-length" or not (declared.isascii() and declared.isdigit()):
                continue
            if int(declared) > limit:
                raise too_large
        chunks: list[bytes] = []
        size = 0
        while True:
            event = await receive()
            if event["type"] == "http.disconnect":
                return None
            chunk: bytes = event.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
            if not event.get("more_body", False):
                return b"".join(chunks)


def _route_path(scope: Scope) -> str:
    # Mounted (Starlette Mount, uvicorn --root-path), "path" still holds the full path.
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root) :] or "/"
    return path


def _status_body(outcome: DeliveryOutcome) -> bytes:
    body: dict[str, str] = {"status": outcome.status}
    if outcome.detail:
        body["detail"] = outcome.detail
    return json.dumps(body).encode()


async def _respond(
    send: Send,
    outcome: DeliveryOutcome,
    *,
    extra_headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    body = _status_body(outcome)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra_headers,
    ]
    await send({"type": "http.response.start", "status": outcome.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        event = await receive()
        if event["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif event["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
