"""The sync surface is the async one minus ``await``: every public method of every
family, of their raw views, of the seed facade and of the client has its async twin's
signature, so the two cannot drift apart."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from thingspace_callbacks import AsyncThingSpaceClient, ThingSpaceClient
from thingspace_callbacks._families import FAMILIES
from thingspace_callbacks._sync import callbacks as sync_callbacks
from thingspace_callbacks._sync import resources as sync_resources
from thingspace_callbacks.callbacks import Callbacks
from thingspace_callbacks.resources import (
    Connectivity,
    Diagnostics,
    Firmware,
    HyperPrecise,
    Location,
)

ASYNC_FAMILIES = (Diagnostics, Location, Firmware, Connectivity, HyperPrecise)


def public_methods(cls: type) -> Iterator[tuple[str, Callable[..., Any]]]:
    for name, member in inspect.getmembers(cls):
        if not name.startswith("_") and inspect.isfunction(member):
            yield name, member


def twin(cls: type, prefix: str = "Sync") -> type:
    module = sync_callbacks if cls is Callbacks else sync_resources
    return getattr(module, prefix + cls.__name__)  # type: ignore[no-any-return]


@pytest.mark.parametrize("cls", [*ASYNC_FAMILIES, Callbacks], ids=lambda c: c.__name__)
def test_every_method_has_its_async_twins_signature(cls: type) -> None:
    methods = dict(public_methods(cls))
    sync_methods = dict(public_methods(twin(cls)))

    assert sorted(sync_methods) == sorted(methods)
    for name, method in methods.items():
        assert inspect.iscoroutinefunction(method), name
        assert not inspect.iscoroutinefunction(sync_methods[name]), name
        assert inspect.signature(sync_methods[name]) == inspect.signature(method), name
        assert sync_methods[name].__doc__ == method.__doc__, name


@pytest.mark.parametrize("cls", ASYNC_FAMILIES, ids=lambda c: c.__name__)
def test_every_raw_method_has_the_signature_returning_api_response(cls: type) -> None:
    raw_twin = getattr(sync_resources, f"Sync{cls.__name__}WithRawResponse")
    sync_methods = dict(public_methods(raw_twin))

    assert sorted(sync_methods) == sorted(dict(public_methods(cls)))
    for name, method in public_methods(cls):
        expected = inspect.signature(method)
        expected = expected.replace(return_annotation=f"APIResponse[{expected.return_annotation}]")
        assert inspect.signature(sync_methods[name]) == expected, name


def test_every_family_of_the_async_client_is_on_the_sync_client() -> None:
    for family in FAMILIES:
        prop = inspect.getattr_static(ThingSpaceClient, family.name)
        assert isinstance(prop, property), family.name


def test_the_client_has_the_async_clients_constructor_and_methods() -> None:
    sync_init = inspect.signature(ThingSpaceClient.__init__).parameters
    async_init = dict(inspect.signature(AsyncThingSpaceClient.__init__).parameters)
    del async_init["_shared"]
    assert list(sync_init) == list(async_init)
    for name, parameter in sync_init.items():
        if name != "http_client":  # refused: the sync client builds its own pool
            assert parameter == async_init[name], name

    assert inspect.signature(ThingSpaceClient.with_options) == inspect.signature(
        AsyncThingSpaceClient.with_options
    )
    sync_names = {n for n in dir(ThingSpaceClient) if not n.startswith("_")}
    async_names = {n for n in dir(AsyncThingSpaceClient) if not n.startswith("_")}
    # aclose is close, the pool is the loop's; everything else is there by name.
    assert sync_names == (async_names - {"aclose", "http_client"}) | {"close"}
    assert list(inspect.signature(ThingSpaceClient.fan_out).parameters) == list(
        inspect.signature(AsyncThingSpaceClient.fan_out).parameters
    )
