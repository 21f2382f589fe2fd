"""``client.account_number``: the three Hyper Precise Location operations."""

from __future__ import annotations

import pytest
import respx

from thingspace_callbacks import AsyncThingSpaceClient
from thingspace_callbacks.models import (
    HyperPreciseCallback,
    HyperPreciseResponseCode,
    HyperPreciseResult,
)

from ._wire import Op, check_operation, check_request_options

ACCOUNT = "0642233445-00001"
PATH = "/hyper-precise/v1/callbacks"
LISTENER = "https://listener.example.com/hpl"
CALLBACK_JSON = {"aname": ACCOUNT, "name": "BullseyeReporting", "url": LISTENER}
CALLBACK = HyperPreciseCallback(aname=ACCOUNT, name="BullseyeReporting", url=LISTENER)
DELETED_JSON = {"responseCode": "SUCCESS", "message": "Callback deleted"}
DELETED = HyperPreciseResult(
    response_code=HyperPreciseResponseCode.SUCCESS, message="Callback deleted"
)

OPS = [
    pytest.param(
        Op(
            lambda c, **o: c.account_number.list(ACCOUNT, **o),
            "GET",
            PATH,
            params={"accountNumber": ACCOUNT},
            response=[CALLBACK_JSON],
            expected=[CALLBACK],
        ),
        id="list",
    ),
    pytest.param(
        Op(
            lambda c, **o: c.account_number.register(
                ACCOUNT, service="BullseyeReporting", url=LISTENER, **o
            ),
            "POST",
            PATH,
            params={"accountNumber": ACCOUNT},
            # Older servers read the listener from headers, newer ones from the body.
            headers={"name": "BullseyeReporting", "url": LISTENER},
            body=CALLBACK_JSON,
            response=CALLBACK_JSON,
            expected=CALLBACK,
        ),
        id="register",
    ),
    pytest.param(
        Op(
            # A body without the account gets it; the headers come from the body.
            lambda c, **o: c.account_number.register(
                ACCOUNT, {"name": "BullseyeReporting", "url": LISTENER}, **o
            ),
            "POST",
            PATH,
            params={"accountNumber": ACCOUNT},
            headers={"name": "BullseyeReporting", "url": LISTENER},
            body={"aname": ACCOUNT, "name": "BullseyeReporting", "url": LISTENER},
            response=CALLBACK_JSON,
            expected=CALLBACK,
        ),
        id="register-explicit-body",
    ),
    pytest.param(
        Op(
            lambda c, **o: c.account_number.unregister(ACCOUNT, "BullseyeReporting", **o),
            "DELETE",
            PATH,
            # The seed names the parameter `name`, newer SDKs `service`: both are sent.
            params={
                "accountNumber": ACCOUNT,
                "name": "BullseyeReporting",
                "service": "BullseyeReporting",
            },
            response=DELETED_JSON,
            expected=DELETED,
        ),
        id="unregister",
    ),
    pytest.param(
        Op(
            lambda c, **o: c.account_number.list("acct&x=1 2", **o),
            "GET",
            PATH,
            params={"accountNumber": "acct&x=1 2"},
            response=[],
            expected=[],
        ),
        id="list-encodes-query",
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


async def test_register_answer_in_newer_shape_keeps_account_name(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    # A newer Verizon SDK documents {"accountName", "name"} as the answer.
    mock_api.post(PATH).respond(json={"accountName": ACCOUNT, "name": "BullseyeReporting"})
    created = await client.account_number.register(
        ACCOUNT, service="BullseyeReporting", url=LISTENER
    )
    assert created.name == "BullseyeReporting"
    assert created.model_extra == {"accountName": ACCOUNT}


async def test_unknown_response_code_parses(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.delete(PATH).respond(json={"responseCode": "PARTIAL_SUCCESS", "message": "m"})
    result = await client.account_number.unregister(ACCOUNT, "BullseyeReporting")
    assert result.response_code == "PARTIAL_SUCCESS"
    assert isinstance(result.response_code, HyperPreciseResponseCode)


async def test_raw_unregister(client: AsyncThingSpaceClient, mock_api: respx.MockRouter) -> None:
    mock_api.delete(PATH).respond(json=DELETED_JSON, headers={"x-vz-request-id": "hpl-3"})
    response = await client.account_number.with_raw_response.unregister(ACCOUNT, "Bullseye")
    assert (response.status_code, response.request_id) == (200, "hpl-3")
    assert response.parse() == DELETED
