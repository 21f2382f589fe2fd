"""``client.callbacks``: the seed's 20 method names, parameter names and models, async."""

from __future__ import annotations

import inspect

import pytest
import respx

from thingspace_callbacks import AsyncThingSpaceClient
from thingspace_callbacks.callbacks import Callbacks, CallbacksController
from thingspace_callbacks.models import CallBack3

from .resources._seed_calls import SEED_CALLS, SeedCall
from .resources._wire import assert_sent

# Each seed method's parameters, in the seed's order (seed-callbacks-controller.md).
SEED_PARAMETERS = {
    "get_diagnostics_subscription_callback_info": ["account_name"],
    "register_diagnostics_callback_url": ["body"],
    "unregister_diagnostics_callback": ["account_name", "service_name"],
    "get_registered_callback_ur_ls": ["account"],
    "register_callback_url": ["account", "body"],
    "deregister_callback_url": ["account", "service"],
    "get_registered_callback_information": ["account"],
    "update_https_callback_address": ["account", "body"],
    "create_https_callback_address": ["account", "body"],
    "delete_registered_callback": ["account"],
    "registered_callback_information": ["acc"],
    "update_https_callback_address_1": ["acc", "body"],
    "create_https_callback_address_1": ["acc", "body"],
    "delete_https_callback_address": ["acc"],
    "list_callbacks_using_get": ["aname"],
    "register_callback_using_post": ["aname", "body"],
    "unregister_callback_using_delete": ["aname", "sname"],
    "callbacks_account_number_get": ["account_number"],
    "callbacks_account_number_post": ["account_number", "name", "url", "body"],
    "callbacks_account_number_name_service_delete": ["account_number", "name"],
}

seed_calls = pytest.mark.parametrize("call", SEED_CALLS, ids=lambda call: call.name)


@seed_calls
async def test_seed_method_sends_its_operation(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, call: SeedCall
) -> None:
    route = mock_api.route().respond(200, json=call.response)
    result = await getattr(client.callbacks, call.name)(*call.args)
    assert route.call_count == 1
    assert_sent(
        route.calls.last.request,
        method=call.method,
        path=call.path,
        params=call.params,
        body=call.body,
        headers=call.headers,
    )
    items = result if call.is_list else [result]
    assert isinstance(items, list)
    assert len(items) == (len(call.response) if isinstance(call.response, list) else 1)
    assert all(type(item) is call.returns for item in items)


@seed_calls
async def test_seed_method_takes_request_options(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, call: SeedCall
) -> None:
    route = mock_api.route().respond(200, json=call.response)
    await getattr(client.callbacks, call.name)(
        *call.args, timeout=None, extra_headers={"X-Seed": "1"}
    )
    request = route.calls.last.request
    assert request.extensions["timeout"] == dict.fromkeys(("connect", "read", "write", "pool"))
    assert request.headers["x-seed"] == "1"


def test_facade_has_exactly_the_seed_methods_and_parameters() -> None:
    public = {name for name in vars(Callbacks) if not name.startswith("_")}
    assert public == set(SEED_PARAMETERS)
    for name, expected in SEED_PARAMETERS.items():
        parameters = list(inspect.signature(getattr(Callbacks, name)).parameters.values())
        positional = [p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
        assert positional == ["self", *expected], name
        assert inspect.iscoroutinefunction(getattr(Callbacks, name)), name
    assert {call.name for call in SEED_CALLS} == set(SEED_PARAMETERS)


async def test_seed_keyword_arguments_work(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    route = mock_api.post("/hyper-precise/v1/callbacks").respond(
        json={"aname": "a", "name": "n", "url": "https://example.com/h"}
    )
    await client.callbacks.callbacks_account_number_post(
        account_number="a",
        name="n",
        url="https://example.com/h",
        body=CallBack3(aname="a", name="n", url="https://example.com/h"),
    )
    assert_sent(
        route.calls.last.request,
        method="POST",
        path="/hyper-precise/v1/callbacks",
        params={"accountNumber": "a"},
        headers={"name": "n", "url": "https://example.com/h"},
        body={"aname": "a", "name": "n", "url": "https://example.com/h"},
    )


async def test_seed_class_name_and_shared_instance(client: AsyncThingSpaceClient) -> None:
    assert CallbacksController is Callbacks
    assert isinstance(client.callbacks, Callbacks)
    assert client.callbacks is client.callbacks
