"""A handler past ``handler_timeout``, or whose sender hung up, is cancelled and its claim
released; a server shutting down gets the claims released before the lifespan ends.

Time is trio's mock clock (jumping ahead whenever every task waits), so a handler that
never returns times out at once, at exactly its time limit.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
import pytest
import trio
import trio.testing

from thingspace_callbacks.cli.listen._server import _fit_open_files
from thingspace_callbacks.receiver import (
    DEFAULT_HANDLER_TIMEOUT,
    CallbackMessage,
    DeliveryOutcome,
    InboundRequest,
    MemoryDedupeStore,
    Receiver,
)

from . import _messages as msg
from .test_claims import ScriptedStore

pytestmark = pytest.mark.timeout(10)


class Stuck:
    """A handler that never returns (the first ``stuck`` times), counting its calls."""

    def __init__(self, stuck: int = 1_000_000) -> None:
        self.calls = 0
        self.cancelled = 0
        self.stuck = stuck

    async def __call__(self, message: CallbackMessage) -> None:
        self.calls += 1
        if self.calls > self.stuck:
            return
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            self.cancelled += 1
            raise


def _receiver(store: Any, handler: Any, **options: Any) -> Receiver:
    receiver = Receiver(verify=[], dedupe=store, **options)
    receiver.add_handler("CarrierService", handler)
    return receiver


def _request(**overrides: Any) -> InboundRequest:
    return InboundRequest(body=msg.encode(msg.m2m(**overrides)), path="/CarrierService")


def _run(main: Callable[[], Awaitable[Any]]) -> Any:
    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def test_a_stuck_handler_is_cancelled_at_its_time_limit_and_answered_503() -> None:
    store, handler = ScriptedStore(), Stuck()

    async def main() -> tuple[DeliveryOutcome, float]:
        started = trio.current_time()
        outcome = await _receiver(store, handler).process(_request())
        return outcome, trio.current_time() - started

    outcome, took = _run(main)
    assert DEFAULT_HANDLER_TIMEOUT == 20
    assert took == pytest.approx(DEFAULT_HANDLER_TIMEOUT)
    assert (outcome.status_code, outcome.status) == (503, "timed_out")
    assert outcome.detail == "handler did not finish within 20 s"
    assert not outcome.acknowledged
    assert handler.cancelled == 1
    assert store.calls == ["claim", "release"]


def test_the_resend_of_a_timed_out_message_runs_the_handler_again() -> None:
    store, handler = MemoryDedupeStore(), Stuck(stuck=1)
    receiver = _receiver(store, handler, handler_timeout=1)

    async def main() -> list[str]:
        first = await receiver.process(_request())
        resend = await receiver.process(_request(callbackCount=2))
        again = await receiver.process(_request(callbackCount=3))
        return [first.status, resend.status, again.status]

    assert _run(main) == ["timed_out", "accepted", "duplicate"]
    assert handler.calls == 2


def test_a_resend_waiting_behind_a_stuck_copy_is_answered_within_its_own_limit() -> None:
    handler = Stuck()
    receiver = _receiver(MemoryDedupeStore(), handler, handler_timeout=10)
    answered: dict[str, tuple[str, float]] = {}

    async def deliver(name: str, delay: float) -> None:
        await trio.sleep(delay)
        started = trio.current_time()
        outcome = await receiver.process(_request())
        answered[name] = (outcome.status, trio.current_time() - started)

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(deliver, "first", 0)
            nursery.start_soon(deliver, "resend", 4)

    _run(main)
    assert answered["first"][0] == answered["resend"][0] == "timed_out"
    assert answered["first"][1] == pytest.approx(10)
    # It waited 6 s for the first copy, then ran the handler for the 4 s left.
    assert answered["resend"][1] == pytest.approx(10)
    assert handler.calls == 2


def test_a_handlers_own_timeout_error_is_a_failure_not_a_time_limit() -> None:
    async def times_out(message: CallbackMessage) -> None:
        raise TimeoutError("the database did not answer")

    async def main() -> DeliveryOutcome:
        return await _receiver(ScriptedStore(), times_out).process(_request())

    outcome = _run(main)
    assert (outcome.status_code, outcome.status) == (500, "failed")


def test_no_time_limit_when_handler_timeout_is_none() -> None:
    handler = Stuck()

    async def main() -> bool:
        with trio.move_on_after(3600) as scope:
            await _receiver(False, handler, handler_timeout=None).process(_request())
        return scope.cancelled_caught

    assert _run(main) is True  # still running after an hour
    assert handler.calls == 1


@pytest.mark.parametrize("value", [0, -1.0])
def test_handler_timeout_must_be_positive(value: float) -> None:
    with pytest.raises(ValueError, match="handler_timeout"):
        Receiver(verify=[], handler_timeout=value)


class Connection:
    """An ASGI request whose sender hangs up when the test says so."""

    def __init__(self) -> None:
        self.hang_up = trio.Event()
        self.sent: list[MutableMapping[str, Any]] = []
        self._body_sent = False

    async def receive(self) -> MutableMapping[str, Any]:
        if not self._body_sent:
            self._body_sent = True
            return {"type": "http.request", "body": msg.encode(msg.m2m()), "more_body": False}
        await self.hang_up.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)


SCOPE: dict[str, Any] = {
    "type": "http",
    "method": "POST",
    "path": "/CarrierService",
    "root_path": "",
    "headers": [(b"content-type", b"application/json")],
    "client": ("127.0.0.1", 50000),
}


def test_a_handler_whose_sender_hung_up_is_cancelled_and_its_claim_released(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, handler = ScriptedStore(), Stuck()
    receiver = _receiver(store, handler, handler_timeout=600)
    connection = Connection()

    async def main() -> float:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_serve, receiver, connection)
            await trio.sleep(5)
            connection.hang_up.set()
        return trio.current_time()

    ended = _run(main)
    assert ended == pytest.approx(5)  # at the hang-up, not at the time limit
    assert handler.cancelled == 1
    assert store.calls == ["claim", "release"]
    assert connection.sent == []  # nobody to answer
    assert "hung up" in caplog.text


def test_a_sender_still_connected_is_answered() -> None:
    store, handler = ScriptedStore(), Stuck(stuck=0)
    connection = Connection()

    async def main() -> None:
        await _receiver(store, handler)(dict(SCOPE), connection.receive, connection.send)

    _run(main)
    assert connection.sent[0]["status"] == 200
    assert store.calls == ["claim", "complete"]


async def _serve(receiver: Receiver, connection: Connection) -> None:
    await receiver(dict(SCOPE), connection.receive, connection.send)


class SlowReleaseStore(ScriptedStore):
    """Takes 2 s to release a claim, like a store far away."""

    async def release(self, claim: Any) -> None:
        await anyio.sleep(2)
        self.calls.append("release")


def test_shutdown_waits_for_cancelled_requests_to_release_their_claims() -> None:
    store, handler = SlowReleaseStore(), Stuck()
    receiver = _receiver(store, handler)
    lifespan_events = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[tuple[str, list[str]]] = []

    async def lifespan_receive() -> MutableMapping[str, Any]:
        return lifespan_events.pop(0)

    async def lifespan_send(message: MutableMapping[str, Any]) -> None:
        sent.append((message["type"], list(store.calls)))

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            # A server shutting down: it cancels the request still running, then ends
            # the lifespan at once.
            request = trio.CancelScope()
            nursery.start_soon(_cancellable, request, receiver.process(_request()))
            await trio.sleep(1)
            request.cancel()
            await receiver({"type": "lifespan"}, lifespan_receive, lifespan_send)

    _run(main)
    assert sent == [
        ("lifespan.startup.complete", ["claim"]),
        ("lifespan.shutdown.complete", ["claim", "release"]),
    ]


async def _cancellable(scope: trio.CancelScope, work: Awaitable[object]) -> None:
    with scope:
        await work


def test_shutdown_gives_up_on_a_claim_that_is_never_released(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="thingspace_callbacks.receiver")
    receiver = _receiver(ScriptedStore(), Stuck())
    events = [{"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def lifespan_receive() -> MutableMapping[str, Any]:
        return events.pop(0)

    async def lifespan_send(message: MutableMapping[str, Any]) -> None:
        sent.append(message["type"])

    async def main() -> float:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(receiver.process, _request())  # running, not cancelled
            await trio.sleep(1)
            started = trio.current_time()
            await receiver({"type": "lifespan"}, lifespan_receive, lifespan_send)
            nursery.cancel_scope.cancel()
        return trio.current_time() - started

    assert _run(main) == pytest.approx(10)  # bounded: the process can still exit
    assert sent == ["lifespan.shutdown.complete"]
    assert "still pending" in caplog.text


def test_listen_fits_its_connection_cap_to_the_open_file_limit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    resource = pytest.importorskip("resource")
    limits = {"soft": 1024, "hard": 1024}
    monkeypatch.setattr(resource, "getrlimit", lambda _: (limits["soft"], limits["hard"]))

    def setrlimit(_: int, values: tuple[int, int]) -> None:
        limits["soft"] = values[0]

    monkeypatch.setattr(resource, "setrlimit", setrlimit)
    assert _fit_open_files(100) == 100  # fits already
    assert _fit_open_files(2048) == 1024 - 64  # the hard limit is too low: cap lowered
    assert "serving at most 960 connections" in capsys.readouterr().err
    limits.update(soft=1024, hard=100_000)
    assert _fit_open_files(2048) == 2048  # raised to fit
    assert limits["soft"] == 2048 + 64
