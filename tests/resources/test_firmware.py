"""``client.firmware`` (FOTA v2) and ``client.firmware_v3`` (FOTA v3): the eight
Software Management operations."""

from __future__ import annotations

from typing import Any

import pytest
import respx

from thingspace_callbacks import APIResponseValidationError, AsyncThingSpaceClient
from thingspace_callbacks.models import FirmwareCallback, FirmwareDeletion
from thingspace_callbacks.resources import Firmware

from ._wire import Op, check_operation, check_request_options

ACCOUNT = "0000123456-00001"
# The seed's example listeners and answers.
GET_URL = "http://10.120.102.183:50559/CallbackListener/FirmwareServiceMessages.asmx"
UPDATE_URL = "https://255.255.11.135:50559/CallbackListener/FirmwareServiceMessages.asmx"
CREATE_URL = "https://10.120.102.183:50559/CallbackListener/FirmwareServiceMessages.asmx"


def _firmware(client: AsyncThingSpaceClient, version: str) -> Firmware:
    return client.firmware if version == "v2" else client.firmware_v3


def _ops(version: str) -> list[Any]:
    path = f"/fota/{version}/callbacks/{ACCOUNT}"

    def fw(client: Any) -> Firmware:
        return _firmware(client, version)

    cases = {
        "get": Op(
            lambda c, **o: fw(c).get(ACCOUNT, **o),
            "GET",
            path,
            response={"url": GET_URL},
            expected=FirmwareCallback(url=GET_URL),
        ),
        "get-encodes-account": Op(
            lambda c, **o: fw(c).get("x&y=z!", **o),
            "GET",
            f"/fota/{version}/callbacks/x%26y%3Dz%21",
            response={"url": GET_URL},
            expected=FirmwareCallback(url=GET_URL),
        ),
        "register-url": Op(
            lambda c, **o: fw(c).register(ACCOUNT, url=CREATE_URL, **o),
            "POST",
            path,
            body={"url": CREATE_URL},
            response={"url": CREATE_URL},
            expected=FirmwareCallback(url=CREATE_URL),
        ),
        "register-model": Op(
            lambda c, **o: fw(c).register(ACCOUNT, FirmwareCallback(url=CREATE_URL), **o),
            "POST",
            path,
            body={"url": CREATE_URL},
            response={"url": CREATE_URL},
            expected=FirmwareCallback(url=CREATE_URL),
        ),
        "update-url": Op(
            lambda c, **o: fw(c).update(ACCOUNT, url=UPDATE_URL, **o),
            "PUT",
            path,
            body={"url": UPDATE_URL},
            response={"url": UPDATE_URL},
            expected=FirmwareCallback(url=UPDATE_URL),
        ),
        "update-dict": Op(
            lambda c, **o: fw(c).update(ACCOUNT, {"url": UPDATE_URL}, **o),
            "PUT",
            path,
            body={"url": UPDATE_URL},
            response={"url": UPDATE_URL},
            expected=FirmwareCallback(url=UPDATE_URL),
        ),
        "unregister": Op(
            lambda c, **o: fw(c).unregister(ACCOUNT, **o),
            "DELETE",
            path,
            response={"success": True},
            expected=FirmwareDeletion(success=True),
        ),
    }
    return [pytest.param(op, id=f"{version}-{name}") for name, op in cases.items()]


OPS = _ops("v2") + _ops("v3")


@pytest.mark.parametrize("op", OPS)
async def test_operation(client: AsyncThingSpaceClient, mock_api: respx.MockRouter, op: Op) -> None:
    await check_operation(client, mock_api, op)


@pytest.mark.parametrize("op", OPS)
async def test_request_options(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, op: Op
) -> None:
    await check_request_options(client, mock_api, op)


@pytest.mark.parametrize("version", ["v2", "v3"])
async def test_raw_response_keeps_the_version(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, version: str
) -> None:
    route = mock_api.put(f"/fota/{version}/callbacks/{ACCOUNT}").respond(
        200, json={"url": UPDATE_URL}, headers={"x-request-id": "fota-1"}
    )
    raw = _firmware(client, version).with_raw_response
    response = await raw.update(ACCOUNT, url=UPDATE_URL)
    assert route.call_count == 1
    assert (response.status_code, response.request_id) == (200, "fota-1")
    assert response.parse() == FirmwareCallback(url=UPDATE_URL)


async def test_unregister_answer_without_success_is_a_validation_error(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.delete(f"/fota/v2/callbacks/{ACCOUNT}").respond(json={"deleted": True})
    with pytest.raises(APIResponseValidationError, match="success") as info:
        await client.firmware.unregister(ACCOUNT)
    assert info.value.status_code == 200
    assert info.value.body == '{"deleted":true}'
