"""``client.location``: the three Device Location operations."""

from __future__ import annotations

import pytest
import respx

from thingspace_callbacks import AsyncThingSpaceClient
from thingspace_callbacks.models import (
    LocationCallback,
    LocationDeregistration,
    LocationRegistration,
    LocationServiceName,
)

from ._wire import Op, check_operation, check_request_options

ACCOUNT = "0252012345-00001"
LISTENER = "http://10.120.102.183:50559/CallbackListener/LocationServiceMessages.asmx"

# The seed's example answers.
LIST_JSON = [
    {
        "name": "Location",
        "accountName": "0252012345-00001",
        "serviceName": "Location",
        "url": "http://10.120.102.147:50569/CallbackListener/Location.asmx",
    },
    {
        "name": "Location",
        "accountName": "0252012345-00001",
        "serviceName": "DeviceLocation",
        "url": "http://10.120.102.147:50569/CallbackListener/DeviceLocation.asmx",
    },
]
LIST = [
    LocationCallback(
        name=LocationServiceName.LOCATION,
        account_name="0252012345-00001",
        service_name=LocationServiceName.LOCATION,
        url="http://10.120.102.147:50569/CallbackListener/Location.asmx",
    ),
    LocationCallback(
        name=LocationServiceName.LOCATION,
        account_name="0252012345-00001",
        service_name=LocationServiceName.DEVICE_LOCATION,
        url="http://10.120.102.147:50569/CallbackListener/DeviceLocation.asmx",
    ),
]
REGISTRATION_JSON = {"accountName": "0212312345-00001", "serviceName": "Location"}
REGISTRATION = LocationRegistration(
    account_name="0212312345-00001", service_name=LocationServiceName.LOCATION
)
REGISTER_BODY = {"name": "Location", "url": LISTENER}

OPS = [
    pytest.param(
        Op(
            lambda c, **o: c.location.list(ACCOUNT, **o),
            "GET",
            f"/loc/v1/callbacks/{ACCOUNT}",
            response=LIST_JSON,
            expected=LIST,
        ),
        id="list",
    ),
    pytest.param(
        Op(
            lambda c, **o: c.location.list("acct&x=1!", **o),
            "GET",
            "/loc/v1/callbacks/acct%26x%3D1%21",
            response=[],
            expected=[],
        ),
        id="list-encodes-account",
    ),
    pytest.param(
        Op(
            lambda c, **o: c.location.register(
                ACCOUNT, service=LocationServiceName.LOCATION, url=LISTENER, **o
            ),
            "POST",
            f"/loc/v1/callbacks/{ACCOUNT}",
            body=REGISTER_BODY,
            response=REGISTRATION_JSON,
            expected=REGISTRATION,
        ),
        id="register-fields",
    ),
    pytest.param(
        Op(
            lambda c, **o: c.location.register(
                ACCOUNT, LocationCallback(name=LocationServiceName.LOCATION, url=LISTENER), **o
            ),
            "POST",
            f"/loc/v1/callbacks/{ACCOUNT}",
            body=REGISTER_BODY,
            response=REGISTRATION_JSON,
            expected=REGISTRATION,
        ),
        id="register-model",
    ),
    pytest.param(
        Op(
            lambda c, **o: c.location.register(
                ACCOUNT, {"name": "DeviceLocation", "url": LISTENER}, **o
            ),
            "POST",
            f"/loc/v1/callbacks/{ACCOUNT}",
            body={"name": "DeviceLocation", "url": LISTENER},
            response=REGISTRATION_JSON,
            expected=REGISTRATION,
        ),
        id="register-dict",
    ),
    pytest.param(
        Op(
            lambda c, **o: c.location.unregister(
                ACCOUNT, service=LocationServiceName.LOCATION, **o
            ),
            "DELETE",
            f"/loc/v1/callbacks/{ACCOUNT}/name/Location",
            response={"success": True},
            expected=LocationDeregistration(success=True),
        ),
        id="unregister-enum",
    ),
    pytest.param(
        Op(
            lambda c, **o: c.location.unregister(ACCOUNT, service="DeviceLocation", **o),
            "DELETE",
            f"/loc/v1/callbacks/{ACCOUNT}/name/DeviceLocation",
            response={"success": True},
            expected=LocationDeregistration(success=True),
        ),
        id="unregister-str",
    ),
    pytest.param(
        Op(
            lambda c, **o: c.location.unregister("a&b", service="Loc/ation", **o),
            "DELETE",
            "/loc/v1/callbacks/a%26b/name/Loc%2Fation",
            response={"success": True},
            expected=LocationDeregistration(success=True),
        ),
        id="unregister-encodes-both",
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


@pytest.mark.parametrize(
    ("answer", "account", "service"),
    [
        pytest.param(REGISTRATION_JSON, "0212312345-00001", "Location", id="live-service-names"),
        pytest.param(
            {"account": "0212312345-00001", "name": "DeviceLocation"},
            "0212312345-00001",
            "DeviceLocation",
            id="seed-model-names",
        ),
    ],
)
async def test_register_answer_exposes_both_field_pairs(
    client: AsyncThingSpaceClient,
    mock_api: respx.MockRouter,
    answer: dict[str, str],
    account: str,
    service: str,
) -> None:
    mock_api.post(f"/loc/v1/callbacks/{ACCOUNT}").respond(json=answer)
    registration = await client.location.register(ACCOUNT, service="Location", url=LISTENER)
    assert registration.account_id == account
    assert registration.service == service
    assert registration.model_dump(by_alias=True, exclude_none=True) == answer


async def test_register_answer_with_both_pairs_prefers_live_names(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    answer = {"account": "old", "name": "Location", "accountName": "new", "serviceName": "Location"}
    mock_api.post(f"/loc/v1/callbacks/{ACCOUNT}").respond(json=answer)
    registration = await client.location.register(ACCOUNT, service="Location", url=LISTENER)
    assert (registration.account, registration.account_name) == ("old", "new")
    assert registration.account_id == "new"


async def test_raw_register_exposes_shared_secret_header(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.post(f"/loc/v1/callbacks/{ACCOUNT}").respond(
        200, json=REGISTRATION_JSON, headers={"X-ThingSpace-Shared-Secret": "loc-secret"}
    )
    response = await client.location.with_raw_response.register(
        ACCOUNT, service="Location", url=LISTENER
    )
    assert response.status_code == 200
    assert response.headers["X-ThingSpace-Shared-Secret"] == "loc-secret"
    assert response.parse() == REGISTRATION


async def test_raw_list_and_unregister(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.get(f"/loc/v1/callbacks/{ACCOUNT}").respond(json=LIST_JSON)
    mock_api.delete(f"/loc/v1/callbacks/{ACCOUNT}/name/Location").respond(json={"success": True})
    raw = client.location.with_raw_response
    assert (await raw.list(ACCOUNT)).parse() == LIST
    assert (await raw.unregister(ACCOUNT, service="Location")).parse().success is True


async def test_unknown_service_name_in_list_is_kept(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.get(f"/loc/v1/callbacks/{ACCOUNT}").respond(
        json=[{"name": "GeoFence", "url": LISTENER, "region": "us-east"}]
    )
    [callback] = await client.location.list(ACCOUNT)
    assert callback.name == "GeoFence"
    assert isinstance(callback.name, LocationServiceName)
    assert callback.model_extra == {"region": "us-east"}
