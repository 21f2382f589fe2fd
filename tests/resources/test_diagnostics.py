"""``client.diagnostics``: the three Device Diagnostics operations."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import respx

from thingspace_callbacks import AsyncThingSpaceClient
from thingspace_callbacks.models import DiagnosticsCallback, DiagnosticsCallbackRegistration

from ._wire import Op, check_operation, check_request_options

ACCOUNT = "0000123456-00001"
PATH = "/diagnostics/v1/callbacks"

# The seed's example answer, the same for all three operations.
CALLBACK_JSON = {
    "accountName": "TestQAAccount",
    "serviceName": "string",
    "endpoint": "https://yourwebsite.com",
    "httpHeaders": {},
    "createdOn": "2019-09-07T23:57:53.292Z",
}
CALLBACK = DiagnosticsCallback(
    account_name="TestQAAccount",
    service_name="string",
    endpoint="https://yourwebsite.com",
    http_headers={},
    created_on=datetime(2019, 9, 7, 23, 57, 53, 292000, tzinfo=timezone.utc),
)
REGISTRATION_JSON = {
    "accountName": "TestQAAccount",
    "serviceName": "Diagnostics",
    "endpoint": "https://yourwebsite.com",
    "httpHeaders": {},
}

OPS = [
    pytest.param(
        Op(
            lambda c, **o: c.diagnostics.get(ACCOUNT, **o),
            "GET",
            PATH,
            params={"accountName": ACCOUNT},
            response=CALLBACK_JSON,
            expected=CALLBACK,
        ),
        id="get",
    ),
    pytest.param(
        Op(
            lambda c, **o: c.diagnostics.register(
                "TestQAAccount",
                service="Diagnostics",
                url="https://yourwebsite.com",
                http_headers={},
                **o,
            ),
            "POST",
            PATH,
            body=REGISTRATION_JSON,
            response=CALLBACK_JSON,
            expected=CALLBACK,
        ),
        id="register-fields",
    ),
    pytest.param(
        Op(
            lambda c, **o: c.diagnostics.register(
                "TestQAAccount",
                DiagnosticsCallbackRegistration(
                    account_name="TestQAAccount",
                    service_name="Diagnostics",
                    endpoint="https://yourwebsite.com",
                    http_headers={},
                ),
                **o,
            ),
            "POST",
            PATH,
            body=REGISTRATION_JSON,
            response=CALLBACK_JSON,
            expected=CALLBACK,
        ),
        id="register-model",
    ),
    pytest.param(
        Op(
            lambda c, **o: c.diagnostics.register("TestQAAccount", REGISTRATION_JSON, **o),
            "POST",
            PATH,
            body=REGISTRATION_JSON,
            response=CALLBACK_JSON,
            expected=CALLBACK,
        ),
        id="register-dict",
    ),
    pytest.param(
        Op(
            # No http_headers: the body carries no httpHeaders key (never a null).
            lambda c, **o: c.diagnostics.register(
                "TestQAAccount",
                service="Diagnostics",
                url="https://yourwebsite.com",
                **o,
            ),
            "POST",
            PATH,
            body={
                "accountName": "TestQAAccount",
                "serviceName": "Diagnostics",
                "endpoint": "https://yourwebsite.com",
            },
            response=CALLBACK_JSON,
            expected=CALLBACK,
        ),
        id="register-no-null-fields",
    ),
    pytest.param(
        Op(
            lambda c, **o: c.diagnostics.unregister(ACCOUNT, service="Diagnostics", **o),
            "DELETE",
            PATH,
            params={"accountName": ACCOUNT, "serviceName": "Diagnostics"},
            response=CALLBACK_JSON,
            expected=CALLBACK,
        ),
        id="unregister",
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


async def test_created_on_is_an_aware_datetime(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.get(PATH).respond(json=CALLBACK_JSON)
    callback = await client.diagnostics.get(ACCOUNT)
    assert callback.created_on.utcoffset() is not None
    assert callback.created_on.isoformat() == "2019-09-07T23:57:53.292000+00:00"


async def test_raw_register_exposes_shared_secret_header(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.post(PATH).respond(
        201, json=CALLBACK_JSON, headers={"X-ThingSpace-Shared-Secret": "diag-secret"}
    )
    response = await client.diagnostics.with_raw_response.register(
        "TestQAAccount", REGISTRATION_JSON
    )
    assert response.status_code == 201
    assert response.headers["x-thingspace-shared-secret"] == "diag-secret"
    assert response.parse() == CALLBACK
    assert response.parse() is response.parse()


async def test_raw_get_and_unregister(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.route().respond(200, json=CALLBACK_JSON, headers={"x-request-id": "r-1"})
    raw = client.diagnostics.with_raw_response
    got = await raw.get(ACCOUNT)
    gone = await raw.unregister(ACCOUNT, service="Diagnostics")
    assert (got.parse(), gone.parse()) == (CALLBACK, CALLBACK)
    assert got.request_id == "r-1"
