"""Only standard JSON is a message: ``NaN``, ``Infinity``, ``-Infinity`` (which Python's
``json`` module accepts) and numbers too large for a float are refused with a 400."""

from __future__ import annotations

import json

import httpx
import pytest

from thingspace_callbacks.receiver import (
    CallbackMessage,
    MalformedMessageError,
    Receiver,
    decode_body,
    parse_message,
)

from . import _messages as msg

NON_STANDARD = [
    b'{"lat": NaN}',
    b'{"lat": Infinity}',
    b'{"lat": -Infinity}',
    b'{"deviceIds": [{"id": "1", "kind": "ESN", "score": NaN}]}',  # nested
    b'{"lat": 1e400}',  # standard syntax, but no float holds it: it would be inf
    b'{"lat": -1E+999}',
]


@pytest.mark.parametrize("body", NON_STANDARD)
def test_non_finite_numbers_are_malformed(body: bytes) -> None:
    assert json.loads(body) is not None  # what decode_body must not follow
    for data in (body, body.decode()):
        with pytest.raises(MalformedMessageError, match="not valid JSON") as caught:
            decode_body(data)
        assert caught.value.status_code == 400
        with pytest.raises(MalformedMessageError):
            parse_message(data)


def test_finite_numbers_still_parse() -> None:
    body = (
        b'{"lat": 40.7128, "lon": -74.006, "acc": 1.5e3, "zero": -0.0, "big": 1e308, '
        b'"n": 99999999999999999999}'
    )
    assert decode_body(body) == {
        "lat": 40.7128,
        "lon": -74.006,
        "acc": 1500.0,
        "zero": -0.0,
        "big": 1e308,
        "n": 99999999999999999999,
    }
    # A string that spells a constant is only a string.
    assert decode_body(b'{"status": "NaN", "x": "Infinity"}') == {"status": "NaN", "x": "Infinity"}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e400"])
async def test_the_receiver_answers_400_and_runs_no_handler(constant: str) -> None:
    handled: list[CallbackMessage] = []

    async def handler(message: CallbackMessage) -> None:
        handled.append(message)

    receiver = Receiver(verify=[])
    receiver.add_handler("CarrierService", handler)
    good = msg.encode(msg.m2m())
    bad = good.replace(b'"callbackCount": 1', f'"callbackCount": {constant}'.encode())
    assert bad != good
    transport = httpx.ASGITransport(app=receiver)
    async with httpx.AsyncClient(transport=transport, base_url="http://listener") as http:
        refused = await http.post("/CarrierService", content=bad)
        accepted = await http.post("/CarrierService", content=good)
    assert refused.status_code == 400
    assert refused.json()["status"] == "rejected"
    assert accepted.status_code == 200
    assert len(handled) == 1
