"""ThingSpace-like deliveries over a real uvicorn socket on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio.lowlevel
import httpx
import pytest

from thingspace_callbacks.receiver import (
    AnyOf,
    BodyCredentials,
    CallbackMessage,
    ConnectivityMessage,
    FirmwareMessage,
    HmacSignature,
    LocationMessage,
    Receiver,
    sign_body,
)

from . import _messages as msg
from .conftest import ServeApp

pytestmark = pytest.mark.integration


async def _chunks(count: int, size: int) -> AsyncIterator[bytes]:
    for _ in range(count):
        yield b"x" * size


def _listener(received: list[CallbackMessage]) -> Receiver:
    receiver = Receiver(verify=[BodyCredentials(msg.USERNAME, msg.PASSWORD)])

    @receiver.on("CarrierService")
    async def carrier(message: ConnectivityMessage) -> None:
        received.append(message)

    @receiver.on("NiddService")
    async def nidd(message: ConnectivityMessage) -> None:
        received.append(message)

    @receiver.on("SoftwareManagement", path="/fota")
    async def fota(message: FirmwareMessage) -> None:
        received.append(message)

    @receiver.on("DeviceLocation", verify=[HmacSignature(msg.SHARED_SECRET)])
    async def location(message: LocationMessage) -> None:
        await anyio.lowlevel.checkpoint()  # a real await inside the handler
        received.append(message)

    return receiver


async def test_deliveries_reach_a_running_listener(serve_app: ServeApp) -> None:
    received: list[CallbackMessage] = []
    location_body = msg.encode(msg.location())
    async with (
        serve_app(_listener(received)) as base_url,
        httpx.AsyncClient(base_url=base_url) as thingspace,
    ):
        answers = [
            await thingspace.post("/CarrierService", json=msg.m2m()),
            await thingspace.post("/NiddService", json=msg.nidd()),
            await thingspace.post("/fota", json=msg.fota()),
            await thingspace.post(
                "/DeviceLocation",
                content=location_body,
                headers={
                    "Content-Type": "application/json",
                    "X-ThingSpace-Signature": sign_body(location_body, msg.SHARED_SECRET),
                },
            ),
        ]

    assert [a.status_code for a in answers] == [200, 200, 200, 200]
    assert [type(m).__name__ for m in received] == [
        "ConnectivityMessage",
        "ConnectivityMessage",
        "FirmwareMessage",
        "LocationMessage",
    ]
    assert [m.service for m in received] == [
        "CarrierService",
        "NiddService",
        "SoftwareManagement",
        "DeviceLocation",
    ]
    location = received[3]
    assert isinstance(location, LocationMessage)
    assert location.pd is not None
    assert location.pd.radius == "5571"


async def test_resends_and_rejections_over_the_socket(serve_app: ServeApp) -> None:
    received: list[CallbackMessage] = []
    failures = 1

    receiver = Receiver(
        verify=[
            AnyOf(BodyCredentials(msg.USERNAME, msg.PASSWORD), HmacSignature(msg.SHARED_SECRET))
        ],
        max_body_size=4096,
    )

    @receiver.on("CarrierService")
    async def carrier(message: CallbackMessage) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise RuntimeError("database is down")
        received.append(message)

    async with serve_app(receiver) as base_url, httpx.AsyncClient(base_url=base_url) as ts:
        statuses = [
            (await ts.post("/CarrierService", json=msg.m2m(callbackCount=n))).status_code
            for n in (1, 2, 3)
        ]
        wrong = await ts.post("/CarrierService", json=msg.m2m(password="nope"))
        not_json = await ts.post("/CarrierService", content=b"<xml/>")
        too_big = await ts.post("/CarrierService", json=msg.m2m(pad="x" * 8192))
        streamed = await ts.post("/CarrierService", content=_chunks(3, 2048))
        after = await ts.post("/CarrierService", json=msg.m2m(requestId="next"))

    # failed -> 500 (ThingSpace re-sends) -> handled -> duplicate acknowledged.
    assert statuses == [500, 200, 200]
    assert (wrong.status_code, not_json.status_code, too_big.status_code) == (401, 400, 413)
    assert streamed.status_code == 413  # chunked, no Content-Length: counted while read
    assert after.status_code == 200  # the server survived all of it
    assert all(isinstance(m, ConnectivityMessage) for m in received)
    assert [(m.request_id, m.callback_count) for m in received] == [  # type: ignore[attr-defined]
        ("a2889d3b-3c3e-4a32-8b5b-2d1f3c8e9f01", 2),
        ("next", 1),
    ]
