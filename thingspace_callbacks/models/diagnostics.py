"""Device Diagnostics callback models (``/diagnostics/v1/callbacks``)."""

from __future__ import annotations

from datetime import datetime

from ._base import ThingSpaceModel

__all__ = ["DiagnosticsCallback", "DiagnosticsCallbackRegistration"]


class DiagnosticsCallbackRegistration(ThingSpaceModel):
    """What registers a diagnostics listener (seed name ``CallbackRegistrationRequest``)."""

    account_name: str
    """The account the listener serves, e.g. ``"0000123456-00001"``."""
    service_name: str
    """The service to hear about, e.g. ``"Diagnostics"``."""
    endpoint: str
    """The listener's URL."""
    http_headers: dict[str, object] | None = None
    """Headers ThingSpace stores with the registration."""


class DiagnosticsCallback(ThingSpaceModel):
    """A registered diagnostics listener (seed name ``Callback``)."""

    account_name: str
    service_name: str
    endpoint: str
    created_on: datetime
    """When the listener was registered."""
    http_headers: dict[str, object] | None = None
