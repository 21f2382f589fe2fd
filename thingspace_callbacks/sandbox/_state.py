"""The sandbox's memory: registered listeners per family, account and service."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, cast, get_args

from .._errors import InvalidArgumentError
from .._families import family

__all__ = ["FAMILIES", "Family", "Registration", "Registry", "family_name"]

Family = Literal[
    "diagnostics", "location", "firmware", "firmware_v3", "connectivity", "hyper_precise"
]
"""A callback family, named as the client's sub-client is."""

FAMILIES: tuple[Family, ...] = get_args(Family)
"""The families, as the registry (:mod:`thingspace_callbacks._families`) names them:
the test suite checks that :data:`Family` lists exactly those."""


def family_name(value: str) -> Family:
    """The family ``value`` names: the client's attribute (``"hyper_precise"``) or the
    command line's spelling (``"hyper-precise"``), in any case; raises
    :class:`~thingspace_callbacks.InvalidArgumentError` naming the choices otherwise."""
    try:
        return cast(Family, family(value.strip().lower()).name)
    except KeyError:
        pass
    raise InvalidArgumentError(f"unknown family {value!r}; choose one of {', '.join(FAMILIES)}")


@dataclass(frozen=True)
class Registration:
    """One registered listener.

    FOTA accounts have one listener each; their ``service`` is ``""``.
    """

    family: Family
    account: str
    service: str
    url: str
    created_on: datetime
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    http_headers: Mapping[str, object] | None = None
    shared_secret: str | None = field(default=None, repr=False)
    """The HMAC key given out at registration (Location and Diagnostics only)."""


class Registry:
    """Registrations keyed by family, account and service; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[tuple[Family, str], dict[str, Registration]] = {}

    def put(self, registration: Registration) -> Registration:
        """Add or replace the listener of the registration's (family, account, service)."""
        key = (registration.family, registration.account)
        with self._lock:
            self._data.setdefault(key, {})[registration.service] = registration
        return registration

    def update_url(
        self, family: Family, account: str, service: str, url: str
    ) -> Registration | None:
        """Point an existing listener at ``url``; ``None`` when there is none."""
        with self._lock:
            services = self._data.get((family, account))
            current = services.get(service) if services else None
            if current is None or services is None:
                return None
            services[service] = updated = replace(current, url=url)
            return updated

    def get(self, family: Family, account: str, service: str) -> Registration | None:
        """The listener of one service, if registered."""
        with self._lock:
            return self._data.get((family, account), {}).get(service)

    def listeners(self, family: Family, account: str) -> list[Registration]:
        """The account's listeners in registration order."""
        with self._lock:
            return list(self._data.get((family, account), {}).values())

    def remove(self, family: Family, account: str, service: str) -> Registration | None:
        """Forget one listener and return it; ``None`` when it was not registered."""
        with self._lock:
            services = self._data.get((family, account))
            if not services or service not in services:
                return None
            removed = services.pop(service)
            if not services:
                del self._data[(family, account)]
            return removed

    def all(self) -> list[Registration]:
        """Every registration, of every family and account."""
        with self._lock:
            return [r for services in self._data.values() for r in services.values()]

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._data.clear()
