"""The per-family sub-clients of :class:`~thingspace_callbacks.AsyncThingSpaceClient`.

Each family's module (and its models) is imported on first use (PEP 562): the client's
``location`` property, say, loads the Location sub-client and models only.
"""

from __future__ import annotations

# Not `from typing import TYPE_CHECKING`, which would be a public name here; type
# checkers treat any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from .connectivity import Connectivity as Connectivity
    from .connectivity import ConnectivityWithRawResponse as ConnectivityWithRawResponse
    from .diagnostics import Diagnostics as Diagnostics
    from .diagnostics import DiagnosticsWithRawResponse as DiagnosticsWithRawResponse
    from .firmware import Firmware as Firmware
    from .firmware import FirmwareWithRawResponse as FirmwareWithRawResponse
    from .hyper_precise import HyperPrecise as HyperPrecise
    from .hyper_precise import HyperPreciseWithRawResponse as HyperPreciseWithRawResponse
    from .location import Location as Location
    from .location import LocationWithRawResponse as LocationWithRawResponse

__all__ = (
    "Connectivity",
    "ConnectivityWithRawResponse",
    "Diagnostics",
    "DiagnosticsWithRawResponse",
    "Firmware",
    "FirmwareWithRawResponse",
    "HyperPrecise",
    "HyperPreciseWithRawResponse",
    "Location",
    "LocationWithRawResponse",
)

_HOMES: dict[str, str] = {
    "Connectivity": "connectivity",
    "ConnectivityWithRawResponse": "connectivity",
    "HyperPrecise": "hyper_precise",
    "HyperPreciseWithRawResponse": "hyper_precise",
    "Diagnostics": "diagnostics",
    "DiagnosticsWithRawResponse": "diagnostics",
    "Firmware": "firmware",
    "FirmwareWithRawResponse": "firmware",
    "Location": "location",
    "LocationWithRawResponse": "location",
}
"""The module each sub-client is defined in."""

if not TYPE_CHECKING:  # type checkers see the imports above instead
    from .._exports import lazy_exports

    __getattr__, __dir__ = lazy_exports(globals(), _HOMES)
    del lazy_exports


del TYPE_CHECKING
