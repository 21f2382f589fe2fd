"""The receiver: an ASGI application that verifies, parses, deduplicates and dispatches
callback messages to async handlers.

Delivery is at least once: a message is acknowledged (200) only after its handler
returned, so ThingSpace re-sends it when the handler failed (500), and a re-send of a
handled message is acknowledged without calling the handler again. With a
:class:`ClaimingDedupeStore` shared between processes, one process at a time handles a
message: the others answer 409 (busy) or, while the store is unreachable, 503.

Reading a request is bounded here rather than left to the ASGI server, so the bounds
hold under any server: the body must arrive within ``body_timeout`` (else 408) and fit
in ``max_body_size`` (else 413); both answers close the connection. So is handling it:
a handler still running after ``handler_timeout``, or whose sender hung up, is
cancelled and its claim released, so that ThingSpace's re-send runs it again.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import math
import types
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import anyio

from .._constants import LOGGER_NAME, RECEIVER_MAX_BODY_SIZE
from ._dedupe import (
    Claim,
    ClaimingDedupeStore,
    ClaimOutcome,
    DedupeStore,
    InMemoryDedupeStore,
    default_dedupe_key,
)
from ._errors import (
    MessageTypeError,
    PayloadTooLargeError,
    ReceiverError,
    RequestTimeoutError,
    VerificationError,
)
from ._models import CallbackMessage
from ._parse import parse_message
from ._request import InboundRequest
from ._verify import Verifier

__all__ = [
    "DEFAULT_BODY_TIMEOUT",
    "DEFAULT_HANDLER_TIMEOUT",
    "UNAVAILABLE_RETRY_AFTER",
    "DeliveryOutcome",
    "Handler",
    "Receiver",
]

DEFAULT_BODY_TIMEOUT = 10.0
"""Seconds a request's body may take to arrive, from the end of its headers. ThingSpace
messages are a few kilobytes; even a full ``max_body_size`` (1 MiB) arrives in time at
about 100 kB/s."""

DEFAULT_HANDLER_TIMEOUT = 20.0
"""Seconds a delivery may take, handler included, before it is cancelled and answered
503. Verizon documents no time ThingSpace waits for an answer; webhook senders commonly
give up after about 30 s, and an answer that arrives after the sender gave up is lost
(the message is re-sent anyway), so the handler is stopped, and its claim released,
while the answer can still reach the sender."""

UNAVAILABLE_RETRY_AFTER = 30
"""The ``Retry-After`` (seconds) of a 503 answered while a claiming dedupe store cannot
be reached. Verizon does not say whether ThingSpace honours it (it documents re-sends
5 minutes apart); spacing its few attempts out gives a store time to come back."""

_SETTLE_TIMEOUT = 10.0
"""Seconds a claiming store gets to complete or release a claim once the request is
being cancelled (a server shutting down)."""

_STORE_UNREACHABLE = (ConnectionError, TimeoutError)
"""What a store raises when it cannot be reached; it reports such outages itself, so
the receiver logs them without a traceback."""

logger = logging.getLogger(f"{LOGGER_NAME}.receiver")

Scope = MutableMapping[str, Any]
ASGIMessage = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[ASGIMessage]]
Send = Callable[[ASGIMessage], Awaitable[None]]

Handler = Callable[[Any], Awaitable[object]]
"""An async callable taking one :class:`CallbackMessage`; returning means handled."""

HandlerT = TypeVar("HandlerT", bound=Callable[..., Awaitable[Any]])

DedupeKey = Callable[[str, Mapping[str, Any]], str]

Status = Literal[
    "accepted", "duplicate", "busy", "unavailable", "rejected", "failed", "timed_out", "not_found"
]


@dataclass(frozen=True)
class DeliveryOutcome:
    """What the receiver did with one delivery, and the HTTP status it answers with."""

    status_code: int
    """200 handled or duplicate; 400/401/403/408/413/422 rejected; 404 no route;
    405 not a POST; 409 busy; 500 failed; 503 unavailable or timed out."""

    status: Status
    """``"accepted"`` (handler succeeded), ``"duplicate"`` (handled before),
    ``"busy"`` (another process holds the message's claim, or a copy in this process
    outlasted the time limit), ``"unavailable"`` (the dedupe store could not be
    reached, or the server is shutting down), ``"rejected"``, ``"failed"`` (handler raised),
    ``"timed_out"`` (handler cancelled after ``handler_timeout``) or
    ``"not_found"``."""

    detail: str | None = None
    """Why it was rejected or failed (never a credential)."""

    message: CallbackMessage | None = None
    """The parsed message, when parsing got that far."""

    retry_after: int | None = None
    """Seconds after which to send again, answered as ``Retry-After`` (with a 503)."""

    @property
    def acknowledged(self) -> bool:
        """Whether ThingSpace is told the message arrived (a 2xx answer)."""
        return 200 <= self.status_code < 300


Models = tuple[type[CallbackMessage], ...]


@dataclass(frozen=True)
class _Route:
    path: str
    service: str | None
    handler: Handler
    verifiers: tuple[Verifier, ...]
    models: Models | None
    """The message models the handler declared; ``None`` when it takes any message."""


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


_ANY_MESSAGE: tuple[object, ...] = (inspect.Parameter.empty, Any, object, CallbackMessage)
_POSITIONAL = (
    inspect.Parameter.POSITIONAL_ONLY,
    inspect.Parameter.POSITIONAL_OR_KEYWORD,
    inspect.Parameter.VAR_POSITIONAL,
)


def _declared_models(handler: object) -> Models | None:
    # Read once at registration, so a handler whose annotation names no message model
    # fails there instead of answering 500 to every message.
    try:
        signature = inspect.signature(handler, eval_str=True)  # type: ignore[arg-type]
    except ValueError:
        return None  # no signature to read (some builtins): it takes what it gets
    except Exception as exc:
        raise TypeError(
            f"cannot read the message type of handler {handler!r}: {exc} (annotations are "
            "evaluated in the handler's module, so the model must be importable there)"
        ) from None
    positional = [p for p in signature.parameters.values() if p.kind in _POSITIONAL]
    if not positional:
        raise TypeError(f"handler {handler!r} must take the message as a positional argument")
    annotation = positional[0].annotation
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        members = get_args(annotation)
    else:
        members = (annotation,)
    models: list[type[CallbackMessage]] = []
    for member in members:
        if any(member is anything for anything in _ANY_MESSAGE):
            return None
        if member is type(None):
            continue  # "Message | None": nothing is ever delivered as None
        if not (isinstance(member, type) and issubclass(member, CallbackMessage)):
            raise TypeError(
                f"handler {handler!r} declares its message as {annotation!r}; annotate it "
                "with a message model (e.g. ConnectivityMessage), a union of models, or "
                "CallbackMessage to take any message"
            )
        models.append(member)
    if not models:
        raise TypeError(f"handler {handler!r} declares no message model")
    return tuple(models)


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
    a ``TypeError`` at registration.

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

    Args:
        verify: verifiers every message must pass, unless a route has its own. Required,
            so accepting unauthenticated messages is a visible choice (``verify=[]``).
        dedupe: where handled messages are remembered: a :class:`ClaimingDedupeStore`
            or a :class:`DedupeStore`; ``True`` (the default) is an
            :class:`InMemoryDedupeStore`, ``False`` turns deduplication off.
        dedupe_key: computes a message's identity from its route path and decoded
            body; the default ignores ``callbackCount`` and the credentials.
        max_body_size: the largest body read, in bytes (default 1 MiB); larger ones are
            answered 413 without being read in full.
        body_timeout: seconds the whole body may take to arrive (default 10); later
            ones are answered 408. ``None`` removes the limit, leaving it to the server.
        handler_timeout: seconds a delivery may take once its body arrived, handler
            included (default 20); then the handler is cancelled, its claim released,
            and the delivery answered 503. Keep it below a shared store's claim
            lifetime (``RedisDedupeStore(claim_ttl=...)``, 60 s by default). ``None``
            removes the limit.
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
    ) -> None:
        if max_body_size < 1:
            raise ValueError("max_body_size must be a positive number of bytes")
        if body_timeout is not None and not body_timeout > 0:
            raise ValueError("body_timeout must be a positive number of seconds, or None")
        if handler_timeout is not None and not handler_timeout > 0:
            raise ValueError("handler_timeout must be a positive number of seconds, or None")
        self.verifiers: tuple[Verifier, ...] = tuple(verify)
        self.dedupe_store: ClaimingDedupeStore | DedupeStore | None
        if dedupe is True:
            self.dedupe_store = InMemoryDedupeStore()
        elif dedupe is False:
            self.dedupe_store = None
        else:
            self.dedupe_store = dedupe
        self.dedupe_key = dedupe_key
        self.max_body_size = max_body_size
        self.body_timeout = body_timeout
        self.handler_timeout = handler_timeout
        self._routes: dict[str, _Route] = {}
        self._fallback: _Route | None = None
        self._inflight: dict[str, anyio.Event] = {}
        self._unsettled: set[anyio.Event] = set()
        """One event per claim not yet completed or released, and per delivery not yet
        answered; each is set once it is."""

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

        Args:
            service: the service name, e.g. ``"CarrierService"`` or ``"DeviceLocation"``;
                it selects the message model and becomes ``message.service``.
            path: where ThingSpace POSTs (the path of the URL you registered); default
                ``"/" + service``.
            verify: verifiers for this route instead of the receiver's.

        Raises:
            TypeError: the handler is not async, or its annotation names no message
                model.
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
        models = _declared_models(handler)
        route_path = _normalise_path(path if path is not None else service)
        if route_path in self._routes:
            raise ValueError(f"path {route_path!r} already has a handler")
        verifiers = self.verifiers if verify is None else tuple(verify)
        self._routes[route_path] = _Route(route_path, service, handler, verifiers, models)

    def on_any(self, *, verify: Sequence[Verifier] | None = None) -> Callable[[HandlerT], HandlerT]:
        """Decorator: handle messages POSTed to any path that has no handler of its own.

        ``message.service`` is then the last segment of the path (``None`` for ``/``).
        """

        def register(handler: HandlerT) -> HandlerT:
            if self._fallback is not None:
                raise ValueError("the receiver already has an on_any handler")
            _check_async(handler)
            models = _declared_models(handler)
            verifiers = self.verifiers if verify is None else tuple(verify)
            self._fallback = _Route("", None, handler, verifiers, models)
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
        return _Route(path, service, fallback.handler, fallback.verifiers, fallback.models)

    # -- processing ---------------------------------------------------------------

    async def process(self, request: InboundRequest) -> DeliveryOutcome:
        """Verify, parse, deduplicate and dispatch one delivery, whatever carried it.

        The ASGI app calls this; call it yourself to receive through another framework,
        then answer ThingSpace with ``outcome.status_code``. It never raises for a bad
        message or a failing handler, and returns within ``handler_timeout`` (plus the
        time to release a claim). Cancelled (the sender hung up), it releases the claim
        it holds and lets the cancellation through.
        """
        deadline = _deadline(self.handler_timeout)
        route = self._match(request.path)
        if route is None:
            return DeliveryOutcome(404, "not_found", f"no handler for {request.path}")
        try:
            for verify in route.verifiers:
                verify(request)
            message = parse_message(request.json(), service=route.service, model=route.models)
        except ReceiverError as exc:
            return self._rejected(request, exc)
        except Exception:
            logger.exception("verifying or parsing a callback to %s failed", request.path)
            return DeliveryOutcome(500, "failed", "verification failed unexpectedly")
        key = self._key_of(route, request)
        if key is None:
            return await self._run(route, message, deadline)
        return await self._run_once(route, message, key, deadline)

    def _rejected(self, request: InboundRequest, error: ReceiverError) -> DeliveryOutcome:
        # A message refused for its shape is lost once ThingSpace stops re-sending it,
        # so it is an error to look at; the other refusals are the sender's problem.
        logger.log(
            logging.ERROR if isinstance(error, MessageTypeError) else logging.WARNING,
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

    async def _run_once(
        self, route: _Route, message: CallbackMessage, key: str, deadline: float
    ) -> DeliveryOutcome:
        store = self.dedupe_store
        assert store is not None
        # A re-send arriving while the first send is still being handled waits for it:
        # acknowledging it now would lose the message if that handler then failed. The
        # wait counts in its own time limit, so that it too is answered in time.
        with anyio.move_on_after(deadline - anyio.current_time()):
            while (running := self._inflight.get(key)) is not None:
                await running.wait()
        if key in self._inflight:
            logger.warning(
                "a re-send of a callback to %s waited %g s for its first copy; answered 409",
                route.path,
                self.handler_timeout,
            )
            return DeliveryOutcome(409, "busy", "this message is being handled", message)
        done = self._inflight[key] = anyio.Event()
        try:
            if isinstance(store, ClaimingDedupeStore):
                return await self._run_claimed(store, route, message, key, deadline)
            return await self._run_unclaimed(store, route, message, key, deadline)
        finally:
            del self._inflight[key]
            done.set()

    async def _run_unclaimed(
        self, store: DedupeStore, route: _Route, message: CallbackMessage, key: str, deadline: float
    ) -> DeliveryOutcome:
        try:
            seen = await store.contains(key)
        except Exception:
            logger.exception("dedupe store lookup failed; handling the message anyway")
            seen = False
        if seen:
            logger.info("duplicate callback to %s acknowledged", route.path)
            return DeliveryOutcome(200, "duplicate", message=message)
        outcome = await self._run(route, message, deadline)
        if outcome.acknowledged:
            try:
                await store.add(key)
            except Exception:
                logger.exception("dedupe store update failed; a re-send will be handled")
        return outcome

    async def _run_claimed(
        self,
        store: ClaimingDedupeStore,
        route: _Route,
        message: CallbackMessage,
        key: str,
        deadline: float,
    ) -> DeliveryOutcome:
        # Unlike a lookup, a claim that cannot be made is not passed over: handling the
        # message anyway could run it beside the process that holds its claim.
        try:
            claim = await store.claim(key)
        except Exception as exc:
            # Info: nothing is lost (ThingSpace re-sends), and the store warns of outages.
            _log_store_failure(
                f"claiming a callback to {route.path} failed; answered 503",
                exc,
                level=logging.INFO,
            )
            return DeliveryOutcome(
                503,
                "unavailable",
                "deduplication is unavailable; send again later",
                message,
                retry_after=UNAVAILABLE_RETRY_AFTER,
            )
        if not isinstance(claim, Claim):
            return _claim_refused(route, message, claim)
        released = (
            f"releasing the claim on a callback to {route.path}",
            "re-sends are answered 409 until the claim lapses",
        )
        held = anyio.Event()
        self._unsettled.add(held)
        try:
            try:
                outcome = await self._run(route, message, deadline)
            except BaseException:
                # Cancelled: the sender hung up, or the server is shutting down.
                await _settle(store.release, claim, *released)
                raise
            if outcome.acknowledged:
                handled = f"recording a handled callback to {route.path}"
                await _settle(store.complete, claim, handled, "a re-send may be handled again")
            else:
                await _settle(store.release, claim, *released)
            return outcome
        finally:
            self._unsettled.discard(held)
            held.set()

    async def _run(
        self, route: _Route, message: CallbackMessage, deadline: float
    ) -> DeliveryOutcome:
        time_limit = anyio.move_on_after(deadline - anyio.current_time())
        try:
            with time_limit:
                await route.handler(message)
        except Exception:
            logger.exception(
                "handler for %s failed on a %s (answered 500, ThingSpace will re-send)",
                route.service or route.path,
                type(message).__name__,
            )
            return DeliveryOutcome(500, "failed", "handler failed", message)
        if time_limit.cancelled_caught:
            logger.error(
                "handler for %s did not finish within %g s on a %s; cancelled (answered 503, "
                "ThingSpace will re-send)",
                route.service or route.path,
                self.handler_timeout,
                type(message).__name__,
            )
            detail = f"handler did not finish within {self.handler_timeout:g} s"
            return DeliveryOutcome(503, "timed_out", detail, message)
        return DeliveryOutcome(200, "accepted", message=message)

    # -- ASGI ---------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
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
        unread = InboundRequest(body=b"", client_host=client_host, path=path)
        deadline = None if self.body_timeout is None else anyio.current_time() + self.body_timeout
        declared = _content_length(headers)
        try:
            if declared is not None and declared > self.max_body_size:
                raise PayloadTooLargeError(f"body is larger than {self.max_body_size} bytes")
            with anyio.fail_after(self.body_timeout):
                body = await self._read_body(receive)
        except TimeoutError:
            late = RequestTimeoutError(f"body did not arrive within {self.body_timeout:g} s")
            await _respond(send, self._rejected(unread, late), extra_headers=[_CLOSE])
            return
        except PayloadTooLargeError as exc:
            await self._refuse_oversize(
                send, receive, exc, unread, deadline, self._drain_budget(declared, headers)
            )
            return
        if body is None:
            return  # the sender hung up; nobody to answer
        request = InboundRequest(body=body, headers=headers, client_host=client_host, path=path)
        unanswered = anyio.Event()
        self._unsettled.add(unanswered)
        try:
            try:
                answer = await self._process_while_connected(request, receive)
            except anyio.get_cancelled_exc_class():
                # The server is shutting down: the claim is released; ask for a re-send.
                with anyio.CancelScope(shield=True, deadline=anyio.current_time() + 1):
                    await _respond(send, _SHUTTING_DOWN, extra_headers=[_CLOSE])
                raise
            if answer is None:
                logger.warning(
                    "the sender of a callback to %s hung up before it was answered; its "
                    "handler was cancelled (ThingSpace will re-send)",
                    path,
                )
                return
            await _respond(send, answer)
        finally:
            self._unsettled.discard(unanswered)
            unanswered.set()

    async def _process_while_connected(
        self, request: InboundRequest, receive: Receive
    ) -> DeliveryOutcome | None:
        # The body is read, so the next ASGI event is the sender hanging up: without
        # watching for it a stuck handler would outlive its connection, holding the
        # message's claim so that no re-send could run it.
        outcome: DeliveryOutcome | None = None
        async with anyio.create_task_group() as tasks:

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                tasks.cancel_scope.cancel()

            tasks.start_soon(watch)
            outcome = await self.process(request)
            tasks.cancel_scope.cancel()
        return outcome

    async def _read_body(self, receive: Receive) -> bytes | None:
        limit = self.max_body_size
        chunks: list[bytes] = []
        size = 0
        while True:
            event = await receive()
            if event["type"] == "http.disconnect":
                return None
            chunk: bytes = event.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLargeError(f"body is larger than {limit} bytes")
            chunks.append(chunk)
            if not event.get("more_body", False):
                return b"".join(chunks)

    def _drain_budget(self, declared: int | None, headers: Sequence[tuple[str, str]]) -> int:
        # Bodies up to twice the limit are read to their end, so their senders get the
        # 413; a declared size past that would be cut off anyway, and a 100-continue
        # sender whose declared size was refused has not sent the body and will not.
        if declared is None:
            return self.max_body_size  # about as much again as was read before refusing
        if declared > 2 * self.max_body_size or _expects_continue(headers):
            return 0
        return declared

    async def _refuse_oversize(
        self,
        send: Send,
        receive: Receive,
        error: PayloadTooLargeError,
        unread: InboundRequest,
        deadline: float | None,
        budget: int,
    ) -> None:
        # Closing a socket with unread data makes the kernel send a reset, so a sender
        # still writing its body gets a write error instead of reading the 413. So the
        # answer goes out first, the rest of the body is read and dropped (bounded in
        # bytes and time), and only then is the response finished and the socket closed.
        outcome = self._rejected(unread, error)
        await _respond(send, outcome, extra_headers=[_CLOSE], more_body=True)
        if budget > 0:
            remaining = None if deadline is None else max(deadline - anyio.current_time(), 0)
            with anyio.move_on_after(remaining):
                await _discard(receive, budget)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await self._settled()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _settled(self) -> None:
        # A server shutting down cancels the requests still running, then ends the
        # lifespan; the process may exit right after, so the releases of their claims
        # (else a shared store refuses re-sends until the claims lapse) and the answers
        # to their senders must be done by then.
        with anyio.move_on_after(_SETTLE_TIMEOUT) as scope:
            for unsettled in list(self._unsettled):
                await unsettled.wait()
        if scope.cancelled_caught:
            logger.warning(
                "shutting down with %d claim(s) or answer(s) still pending after %g s; "
                "claims lapse on their own",
                len(self._unsettled),
                _SETTLE_TIMEOUT,
            )


def _claim_refused(
    route: _Route, message: CallbackMessage, answer: ClaimOutcome
) -> DeliveryOutcome:
    if answer == "done":
        logger.info("duplicate callback to %s acknowledged", route.path)
        return DeliveryOutcome(200, "duplicate", message=message)
    if answer == "busy":
        logger.info("callback to %s is being handled by another process: answered 409", route.path)
        return DeliveryOutcome(409, "busy", "another process is handling this message", message)
    logger.error("dedupe store answered a claim with %r; answered 503", answer)
    return DeliveryOutcome(
        503, "unavailable", "deduplication failed", message, retry_after=UNAVAILABLE_RETRY_AFTER
    )


async def _settle(
    record: Callable[[Claim], Awaitable[None]], claim: Claim, doing: str, consequence: str
) -> None:
    # Shielded (and bounded instead): a request cancelled now, by a server shutting
    # down, would otherwise leave the claim to lapse on its own, so that a handled
    # message could be handled again, or a failed one waited claim_ttl to be re-sent.
    with anyio.CancelScope(shield=True, deadline=anyio.current_time() + _SETTLE_TIMEOUT) as scope:
        try:
            await record(claim)
        except Exception as exc:
            _log_store_failure(f"{doing} failed; {consequence}", exc)
    if scope.cancelled_caught:
        logger.warning("%s took over %g s; gave up: %s", doing, _SETTLE_TIMEOUT, consequence)


def _log_store_failure(what: str, error: Exception, *, level: int = logging.WARNING) -> None:
    if isinstance(error, _STORE_UNREACHABLE):
        logger.log(level, "%s: the dedupe store is unreachable (%s)", what, type(error).__name__)
    else:
        logger.error("%s", what, exc_info=error)


_CLOSE = (b"connection", b"close")

_SHUTTING_DOWN = DeliveryOutcome(503, "unavailable", "the listener is shutting down; send again")


def _content_length(headers: Sequence[tuple[str, str]]) -> int | None:
    for name, value in headers:
        declared = value.strip()
        if name.lower() == "content-length" and declared.isascii() and declared.isdigit():
            return int(declared)
    return None


def _expects_continue(headers: Sequence[tuple[str, str]]) -> bool:
    return any(
        name.lower() == "expect" and value.strip().lower() == "100-continue"
        for name, value in headers
    )


async def _discard(receive: Receive, budget: int) -> None:
    discarded = 0
    while discarded < budget:
        event = await receive()
        if event["type"] == "http.disconnect":
            return
        discarded += len(event.get("body", b""))
        if not event.get("more_body", False):
            return


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
    more_body: bool = False,
) -> None:
    body = _status_body(outcome)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra_headers,
    ]
    if outcome.retry_after is not None:
        headers.append((b"retry-after", str(outcome.retry_after).encode()))
    await send({"type": "http.response.start", "status": outcome.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": more_body})


def _deadline(timeout: float | None) -> float:
    return math.inf if timeout is None else anyio.current_time() + timeout
