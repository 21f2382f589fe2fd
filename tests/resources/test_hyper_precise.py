"""``client.hyper_precise``: the three Hyper Precise Location operations."""

from __future__ import annotations

import json

import pytest
import respx

from thingspace_callbacks import AsyncThingSpaceClient, InvalidArgumentError
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
            lambda c, **o: c.hyper_precise.list(ACCOUNT, **o),
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
            lambda c, **o: c.hyper_precise.register(
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
            lambda c, **o: c.hyper_precise.register(
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
            lambda c, **o: c.hyper_precise.unregister(ACCOUNT, service="BullseyeReporting", **o),
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
            lambda c, **o: c.hyper_precise.list("acct&x=1+2", **o),
            "GET",
            PATH,
            params={"accountNumber": "acct&x=1+2"},
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


# The seed and Verizon's register page answer the account as `aname`; Verizon's newest SDK
# documents `{"accountName", "name"}` as the register answer. Both fill `aname`.
ANSWER_SHAPES = [
    pytest.param({"aname": ACCOUNT, "name": "BullseyeReporting", "url": LISTENER}, id="aname"),
    pytest.param({"accountName": ACCOUNT, "name": "BullseyeReporting"}, id="accountName"),
]


@pytest.mark.parametrize("answer", ANSWER_SHAPES)
async def test_register_reads_the_account_under_either_name(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, answer: dict[str, str]
) -> None:
    route = mock_api.post(PATH).respond(json=answer)

    created = await client.hyper_precise.register(
        ACCOUNT, service="BullseyeReporting", url=LISTENER
    )

    assert (created.aname, created.name) == (ACCOUNT, "BullseyeReporting")
    assert created.model_extra == {}
    # What is sent stays the seed's shape whatever the server answers.
    assert json.loads(route.calls.last.request.content) == CALLBACK_JSON


@pytest.mark.parametrize("answer", ANSWER_SHAPES)
async def test_seed_facade_reads_the_account_under_either_name(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, answer: dict[str, str]
) -> None:
    mock_api.post(PATH).respond(json=answer)
    mock_api.get(PATH).respond(json=[answer])

    created = await client.callbacks.callbacks_account_number_post(
        ACCOUNT, "BullseyeReporting", LISTENER
    )
    listed = await client.callbacks.callbacks_account_number_get(ACCOUNT)

    assert created.aname == ACCOUNT
    assert [(c.aname, c.name) for c in listed] == [(ACCOUNT, "BullseyeReporting")]


async def test_a_listener_read_as_account_name_is_sent_back_as_aname(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.get(PATH).respond(
        json=[{"accountName": ACCOUNT, "name": "BullseyeReporting", "url": LISTENER}]
    )
    route = mock_api.post(PATH).respond(json=CALLBACK_JSON)

    (listener,) = await client.hyper_precise.list(ACCOUNT)
    await client.hyper_precise.register(ACCOUNT, listener)
    await client.callbacks.callbacks_account_number_post(
        ACCOUNT, "BullseyeReporting", LISTENER, body=listener
    )

    for call in route.calls:
        assert json.loads(call.request.content) == CALLBACK_JSON
        assert (call.request.headers["name"], call.request.headers["url"]) == (
            "BullseyeReporting",
            LISTENER,
        )


async def test_a_body_naming_another_account_as_account_name_is_refused_before_sending(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.post(PATH).respond(json=CALLBACK_JSON)

    with pytest.raises(InvalidArgumentError, match="differs from the account"):
        await client.hyper_precise.register(
            ACCOUNT, {"accountName": "9999999999-00001", "name": "B", "url": LISTENER}
        )

    assert not route.called


async def test_a_body_giving_the_account_as_account_name_is_sent_as_aname(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.post(PATH).respond(json=CALLBACK_JSON)

    await client.hyper_precise.register(
        ACCOUNT, {"accountName": ACCOUNT, "name": "BullseyeReporting", "url": LISTENER}
    )

    assert json.loads(route.calls.last.request.content) == CALLBACK_JSON


async def test_unknown_response_code_parses(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.delete(PATH).respond(json={"responseCode": "PARTIAL_SUCCESS", "message": "m"})
    result = await client.hyper_precise.unregister(ACCOUNT, service="BullseyeReporting")
    assert result.response_code == "PARTIAL_SUCCESS"
    assert isinstance(result.response_code, HyperPreciseResponseCode)


async def test_raw_unregister(client: AsyncThingSpaceClient, mock_api: respx.MockRouter) -> None:
    mock_api.delete(PATH).respond(json=DELETED_JSON, headers={"x-vz-request-id": "hpl-3"})
    response = await client.hyper_precise.with_raw_response.unregister(ACCOUNT, service="Bullseye")
    assert (response.status_code, response.request_id) == (200, "hpl-3")
    assert response.parse() == DELETED
