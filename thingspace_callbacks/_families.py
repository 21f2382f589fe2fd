"""The callback families: the one place their facts live.

ThingSpace has six families of callback listeners. Each family's sub-client
(:mod:`thingspace_callbacks.resources`) keeps explicit, typed methods, because users
and type checkers need real signatures; everything that treats the families alike
reads this table instead of restating it: the resources (operation names and paths),
the seed facade (:mod:`thingspace_callbacks.callbacks`), the command line (its family
groups and ``bulk``'s ``FAMILY``), the queue (``"connectivity.register"``), the sandbox
(its registry and admin API) and the tests.

A family's :attr:`Family.name` is the client's attribute (``client.connectivity``), the
queue's and the sandbox's family name, and the prefix of its operation names
(``"connectivity.list"``); :attr:`Family.cli` is the command line's spelling
(``thingspace-callbacks hyper-precise list``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

__all__ = ["FAMILIES", "VERBS", "Family", "family"]

Verb = Literal["list", "get", "register", "update", "unregister"]

VERBS: tuple[Verb, ...] = ("list", "get", "register", "update", "unregister")
"""Every verb a family's sub-client may speak (a family speaks a subset)."""


@dataclass(frozen=True)
class Family:
    """One callback family."""

    name: str
    """The client's attribute (``client.<name>``), also the family's name in queued
    operations, in the sandbox and in operation names (``"<name>.<verb>"``)."""
    cli: str
    """The command line's group name and ``bulk``'s ``FAMILY``."""
    title: str
    """What Verizon's documentation calls the API."""
    read: Literal["list", "get"]
    """``list`` when the read answers every listener of the account, ``get`` when an
    account has one listener per service (or one in all) and the read answers it."""
    takes_service: bool
    """Whether ``register`` and ``unregister`` take a ``service``: ``False`` when an
    account has one listener in all (FOTA)."""
    register_keywords: tuple[str, ...]
    """The keyword arguments of ``register`` besides ``account`` and ``body``."""
    paths: Mapping[str, str]
    """``"METHOD path"`` under the API root of each verb, as Verizon documents it."""
    seed: Mapping[str, str]
    """The seed SDK's ``CallbacksController`` method of each verb."""
    service_in_path: bool = False
    """Whether ``unregister`` puts the service in the request's path (so it must be a
    path segment, not only an identifier)."""
    listener_in_headers: bool = False
    """Whether ``register`` also sends the service and the URL as HTTP headers (so they
    must be header values)."""
    module: str = ""
    """The module of :mod:`thingspace_callbacks.resources` defining its sub-client."""

    @property
    def verbs(self) -> tuple[Verb, ...]:
        """The verbs its sub-client speaks, in :data:`VERBS` order."""
        return tuple(verb for verb in VERBS if verb in self.paths)

    def operation(self, verb: str) -> str:
        """The operation's name: ``"<name>.<verb>"`` (``"connectivity.register"``)."""
        return f"{self.name}.{verb}"

    def path(self, verb: str) -> str:
        """The path template of ``verb`` (``{account}`` and ``{service}`` filled in by
        the sub-client)."""
        return self.paths[verb].partition(" ")[2]

    def method(self, verb: str) -> str:
        """The HTTP method of ``verb``."""
        return self.paths[verb].partition(" ")[0]

    def endpoint(self, verb: str) -> tuple[str, str, str]:
        """The operation name, HTTP method and path of ``verb``, as the pipeline's
        ``Endpoint`` takes them."""
        return self.operation(verb), self.method(verb), self.path(verb)


def _paths(**paths: str) -> Mapping[str, str]:
    return MappingProxyType(paths)


def _fota(version: str, seed: Mapping[str, str]) -> Family:
    path = f"/fota/{version}/callbacks/{{account}}"
    return Family(
        name="firmware" if version == "v2" else "firmware_v3",
        cli="firmware" if version == "v2" else "firmware-v3",
        title=f"Software Management (FOTA {version})",
        read="get",
        takes_service=False,
        register_keywords=("url",),
        paths=_paths(
            get=f"GET {path}",
            register=f"POST {path}",
            update=f"PUT {path}",
            unregister=f"DELETE {path}",
        ),
        seed=MappingProxyType(seed),
        module="firmware",
    )


FAMILIES: tuple[Family, ...] = (
    Family(
        name="diagnostics",
        cli="diagnostics",
        title="Device Diagnostics",
        read="get",
        takes_service=True,
        register_keywords=("service", "url", "http_headers"),
        paths=_paths(
            get="GET /diagnostics/v1/callbacks",
            register="POST /diagnostics/v1/callbacks",
            unregister="DELETE /diagnostics/v1/callbacks",
        ),
        seed=MappingProxyType(
            {
                "get": "get_diagnostics_subscription_callback_info",
                "register": "register_diagnostics_callback_url",
                "unregister": "unregister_diagnostics_callback",
            }
        ),
        module="diagnostics",
    ),
    Family(
        name="location",
        cli="location",
        title="Device Location",
        read="list",
        takes_service=True,
        register_keywords=("service", "url"),
        paths=_paths(
            list="GET /loc/v1/callbacks/{account}",
            register="POST /loc/v1/callbacks/{account}",
            unregister="DELETE /loc/v1/callbacks/{account}/name/{service}",
        ),
        seed=MappingProxyType(
            {
                "list": "get_registered_callback_ur_ls",
                "register": "register_callback_url",
                "unregister": "deregister_callback_url",
            }
        ),
        service_in_path=True,
        module="location",
    ),
    _fota(
        "v2",
        {
            "get": "get_registered_callback_information",
            "register": "create_https_callback_address",
            "update": "update_https_callback_address",
            "unregister": "delete_registered_callback",
        },
    ),
    _fota(
        "v3",
        {
            "get": "registered_callback_information",
            "register": "create_https_callback_address_1",
            "update": "update_https_callback_address_1",
            "unregister": "delete_https_callback_address",
        },
    ),
    Family(
        name="connectivity",
        cli="connectivity",
        title="Connectivity Management (M2M)",
        read="list",
        takes_service=True,
        register_keywords=("service", "url", "username", "password"),
        paths=_paths(
            list="GET /m2m/v1/callbacks/{account}",
            register="POST /m2m/v1/callbacks/{account}",
            unregister="DELETE /m2m/v1/callbacks/{account}/name/{service}",
        ),
        seed=MappingProxyType(
            {
                "list": "list_callbacks_using_get",
                "register": "register_callback_using_post",
                "unregister": "unregister_callback_using_delete",
            }
        ),
        service_in_path=True,
        module="connectivity",
    ),
    Family(
        name="hyper_precise",
        cli="hyper-precise",
        title="Hyper Precise Location",
        read="list",
        takes_service=True,
        register_keywords=("service", "url"),
        paths=_paths(
            list="GET /hyper-precise/v1/callbacks",
            register="POST /hyper-precise/v1/callbacks",
            unregister="DELETE /hyper-precise/v1/callbacks",
        ),
        seed=MappingProxyType(
            {
                "list": "callbacks_account_number_get",
                "register": "callbacks_account_number_post",
                "unregister": "callbacks_account_number_name_service_delete",
            }
        ),
        listener_in_headers=True,
        module="hyper_precise",
    ),
)
"""Every family, in the order the documentation presents them."""

_BY_NAME: dict[str, Family] = {f.name: f for f in FAMILIES} | {f.cli: f for f in FAMILIES}


def family(name: str) -> Family:
    """The family called ``name``, by its :attr:`~Family.name` or its
    :attr:`~Family.cli` spelling (``"hyper_precise"`` or ``"hyper-precise"``).

    :raises KeyError: no family has that name.
    """
    return _BY_NAME[name]
