"""The receiver with a claiming dedupe store: claim, handle, then complete or release; and
what it answers when the store says "busy", "done", or cannot be reached."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
import trio

from thingspace_callbacks.receiver import (
    UNAVAILABLE_RETRY_AFTER,
    CallbackMessage,
    Claim,
    ClaimOutcome,
    InboundRequest,
    MemoryDedupeStore,
    Receiver,
)

from . import _messages as msg

pytestmark = pytest.mark.timeout(10)


class ScriptedStore:
    """A claiming store that answers what the test says and records what it was asked."""

    def __init__(self, answer: object = None) -> None:
        self.answer = answer
        """``None``: hand out a claim; an exception: raise it; anything else: answer it."""
        self.calls: list[str] = []
        self.fail_settling: Exception | None = None

    async def claim(self, key: str) -> ClaimOutcome:
        self.calls.append("claim")
        if isinstance(self.answer, Exception):
            raise self.answer
        if self.answer is None:
            return Claim(key, "token")
        return self.answer  # type: ignore[return-value]  # a test may answer nonsense

    async def complete(self, claim: Claim) -> None:
        await self._settle("complete")

    async def release(self, claim: Claim) -> None:
        await self._settle("release")

    async def _settle(self, call: str) -> None:
        # Cancellation would strike here unless the receiver shields the settling.
        await anyio.lowlevel.checkpoint()
        self.calls.append(call)
        if self.fail_settling is not None:
            raise self.fail_settling


class Handler:
    def __init__(self, *, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail
        self.gate: anyio.Event | None = None
        self.entered = anyio.Event()

    async def __call__(self, message: CallbackMessage) -> None:
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise RuntimeError("downstream unavailable")


def _receiver(store: Any, handler: Handler) -> Receiver:
    receiver = Receiver(verify=[], dedupe=store)
    receiver.add_handler("CarrierService", handler)
    return receiver


def _request() -> InboundRequest:
    return InboundRequest(body=msg.encode(msg.m2m()), path="/CarrierService")


async def _post(receiver: Receiver) -> httpx.Response:
    transport = httpx.ASGITransport(app=receiver)
    async with httpx.AsyncClient(transport=transport, base_url="http://listener") as http:
        return await http.post("/CarrierService", content=msg.encode(msg.m2m()))


async def test_a_claim_is_completed_once_the_handler_returned() -> None:
    store, handler = ScriptedStore(), Handler()
    outcome = await _receiver(store, handler).process(_request())
    assert (outcome.status_code, outcome.status) == (200, "accepted")
    assert store.calls == ["claim", "complete"]
    assert handler.calls == 1


async def test_a_failing_handler_releases_its_claim() -> None:
    store, handler = ScriptedStore(), Handler(fail=True)
    outcome = await _receiver(store, handler).process(_request())
    assert (outcome.status_code, outcome.status) == (500, "failed")
    assert store.calls == ["claim", "release"]


async def test_done_is_a_duplicate_and_busy_a_409_without_running_the_handler() -> None:
    handler = Handler()
    done = await _post(_receiver(ScriptedStore("done"), handler))
    busy = await _post(_receiver(ScriptedStore("busy"), handler))
    assert (done.status_code, done.json()["status"]) == (200, "duplicate")
    assert (busy.status_code, busy.json()["status"]) == (409, "busy")
    assert "retry-after" not in busy.headers
    assert handler.calls == 0


@pytest.mark.parametrize("error", [ConnectionError("refused"), TimeoutError()])
async def test_an_unreachable_store_is_503_with_retry_after(
    error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="thingspace_callbacks.receiver")
    handler = Handler()
    response = await _post(_receiver(ScriptedStore(error), handler))
    assert (response.status_code, response.json()["status"]) == (503, "unavailable")
    assert response.headers["retry-after"] == str(UNAVAILABLE_RETRY_AFTER) == "30"
    assert handler.calls == 0
    [record] = [r for r in caplog.records if "claiming" in r.getMessage()]
    assert record.levelno == logging.INFO  # the store reports its own outage
    assert record.exc_info is None


async def test_a_faulty_store_is_503_and_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = Handler()
    faulty = await _receiver(ScriptedStore(KeyError("bug")), handler).process(_request())
    nonsense = await _receiver(ScriptedStore("maybe"), handler).process(_request())
    assert (faulty.status_code, faulty.retry_after) == (503, UNAVAILABLE_RETRY_AFTER)
    assert (nonsense.status_code, nonsense.status) == (503, "unavailable")
    assert handler.calls == 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    assert errors[0].exc_info is not None


async def test_a_handled_message_is_acknowledged_even_if_it_cannot_be_recorded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = ScriptedStore()
    store.fail_settling = ConnectionError("redis went away")
    outcome = await _receiver(store, Handler()).process(_request())
    assert (outcome.status_code, outcome.status) == (200, "accepted")
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "a re-send may be handled again" in warning.getMessage()


async def _cancelled_mid_handler() -> list[str]:
    store, handler = ScriptedStore(), Handler()
    handler.gate = anyio.Event()  # never set
    with anyio.move_on_after(0.1):
        await _receiver(store, handler).process(_request())
    return store.calls


async def test_a_cancelled_request_releases_its_claim() -> None:
    assert await _cancelled_mid_handler() == ["claim", "release"]


def test_a_cancelled_request_releases_its_claim_under_trio() -> None:
    assert trio.run(_cancelled_mid_handler) == ["claim", "release"]


async def test_receivers_sharing_an_in_memory_store_handle_a_message_once() -> None:
    store, handler = MemoryDedupeStore(), Handler()
    handler.gate = anyio.Event()
    first, second = _receiver(store, handler), _receiver(store, handler)
    answers: list[httpx.Response] = []

    async def post_first() -> None:
        answers.append(await _post(first))

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(post_first)
            await handler.entered.wait()
            busy = await _post(second)
            handler.gate.set()
    again = await _post(second)

    assert (busy.status_code, busy.json()["status"]) == (409, "busy")
    assert [a.json()["status"] for a in answers] == ["accepted"]
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert handler.calls == 1


async def test_a_contains_add_store_is_asked_before_and_told_after() -> None:
    class Legacy:
        def __init__(self) -> None:
            self.keys: set[str] = set()

        async def contains(self, key: str) -> bool:
            return key in self.keys

        async def add(self, key: str) -> None:
            self.keys.add(key)

    store, handler = Legacy(), Handler()
    receiver = _receiver(store, handler)
    first = await receiver.process(_request())
    second = await receiver.process(_request())
    assert (first.status, second.status) == ("accepted", "duplicate")
    assert len(store.keys) == 1
    assert handler.calls == 1
