"""The per-family sub-clients of :class:`~thingspace_callbacks.AsyncThingSpaceClient`."""

from __future__ import annotations

from .account_name import AccountName, AccountNameWithRawResponse
from .account_number import AccountNumber, AccountNumberWithRawResponse
from .diagnostics import Diagnostics, DiagnosticsWithRawResponse
from .firmware import Firmware, FirmwareWithRawResponse
from .location import Location, LocationWithRawResponse

__all__ = (
    "AccountName",
    "AccountNameWithRawResponse",
    "AccountNumber",
    "AccountNumberWithRawResponse",
    "Diagnostics",
    "DiagnosticsWithRawResponse",
    "Firmware",
    "FirmwareWithRawResponse",
    "Location",
    "LocationWithRawResponse",
)
