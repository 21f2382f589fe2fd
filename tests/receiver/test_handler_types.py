"""A handler receives only the message model it declared (see ``Receiver``'s docstring).

A body that does not parse as that model is answered 422 and never reaches the handler,
unless the handler opted into the fallback by declaring ``Model | GenericMessage``.
"""

from __future__ import annotations

import functools
import logging
from typing import Annotated, Any, Optional, Union

import httpx
import pytest

from thingspace_callbacks import InvalidArgumentError
from thingspace_callbacks.receiver import (
    BodyCredentials,
    CallbackMessage,
    ConnectivityMessage,
    DiagnosticsMessage,
    FirmwareMessage,
    GenericMessage,
    InboundRequest,
    LocationMessage,
    MalformedMessageError,
    MessageTypeError,
    Receiver,
    ReceiverError,
    parse_message,
)

from . import _messages as msg

WRONG_TYPE = msg.m2m(callbackCount="second")  # callbackCount must be an integer


class CarrierAnswer(ConnectivityMessage):
    """An application's own, stricter model (at module level: annotations are read by
    name from the handler's module)."""

    status: str


def _client(app: Receiver) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://listener")


async def test_message_of_the_wrong_shape_never_reaches_a_connectivity_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="thingspace_callbacks")
    receiver = Receiver(verify=[BodyCredentials(msg.USERNAME, msg.PASSWORD)])
    received: list[object] = []

    @receiver.on("CarrierService")
    async def carrier(message: ConnectivityMessage) -> None:
        received.append(message)
        message.device_ids[0].id  # noqa: B018 - what a real handler does with it

    async with _client(receiver) as http:
        answers = [
            await http.post(
                "/CarrierService", content=msg.encode(WRONG_TYPE | {"callbackCount": n})
            )
            for n in ("first", "second", "third")
        ]
        good = await http.post("/CarrierService", content=msg.encode(msg.m2m()))

    assert len(received) == 1  # only the good one
    assert type(received[0]) is ConnectivityMessage
    assert [a.status_code for a in answers] == [422, 422, 422]  # the same answer each time
    assert answers[0].json() == {
        "status": "rejected",
        "detail": "message does not fit ConnectivityMessage: callbackCount: "
        "Input should be a valid integer, unable to parse string as an integer",
    }
    assert good.status_code == 200
    refusals = [r for r in caplog.records if "does not fit" in r.getMessage()]
    assert len(refusals) == 3
    assert {r.levelno for r in refusals} == {logging.ERROR}
    assert msg.PASSWORD not in caplog.text


async def test_a_handler_can_opt_into_the_generic_fallback() -> None:
    receiver = Receiver(verify=[])
    received: list[CallbackMessage] = []

    @receiver.on("CarrierService")
    async def carrier(message: ConnectivityMessage | GenericMessage) -> None:
        received.append(message)

    async with _client(receiver) as http:
        odd = await http.post("/CarrierService", content=msg.encode(WRONG_TYPE))
        good = await http.post("/CarrierService", content=msg.encode(msg.m2m(requestId="r2")))

    assert (odd.status_code, good.status_code) == (200, 200)
    fallback, typed = received
    assert type(fallback) is GenericMessage
    assert fallback.model_extra is not None
    assert fallback.model_extra["callbackCount"] == "second"
    assert type(typed) is ConnectivityMessage  # the declared model is tried first


@pytest.mark.parametrize(
    "annotation",
    [CallbackMessage, Any, object, "unannotated"],
    ids=["CallbackMessage", "Any", "object", "unannotated"],
)
async def test_a_handler_for_any_message_gets_the_best_model_or_generic(annotation: Any) -> None:
    received: list[Any] = []

    async def handler(message):  # type: ignore[no-untyped-def]
        received.append(message)

    if annotation != "unannotated":
        handler.__annotations__ = {"message": annotation, "return": None}
    receiver = Receiver(verify=[])
    receiver.add_handler("CarrierService", handler)
    async with _client(receiver) as http:
        odd = await http.post("/CarrierService", content=msg.encode(WRONG_TYPE))
        good = await http.post("/CarrierService", content=msg.encode(msg.m2m(requestId="r2")))
    assert (odd.status_code, good.status_code) == (200, 200)
    assert [type(m) for m in received] == [GenericMessage, ConnectivityMessage]


async def test_the_declared_model_wins_over_the_service_and_the_shape() -> None:
    received: list[CallbackMessage] = []

    receiver = Receiver(verify=[])

    @receiver.on("SoftwareManagement", path="/fota")
    async def fota(message: FirmwareMessage) -> None:
        received.append(message)

    @receiver.on("CarrierService")
    async def carrier(message: CarrierAnswer) -> None:
        received.append(message)

    @receiver.on_any()
    async def location(message: Optional[LocationMessage]) -> None:  # noqa: UP045
        received.append(message)  # type: ignore[arg-type]

    async with _client(receiver) as http:
        assert (await http.post("/fota", content=msg.encode(msg.fota()))).status_code == 200
        assert (await http.post("/CarrierService", json=msg.m2m())).status_code == 200
        missing = await http.post("/CarrierService", json=msg.m2m(status=None))
        assert (await http.post("/x/DeviceLocation", json=msg.location())).status_code == 200
    assert [type(m) for m in received] == [FirmwareMessage, CarrierAnswer, LocationMessage]
    assert missing.status_code == 422
    assert "CarrierAnswer: status:" in missing.json()["detail"]


async def test_a_union_tries_the_model_the_service_names_first() -> None:
    received: list[CallbackMessage] = []
    receiver = Receiver(verify=[])

    async def either(message: Union[DiagnosticsMessage, LocationMessage]) -> None:  # noqa: UP007
        received.append(message)

    receiver.add_handler("DeviceLocation", either)
    receiver.add_handler("Diagnostics", either)
    async with _client(receiver) as http:
        await http.post("/DeviceLocation", json={"txid": "t"})
        await http.post("/Diagnostics", json={"txid": "t"})
        unfit = await http.post("/Diagnostics", json={"txid": ["x"], "transactionID": ["x"]})
    assert [type(m) for m in received] == [LocationMessage, DiagnosticsMessage]
    assert unfit.status_code == 422
    assert unfit.json()["detail"].startswith(
        "message does not fit DiagnosticsMessage | LocationMessage: transactionID:"
    )


async def test_callable_objects_partials_and_annotated_declare_their_model_too() -> None:
    received: list[CallbackMessage] = []

    class Handler:
        async def __call__(self, message: LocationMessage) -> None:
            received.append(message)

    async def with_context(context: str, message: Annotated[FirmwareMessage, "doc"]) -> None:
        received.append(message)

    receiver = Receiver(verify=[])
    receiver.add_handler("CarrierService", Handler())
    receiver.add_handler("fota", functools.partial(with_context, "ctx"))
    async with _client(receiver) as http:
        carrier = await http.post("/CarrierService", json=msg.m2m())
        fota = await http.post("/fota", json=msg.fota(upgradeScheduled="not an object"))
    # Every LocationMessage field is optional, so a Connectivity body fits it: the
    # handler gets the model it declared, not the one the route's service suggests.
    assert carrier.status_code == 200
    assert type(received[0]) is LocationMessage
    assert fota.status_code == 422


@pytest.mark.parametrize(
    ("annotation", "error"),
    [
        (dict, "annotate it with a message model"),
        (int | ConnectivityMessage, "annotate it with a message model"),
        (type(None), "declares no message model"),
        ("NoSuchName", "cannot read the message type"),
    ],
    ids=["dict", "int-union", "None", "unresolvable"],
)
def test_an_annotation_that_names_no_model_is_refused_at_registration(
    annotation: Any, error: str
) -> None:
    async def handler(message):  # type: ignore[no-untyped-def]
        pass

    handler.__annotations__ = {"message": annotation}
    receiver = Receiver(verify=[])
    with pytest.raises(InvalidArgumentError, match=error):
        receiver.add_handler("CarrierService", handler)
    with pytest.raises(InvalidArgumentError, match=error):
        receiver.on_any()(handler)
    assert receiver.routes == {}


def test_a_handler_must_take_the_message_positionally() -> None:
    async def keyword_only(*, message: ConnectivityMessage) -> None:
        pass

    with pytest.raises(InvalidArgumentError, match="positional"):
        Receiver(verify=[]).add_handler("CarrierService", keyword_only)  # type: ignore[arg-type]


async def test_process_answers_422_without_asgi() -> None:
    receiver = Receiver(verify=[])

    @receiver.on("CarrierService")
    async def carrier(message: ConnectivityMessage) -> None:
        raise AssertionError("must not be called")

    outcome = await receiver.process(
        InboundRequest(body=msg.encode(WRONG_TYPE), path="/CarrierService")
    )
    assert (outcome.status_code, outcome.status, outcome.acknowledged) == (422, "rejected", False)
    assert outcome.message is None


def test_parse_message_with_a_model_returns_that_model_or_raises() -> None:
    message = parse_message(msg.m2m(), model=ConnectivityMessage, service="CarrierService")
    assert type(message) is ConnectivityMessage
    assert message.request_id == msg.m2m()["requestId"]  # typed: no cast needed
    assert message.service == "CarrierService"
    with pytest.raises(MessageTypeError) as caught:
        parse_message(msg.encode(WRONG_TYPE), model=ConnectivityMessage)
    assert isinstance(caught.value, MalformedMessageError)
    assert isinstance(caught.value, ReceiverError)
    assert caught.value.status_code == 422
    assert caught.value.__cause__ is None  # a ValidationError would quote the input
    with pytest.raises(MessageTypeError) as secret:
        parse_message({"password": {"leak": msg.PASSWORD}}, model=ConnectivityMessage)
    assert msg.PASSWORD not in str(secret.value)
    generic = parse_message(WRONG_TYPE, model=(GenericMessage, ConnectivityMessage))
    assert type(generic) is GenericMessage
    with pytest.raises(ValueError, match="at least one"):
        parse_message(msg.m2m(), model=())


def test_a_long_list_of_problems_is_cut_short() -> None:
    body = {"deviceIds": [{"id": [n]} for n in range(9)]}
    with pytest.raises(MessageTypeError) as caught:
        parse_message(body, model=ConnectivityMessage)
    assert str(caught.value).count("deviceIds.") == 5
    assert str(caught.value).endswith("and 4 more")
