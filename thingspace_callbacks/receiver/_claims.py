"""Running a handler once per message: the dedupe and claim flow, the handler's time
limit, and the watch for a sender hanging up.

Delivery is at least once: a message is acknowledged (200) only after its handler
returned, so ThingSpace re-sends it when the handler failed (500), and a re-send of a
handled message is acknowledged without calling the handler again. Within one process a
re-send waits for the copy being handled (:class:`Deliveries`); with a
:class:`ClaimingDedupeStore` shared between processes, one process at a time handles a
message: the others answer 409 (busy) or, while the store is unreachable, 503. A
handler still running after ``handler_timeout``, or whose sender hung up, is cancelled
and its claim released, so that ThingSpace's re-send runs it again.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from ._dedupe import Claim, ClaimingDedupeStore, ClaimOutcome, DedupeStore
from ._models import CallbackMessage
from ._outcome import DeliveryOutcome, Receive, logger
from ._routing import Route

if TYPE_CHECKING:
    from .._telemetry._otel import Instruments

__all__ = [
    "DEFAULT_HANDLER_TIMEOUT",
    "UNAVAILABLE_RETRY_AFTER",
    "Deliveries",
    "Delivery",
    "deadline",
    "run_handler",
    "while_connected",
]

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


def deadline(timeout: float | None) -> float:
    """When a delivery started now must be answered (``inf``: never)."""
    return math.inf if timeout is None else anyio.current_time() + timeout


@dataclass(frozen=True)
class Delivery:
    """A parsed message on its way to its route's handler."""

    route: Route
    message: CallbackMessage
    deadline: float
    """When the handler is cancelled, on anyio's clock (see :func:`deadline`)."""
    handler_timeout: float | None
    """The time limit ``deadline`` came from, for messages."""
    telemetry: Instruments | None = None
    """Where the handler's span goes, when the delivery is traced."""


async def run_handler(delivery: Delivery) -> DeliveryOutcome:
    """Run the handler on the message until the delivery's deadline; never raises
    for a failing handler (500) or one that ran out of time (503)."""
    route, message = delivery.route, delivery.message
    time_limit = anyio.move_on_after(delivery.deadline - anyio.current_time())
    try:
        with time_limit:
            if delivery.telemetry is None:
                await route.handler(message)
            else:
                family = getattr(type(message), "family", None)
                async with delivery.telemetry.handler(
                    route.service, family if isinstance(family, str) else None
                ):
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
            delivery.handler_timeout,
            type(message).__name__,
        )
        detail = f"handler did not finish within {delivery.handler_timeout:g} s"
        return DeliveryOutcome(503, "timed_out", detail, message)
    return DeliveryOutcome(200, "accepted", message=message)


class Deliveries:
    """The deliveries one receiver is handling: the messages whose handler runs (a
    re-send waits for its first copy), and the claims and answers not yet settled, which
    a server shutting down waits for (:meth:`settled`)."""

    def __init__(self) -> None:
        self._inflight: dict[str, anyio.Event] = {}
        self._unsettled: set[anyio.Event] = set()
        """One event per claim not yet completed or released, and per delivery not yet
        answered; each is set once it is."""

    @contextlib.contextmanager
    def unsettled(self) -> Iterator[None]:
        """Within this block a claim is held or a delivery unanswered: :meth:`settled`
        waits for its end."""
        event = anyio.Event()
        self._unsettled.add(event)
        try:
            yield
        finally:
            self._unsettled.discard(event)
            event.set()

    async def run_once(
        self, store: ClaimingDedupeStore | DedupeStore, key: str, delivery: Delivery
    ) -> DeliveryOutcome:
        """Run the handler unless the message of dedupe ``key`` was handled, or is being
        handled elsewhere."""
        # A re-send arriving while the first send is still being handled waits for it:
        # acknowledging it now would lose the message if that handler then failed. The
        # wait counts in its own time limit, so that it too is answered in time.
        with anyio.move_on_after(delivery.deadline - anyio.current_time()):
            while (running := self._inflight.get(key)) is not None:
                await running.wait()
        if key in self._inflight:
            logger.warning(
                "a re-send of a callback to %s waited %g s for its first copy; answered 409",
                delivery.route.path,
                delivery.handler_timeout,
            )
            return DeliveryOutcome(409, "busy", "this message is being handled", delivery.message)
        done = self._inflight[key] = anyio.Event()
        try:
            if isinstance(store, ClaimingDedupeStore):
                return await self._run_claimed(store, key, delivery)
            return await _run_unclaimed(store, key, delivery)
        finally:
            del self._inflight[key]
            done.set()

    async def _run_claimed(
        self, store: ClaimingDedupeStore, key: str, delivery: Delivery
    ) -> DeliveryOutcome:
        route, message = delivery.route, delivery.message
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
        with self.unsettled():
            try:
                outcome = await run_handler(delivery)
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

    async def settled(self) -> None:
        """Wait (up to 10 s) for the claims held and the answers owed to be settled."""
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


async def _run_unclaimed(store: DedupeStore, key: str, delivery: Delivery) -> DeliveryOutcome:
    try:
        seen = await store.contains(key)
    except Exception:
        logger.exception("dedupe store lookup failed; handling the message anyway")
        seen = False
    if seen:
        logger.info("duplicate callback to %s acknowledged", delivery.route.path)
        return DeliveryOutcome(200, "duplicate", message=delivery.message)
    outcome = await run_handler(delivery)
    if outcome.acknowledged:
        try:
            await store.add(key)
        except Exception:
            logger.exception("dedupe store update failed; a re-send will be handled")
    return outcome


def _claim_refused(route: Route, message: CallbackMessage, answer: ClaimOutcome) -> DeliveryOutcome:
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


async def while_connected(
    process: Callable[[], Awaitable[DeliveryOutcome]], receive: Receive
) -> DeliveryOutcome | None:
    """``process()``'s outcome, or ``None`` when the sender hung up first (``process``
    is then cancelled). Call it once the body is read."""
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
        outcome = await process()
        tasks.cancel_scope.cancel()
    return outcome
