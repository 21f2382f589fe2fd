"""The receiver: an ASGI application that verifies, parses, deduplicates and dispatches
callback messages to async handlers.

:class:`Receiver` holds the routes and the bounds and puts the pieces together: which
handler a delivery goes to (:mod:`._routing`), reading its body within the bounds
(:mod:`._body`), running the handler once per message within its time limit
(:mod:`._claims`), and the answer (:mod:`._outcome`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import anyio

from .._checks import count, optional_seconds
from .._constants import RECEIVER_MAX_BODY_SIZE
from .._errors import InvalidArgumentError
from .._telemetry import instruments_for
from ._body import DEFAULT_BODY_TIMEOUT, content_length, drain_budget, read_body, refuse_oversize
from ._claims import (
    DEFAULT_HANDLER_TIMEOUT,
    Deliveries,
    Delivery,
    deadline,
    run_handler,
    while_connected,
)
from ._dedupe import ClaimingDedupeStore, DedupeStore, MemoryDedupeStore, default_dedupe_key
from ._errors import PayloadTooLargeError, ReceiverError, RequestTimeoutError
from ._outcome import (
    CLOSE,
    SHUTTING_DOWN,
    DeliveryOutcome,
    Receive,
    Scope,
    Send,
    logger,
    rejected,
    respond,
)
from ._parse import parse_message
from ._request import InboundRequest
from ._routing import (
    Handler,
    HandlerT,
    Route,
    check_async,
    declared_models,
    normalise_path,
    route_path,
)
from ._verify import Verifier, checked_verifiers

if TYPE_CHECKING:
    from .._telemetry._otel import Attributes
    from ..telemetry import Telemetry

__all__ = ["Receiver"]

DedupeKey = Callable[[str, Mapping[str, Any]], str]
"""Makes a message's deduplication key from its route path and its decoded JSON body."""


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

    **What a handler receives.** The annotation of the handler's message parameter is
    its contract, read once at registration: a handler annotated
    ``ConnectivityMessage`` is only ever called with a ``ConnectivityMessage``. A
    message that does not parse as the declared model (say ``callbackCount`` is not a
    number) is answered **422** and the handler is not called; the answer names the
    fields at fault (never their values) and is logged as an error. Verizon documents
    no difference between a 4xx and a 5xx: anything but a 2xx is re-sent, a bounded
    number of times (Connectivity Management: 4 attempts in all, then the message is
    archived for 30 days and Verizon support can re-send it by request ID). Each
    re-send is refused the same way without running the handler, so the message ends
    refused instead of failing the handler with an ``AttributeError`` on every attempt.
    To receive it anyway, opt in to the fallback by declaring it:
    ``message: ConnectivityMessage | GenericMessage`` is called with a
    :class:`GenericMessage` holding every field when the body does not fit
    ``ConnectivityMessage``. A union of models is tried with the model the service
    names first and :class:`GenericMessage` last. An unannotated handler, or one
    annotated :class:`CallbackMessage`, takes any message: the most specific model that
    fits, else a :class:`GenericMessage`. An annotation that names no message model is
    an :class:`~thingspace_callbacks.InvalidArgumentError` at registration.

    **Slow and oversized requests.** These bounds are applied by the receiver itself,
    so they hold under any ASGI server:

    * The body must arrive within ``body_timeout`` seconds of the request's headers
      (default 10 s), or the request is answered **408** with ``Connection: close``
      and the handler is not called: a sender trickling its body is cut off.
    * A body larger than ``max_body_size`` (default 1 MiB; declared by
      ``Content-Length`` or counted while it streams) is answered **413** with
      ``Connection: close`` and the handler is not called. The answer is sent at
      once; then, for a body of up to twice ``max_body_size``, the rest of the body is
      read and dropped (within the same ``body_timeout``) before the connection
      closes, so that a sender still sending receives the 413 instead of a
      connection reset. Larger bodies are cut off after that much.

    **Many processes.** Given a :class:`ClaimingDedupeStore` that processes share
    (``RedisDedupeStore`` from ``thingspace_callbacks.redis``), a message is claimed
    before its handler runs, and one process at a time holds the claim; the claim is
    completed when the handler returns and released when it raises. A copy that
    arrives meanwhile at another process is not handled there:

    * the message was handled: **200** ``duplicate``;
    * another process holds its claim: **409** ``busy``. ThingSpace re-sends it; by
      then it was handled (200 ``duplicate``, the handler not run again) or its handler
      failed and released the claim (handled then);
    * the store cannot be reached: **503** ``unavailable`` with ``Retry-After``
      (:data:`UNAVAILABLE_RETRY_AFTER`); the handler is not run, ThingSpace re-sends.

    Within one process, a re-send that arrives while the first copy is being handled
    waits for it instead, whatever the store. A store with only ``contains``/``add``
    (a :class:`DedupeStore`) is asked before and told after; a failing one is passed
    over (the message is handled).

    **Handlers that do not return.** A delivery is answered within ``handler_timeout``
    seconds (default 20): a handler still running then is cancelled, the delivery is
    answered **503** ``timed_out`` and its claim is released, so ThingSpace's re-send
    runs the handler again (a re-send waiting behind it in this process counts its wait
    in its own time limit, and is answered **409** ``busy`` if that runs out first). A
    handler whose sender hung up (ASGI ``http.disconnect``) is cancelled at once and its
    claim released; nobody is answered. A handler is cancelled the asyncio/anyio way:
    it must not swallow the cancellation. A delivery the server cancels (shutting down)
    releases its claim and is answered **503** ``unavailable``; at the ASGI lifespan
    ``shutdown`` event the receiver waits up to 10 s for such claims and answers before
    it reports shutdown complete, as the process may exit right after.

    :param verify: verifiers every message must pass, unless a route has its own. Required,
        so accepting unauthenticated messages is a visible choice (``verify=[]``). Each
        is a callable taking the request (a class is refused: build the verifier).
    :param dedupe: where handled messages are remembered: a :class:`ClaimingDedupeStore`
        or a :class:`DedupeStore`; ``True`` (the default) is an
        :class:`MemoryDedupeStore`, ``False`` turns deduplication off.
    :param dedupe_key: computes a message's identity from its route path and decoded
        body; the default ignores ``callbackCount`` and the credentials.
    :param max_body_size: the largest body read, in bytes (default 1 MiB); larger ones are
        answered 413 without being read in full.
    :param body_timeout: seconds the whole body may take to arrive (default 10); later
        ones are answered 408. ``None`` removes the limit, leaving it to the server.
    :param handler_timeout: seconds a delivery may take once its body arrived, handler
        included (default 20); then the handler is cancelled, its claim released,
        and the delivery answered 503. Keep it below a shared store's claim
        lifetime (``RedisDedupeStore(claim_ttl=...)``, 60 s by default). ``None``
        removes the limit.
    :param telemetry: where a SERVER span per delivery, a span per handler run and the
        receiver's metrics go (see :mod:`thingspace_callbacks.telemetry`); default: the
        global OpenTelemetry providers, when the ``otel`` extra is installed.

    :raises InvalidArgumentError: an option is out of range, or ``verify`` holds
        something other than verifiers (refused here, not at the first message).
    """

    def __init__(
        self,
        *,
        verify: Sequence[Verifier],
        dedupe: ClaimingDedupeStore | DedupeStore | bool = True,
        dedupe_key: DedupeKey = default_dedupe_key,
        max_body_size: int = RECEIVER_MAX_BODY_SIZE,
        body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
        handler_timeout: float | None = DEFAULT_HANDLER_TIMEOUT,
        telemetry: Telemetry | None = None,
    ) -> None:
        count(max_body_size, "max_body_size", minimum=1)
        optional_seconds(body_timeout, "body_timeout", positive=True)
        optional_seconds(handler_timeout, "handler_timeout", positive=True)
        self.verifiers: tuple[Verifier, ...] = checked_verifiers(verify)
        """The checks every message passes, in order."""
        self.dedupe_store: ClaimingDedupeStore | DedupeStore | None
        """Where handled (or claimed) messages are remembered; ``None``: no
        deduplication."""
        if dedupe is True:
            self.dedupe_store = MemoryDedupeStore()
        elif dedupe is False:
            self.dedupe_store = None
        else:
            self.dedupe_store = dedupe
        self.dedupe_key = dedupe_key
        """Makes each message's deduplication key (see ``dedupe_key`` above)."""
        self.max_body_size = max_body_size
        self.body_timeout = body_timeout
        self.handler_timeout = handler_timeout
        self._routes: dict[str, Route] = {}
        self._fallback: Route | None = None
        self._deliveries = Deliveries()
        self._instruments = instruments_for(telemetry)

    # -- registration -------------------------------------------------------------

    def on(
        self,
        service: str,
        *,
        path: str | None = None,
        verify: Sequence[Verifier] | None = None,
    ) -> Callable[[HandlerT], HandlerT]:
        """Decorator: handle messages for ``service`` POSTed to ``path``.

        The handler is called only with the message model its parameter is annotated
        with (see :class:`Receiver`).

        :param service: the service name, e.g. ``"CarrierService"`` or ``"DeviceLocation"``;
            it selects the message model and becomes ``message.service``.
        :param path: where ThingSpace POSTs (the path of the URL you registered); default
            ``"/" + service``.
        :param verify: verifiers for this route instead of the receiver's.

        :raises InvalidArgumentError: the handler is not async, or its annotation names
            no message model, or the path already has a handler.
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
            raise InvalidArgumentError("service must be a non-empty service name")
        check_async(handler)
        models = declared_models(handler)
        route_path = normalise_path(path if path is not None else service)
        if route_path in self._routes:
            raise InvalidArgumentError(f"path {route_path!r} already has a handler")
        verifiers = self.verifiers if verify is None else checked_verifiers(verify)
        self._routes[route_path] = Route(route_path, service, handler, verifiers, models)

    def on_any(self, *, verify: Sequence[Verifier] | None = None) -> Callable[[HandlerT], HandlerT]:
        """Decorator: handle messages POSTed to any path that has no handler of its own.

        ``message.service`` is then the last segment of the path (``None`` for ``/``).
        """

        def register(handler: HandlerT) -> HandlerT:
            if self._fallback is not None:
                raise InvalidArgumentError("the receiver already has an on_any handler")
            check_async(handler)
            models = declared_models(handler)
            verifiers = self.verifiers if verify is None else checked_verifiers(verify)
            self._fallback = Route("", None, handler, verifiers, models)
            return handler

        return register

    @property
    def routes(self) -> Mapping[str, str]:
        """Registered paths and the service each handles."""
        return {path: route.service or "" for path, route in self._routes.items()}

    def _match(self, path: str) -> Route | None:
        path = normalise_path(path)
        route = self._routes.get(path)
        if route is not None:
            return route
        if self._fallback is None:
            return None
        service = path.rsplit("/", 1)[-1] or None
        fallback = self._fallback
        return Route(path, service, fallback.handler, fallback.verifiers, fallback.models)

    # -- processing ---------------------------------------------------------------

    async def process(self, request: InboundRequest) -> DeliveryOutcome:
        """Verify, parse, deduplicate and dispatch one delivery, whatever carried it.

        The ASGI app calls this; call it yourself to receive through another framework,
        then answer ThingSpace with ``outcome.status_code``. It never raises for a bad
        message or a failing handler, and returns within ``handler_timeout`` (plus the
        time to release a claim). Cancelled (the sender hung up), it releases the claim
        it holds and lets the cancellation through.
        """
        answer_by = deadline(self.handler_timeout)
        route = self._match(request.path)
        if route is None:
            return DeliveryOutcome(404, "not_found", f"no handler for {request.path}")
        try:
            for verify in route.verifiers:
                verify(request)
            message = parse_message(request.json(), service=route.service, model=route.models)
        except ReceiverError as exc:
            return rejected(request, exc)
        except Exception:
            logger.exception("verifying or parsing a callback to %s failed", request.path)
            return DeliveryOutcome(500, "failed", "verification failed unexpectedly")
        instruments = self._instruments
        traced = instruments if instruments is not None and instruments.active() else None
        delivery = Delivery(route, message, answer_by, self.handler_timeout, traced)
        key = self._key_of(route, request)
        if key is None or self.dedupe_store is None:
            return await run_handler(delivery)
        return await self._deliveries.run_once(self.dedupe_store, key, delivery)

    def _key_of(self, route: Route, request: InboundRequest) -> str | None:
        if self.dedupe_store is None:
            return None
        try:
            return self.dedupe_key(route.path, request.json())
        except Exception:
            # Better handled twice than not at all: deliver without deduplication.
            logger.exception("dedupe key failed for a callback to %s", route.path)
            return None

    # -- ASGI ---------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1000})
            return
        instruments = self._instruments
        if instruments is not None and instruments.active():
            # Only a registered route names the span: any other path is the sender's
            # choice (unbounded, and a webhook path may be meant to stay private).
            route = self._routes.get(normalise_path(route_path(scope)))
            await instruments.delivery(
                scope["method"],
                None if route is None else route.path,
                self._answer_traced(scope, receive, send),
            )
            return
        await self._answer(scope, receive, send)

    async def _answer_traced(
        self, scope: Scope, receive: Receive, send: Send
    ) -> tuple[int, str, Attributes] | None:
        outcome = await self._answer(scope, receive, send)
        if outcome is None:
            return None
        attributes: Attributes = {}
        message = outcome.message
        if message is not None:
            attributes["thingspace.message.type"] = type(message).__name__
            if message.service:
                attributes["thingspace.service"] = message.service
            family = getattr(type(message), "family", None)
            if isinstance(family, str):
                attributes["thingspace.family"] = family
        if outcome.status == "rejected" and outcome.detail:
            attributes["thingspace.rejection"] = outcome.detail
        return outcome.status_code, outcome.status, attributes

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> DeliveryOutcome | None:
        """Answer one HTTP request; return the outcome answered, or ``None`` when the
        sender hung up first."""
        path = route_path(scope)
        if self._match(path) is None:
            outcome = DeliveryOutcome(404, "not_found", "no handler for this path")
            await respond(send, outcome)
            return outcome
        if scope["method"] != "POST":
            outcome = DeliveryOutcome(405, "rejected", "callbacks are POSTed")
            await respond(send, outcome, extra_headers=[(b"allow", b"POST")])
            return outcome
        headers = [
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]
        ]
        client = scope.get("client")
        client_host: str | None = client[0] if client else None
        unread = InboundRequest(body=b"", client_host=client_host, path=path)
        body_by = None if self.body_timeout is None else anyio.current_time() + self.body_timeout
        declared = content_length(headers)
        try:
            body = await read_body(receive, declared, self.max_body_size, self.body_timeout)
        except TimeoutError:
            late = RequestTimeoutError(f"body did not arrive within {self.body_timeout:g} s")
            outcome = rejected(unread, late)
            await respond(send, outcome, extra_headers=[CLOSE])
            return outcome
        except PayloadTooLargeError as exc:
            budget = drain_budget(self.max_body_size, declared, headers)
            outcome = rejected(unread, exc)
            await refuse_oversize(send, receive, outcome, body_by, budget)
            return outcome
        if body is None:
            return None  # the sender hung up; nobody to answer
        request = InboundRequest(body=body, headers=headers, client_host=client_host, path=path)
        with self._deliveries.unsettled():
            try:
                answer = await while_connected(functools.partial(self.process, request), receive)
            except anyio.get_cancelled_exc_class():
                # The server is shutting down: the claim is released; ask for a re-send.
                with anyio.CancelScope(shield=True, deadline=anyio.current_time() + 1):
                    await respond(send, SHUTTING_DOWN, extra_headers=[CLOSE])
                raise
            if answer is None:
                logger.warning(
                    "the sender of a callback to %s hung up before it was answered; its "
                    "handler was cancelled (ThingSpace will re-send)",
                    path,
                )
                return None
            await respond(send, answer)
            return answer

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await self._deliveries.settled()
                await send({"type": "lifespan.shutdown.complete"})
                return
