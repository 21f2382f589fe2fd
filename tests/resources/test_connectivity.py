"""``client.connectivity``: the three Connectivity Management (M2M) operations."""

from __future__ import annotations

import logging

import pytest
import respx
from pydantic import SecretStr

from thingspace_callbacks import AsyncThingSpaceClient
from thingspace_callbacks.models import (
    ConnectivityCallback,
    ConnectivityCallbackRequest,
    ConnectivityRegistration,
    ConnectivityServiceName,
)

from ._wire import ACCESS_TOKEN, M2M_TOKEN, Op, check_operation, check_request_options

ANAME = "0252012345-00001"
CARRIER_URL = "http://10.120.102.183:50559/CallbackListener/CarrierServiceMessages.asmx"

# The seed's example answers.
LIST_JSON = [
    {
        "accountName": "0252012345-00001",
        "serviceName": "CarrierService",
        "url": "http://10.120.102.147:50569/CallbackListener/Carrier.asmx",
    },
    {
        "accountName": "0252012345-00001",
        "password": "drowssap",
        "serviceName": "DeviceUsage",
        "url": "http://10.120.102.147:50569/CallbackListener/Usage.asmx",
        "username": "zaffod",
    },
]
LIST = [
    ConnectivityCallback(
        account_name="0252012345-00001",
        service_name=ConnectivityServiceName.CARRIER_SERVICE,
        url="http://10.120.102.147:50569/CallbackListener/Carrier.asmx",
    ),
    ConnectivityCallback(
        account_name="0252012345-00001",
        service_name=ConnectivityServiceName.DEVICE_USAGE,
        url="http://10.120.102.147:50569/CallbackListener/Usage.asmx",
        username="zaffod",
        password=SecretStr("drowssap"),
    ),
]
REGISTERED_JSON = {"accountName": "122333444-00002", "serviceName": "CarrierService"}
REGISTERED = ConnectivityRegistration(
    account_name="122333444-00002", service_name=ConnectivityServiceName.CARRIER_SERVICE
)
UNREGISTERED_JSON = {"accountName": "1223334444-00001", "serviceName": "CarrierService"}
UNREGISTERED = ConnectivityRegistration(
    account_name="1223334444-00001", service_name=ConnectivityServiceName.CARRIER_SERVICE
)

OPS = [
    pytest.param(
        Op(
            lambda c, **o: c.connectivity.list(ANAME, **o),
            "GET",
            f"/m2m/v1/callbacks/{ANAME}",
            response=LIST_JSON,
            expected=LIST,
        ),
        id="list",
    ),
    pytest.param(
        Op(
            lambda c, **o: c.connectivity.register(
                "TestAccount-2", service="CarrierService", url=CARRIER_URL, **o
            ),
            "POST",
            "/m2m/v1/callbacks/TestAccount-2",
            body={"name": "CarrierService", "url": CARRIER_URL},
            response=REGISTERED_JSON,
            expected=REGISTERED,
        ),
        id="register-fields",
    ),
    pytest.param(
        Op(
            lambda c, **o: c.connectivity.register(
                "TestAccount-2",
                ConnectivityCallbackRequest(
                    name=ConnectivityServiceName.DEVICE_USAGE,
                    url=CARRIER_URL,
                    username="zaffod",
                    password=SecretStr("drowssap"),
                ),
                **o,
            ),
            "POST",
            "/m2m/v1/callbacks/TestAccount-2",
            body={
                "name": "DeviceUsage",
                "url": CARRIER_URL,
                "username": "zaffod",
                "password": "drowssap",
            },
            response=REGISTERED_JSON,
            expected=REGISTERED,
        ),
        id="register-model-with-credentials",
    ),
    pytest.param(
        Op(
            lambda c, **o: c.connectivity.unregister(
                "1223334444-00001", service="CarrierService", **o
            ),
            "DELETE",
            "/m2m/v1/callbacks/1223334444-00001/name/CarrierService",
            response=UNREGISTERED_JSON,
            expected=UNREGISTERED,
        ),
        id="unregister",
    ),
    pytest.param(
        Op(
            lambda c, **o: c.connectivity.unregister(
                "Test&Account", service=ConnectivityServiceName.DEVICE_USAGE, **o
            ),
            "DELETE",
            "/m2m/v1/callbacks/Test%26Account/name/DeviceUsage",
            response=UNREGISTERED_JSON,
            expected=UNREGISTERED,
        ),
        id="unregister-encodes-enum",
    ),
]


@pytest.mark.parametrize("op", OPS)
async def test_operation(client: AsyncThingSpaceClient, mock_api: respx.MockRouter, op: Op) -> None:
    await check_operation(client, mock_api, op)


@pytest.mark.parametrize("op", OPS)
async def test_request_options(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, op: Op
) -> None:
    await check_request_options(client, mock_api, op)


@pytest.mark.parametrize("status", [200, 204])
async def test_list_with_empty_body_is_empty(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, status: int
) -> None:
    mock_api.get(f"/m2m/v1/callbacks/{ANAME}").respond(status, content=b"")
    assert await client.connectivity.list(ANAME) == []


async def test_listed_password_is_secret_but_readable(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.get(f"/m2m/v1/callbacks/{ANAME}").respond(json=LIST_JSON)
    listed = await client.connectivity.list(ANAME)
    assert "drowssap" not in repr(listed)
    assert "drowssap" not in str(listed[1])
    assert listed[1].password is not None
    assert listed[1].password.get_secret_value() == "drowssap"


@pytest.mark.parametrize("password", ["drowssap", SecretStr("drowssap")])
async def test_register_sends_password_in_plain_and_logs_no_secret(
    client: AsyncThingSpaceClient,
    mock_api: respx.MockRouter,
    caplog: pytest.LogCaptureFixture,
    password: str | SecretStr,
) -> None:
    route = mock_api.post(f"/m2m/v1/callbacks/{ANAME}").respond(json=REGISTERED_JSON)
    with caplog.at_level(logging.DEBUG):
        await client.connectivity.register(
            ANAME, service="DeviceUsage", url=CARRIER_URL, username="zaffod", password=password
        )
    assert b'"password":"drowssap"' in route.calls.last.request.content
    assert caplog.records, "the request should be logged at DEBUG"
    for secret in ("drowssap", ACCESS_TOKEN, M2M_TOKEN):
        assert secret not in caplog.text


async def test_unknown_service_names_parse(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.get(f"/m2m/v1/callbacks/{ANAME}").respond(
        json=[{"accountName": ANAME, "serviceName": "QuantumService", "url": CARRIER_URL}]
    )
    [callback] = await client.connectivity.list(ANAME)
    assert callback.service_name == "QuantumService"
    assert isinstance(callback.service_name, ConnectivityServiceName)


async def test_register_accepts_unknown_service_name(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.post(f"/m2m/v1/callbacks/{ANAME}").respond(
        json={"accountName": ANAME, "serviceName": "QuantumService"}
    )
    registration = await client.connectivity.register(
        ANAME, service="QuantumService", url=CARRIER_URL
    )
    assert b'"name":"QuantumService"' in route.calls.last.request.content
    assert registration.service_name == "QuantumService"


async def test_raw_register(client: AsyncThingSpaceClient, mock_api: respx.MockRouter) -> None:
    mock_api.post(f"/m2m/v1/callbacks/{ANAME}").respond(
        202, json=REGISTERED_JSON, headers={"x-correlation-id": "m2m-7"}
    )
    response = await client.connectivity.with_raw_response.register(
        ANAME, service="CarrierService", url=CARRIER_URL
    )
    assert (response.status_code, response.request_id) == (202, "m2m-7")
    assert response.parse() == REGISTERED
