"""Request and response models of every callback family.

Readable names first; the seed SDK's generated names (``Callback1``, ``CallBack3``,
``SuccessResponse1`` ...) are aliases of the same classes, so code written against the
seed keeps importing what it imported.

Each model module is imported on first use (PEP 562): a program that talks to one
family builds only that family's models.
"""

from __future__ import annotations

# Not `from typing import TYPE_CHECKING`, which would be a public name here; type
# checkers treat any name TYPE_CHECKING as true. The seed names (`... as Callback1`)
# are the same classes under a second name.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._base import OpenEnum as OpenEnum
    from ._base import ThingSpaceModel as ThingSpaceModel
    from .connectivity import ConnectivityCallback as Callback2
    from .connectivity import ConnectivityCallback as ConnectivityCallback
    from .connectivity import ConnectivityCallbackRequest as ConnectivityCallbackRequest
    from .connectivity import ConnectivityCallbackRequest as RegisterCallbackRequest
    from .connectivity import ConnectivityRegistration as CallbackRegistrationResponse1
    from .connectivity import ConnectivityRegistration as ConnectivityRegistration
    from .connectivity import ConnectivityServiceName as ConnectivityServiceName
    from .diagnostics import DiagnosticsCallback as Callback
    from .diagnostics import DiagnosticsCallback as DiagnosticsCallback
    from .diagnostics import DiagnosticsCallbackRegistration as CallbackRegistrationRequest
    from .diagnostics import DiagnosticsCallbackRegistration as DiagnosticsCallbackRegistration
    from .firmware import FirmwareCallback as CallbackRequest
    from .firmware import FirmwareCallback as CallbackResp
    from .firmware import FirmwareCallback as CallbackSummary
    from .firmware import FirmwareCallback as FirmwareCallback
    from .firmware import FirmwareDeletion as FirmwareDeletion
    from .firmware import FirmwareDeletion as SuccessResponse1
    from .hyper_precise import HyperPreciseCallback as CallBack3
    from .hyper_precise import HyperPreciseCallback as CallBackCreated
    from .hyper_precise import HyperPreciseCallback as HyperPreciseCallback
    from .hyper_precise import HyperPreciseResponseCode as ApiResponseCodeEnum
    from .hyper_precise import HyperPreciseResponseCode as HyperPreciseResponseCode
    from .hyper_precise import HyperPreciseResult as ApiResponseCode
    from .hyper_precise import HyperPreciseResult as HyperPreciseResult
    from .location import LocationCallback as Callback1
    from .location import LocationCallback as LocationCallback
    from .location import LocationDeregistration as LocationDeregistration
    from .location import LocationDeregistration as SuccessResponse
    from .location import LocationRegistration as CallbackRegistrationResponse
    from .location import LocationRegistration as LocationRegistration
    from .location import LocationServiceName as CallbackServiceNameEnum
    from .location import LocationServiceName as LocationServiceName

__all__ = (
    "ApiResponseCode",
    "ApiResponseCodeEnum",
    "CallBack3",
    "CallBackCreated",
    "Callback",
    "Callback1",
    "Callback2",
    "CallbackRegistrationRequest",
    "CallbackRegistrationResponse",
    "CallbackRegistrationResponse1",
    "CallbackRequest",
    "CallbackResp",
    "CallbackServiceNameEnum",
    "CallbackSummary",
    "ConnectivityCallback",
    "ConnectivityCallbackRequest",
    "ConnectivityRegistration",
    "ConnectivityServiceName",
    "DiagnosticsCallback",
    "DiagnosticsCallbackRegistration",
    "FirmwareCallback",
    "FirmwareDeletion",
    "HyperPreciseCallback",
    "HyperPreciseResponseCode",
    "HyperPreciseResult",
    "LocationCallback",
    "LocationDeregistration",
    "LocationRegistration",
    "LocationServiceName",
    "OpenEnum",
    "RegisterCallbackRequest",
    "SuccessResponse",
    "SuccessResponse1",
    "ThingSpaceModel",
)

_HOMES: dict[str, tuple[str, str]] = {
    "ApiResponseCode": ("hyper_precise", "HyperPreciseResult"),
    "ApiResponseCodeEnum": ("hyper_precise", "HyperPreciseResponseCode"),
    "CallBack3": ("hyper_precise", "HyperPreciseCallback"),
    "CallBackCreated": ("hyper_precise", "HyperPreciseCallback"),
    "Callback": ("diagnostics", "DiagnosticsCallback"),
    "Callback1": ("location", "LocationCallback"),
    "Callback2": ("connectivity", "ConnectivityCallback"),
    "CallbackRegistrationRequest": ("diagnostics", "DiagnosticsCallbackRegistration"),
    "CallbackRegistrationResponse": ("location", "LocationRegistration"),
    "CallbackRegistrationResponse1": ("connectivity", "ConnectivityRegistration"),
    "CallbackRequest": ("firmware", "FirmwareCallback"),
    "CallbackResp": ("firmware", "FirmwareCallback"),
    "CallbackServiceNameEnum": ("location", "LocationServiceName"),
    "CallbackSummary": ("firmware", "FirmwareCallback"),
    "ConnectivityCallback": ("connectivity", "ConnectivityCallback"),
    "ConnectivityCallbackRequest": ("connectivity", "ConnectivityCallbackRequest"),
    "ConnectivityRegistration": ("connectivity", "ConnectivityRegistration"),
    "ConnectivityServiceName": ("connectivity", "ConnectivityServiceName"),
    "DiagnosticsCallback": ("diagnostics", "DiagnosticsCallback"),
    "DiagnosticsCallbackRegistration": ("diagnostics", "DiagnosticsCallbackRegistration"),
    "FirmwareCallback": ("firmware", "FirmwareCallback"),
    "FirmwareDeletion": ("firmware", "FirmwareDeletion"),
    "HyperPreciseCallback": ("hyper_precise", "HyperPreciseCallback"),
    "HyperPreciseResponseCode": ("hyper_precise", "HyperPreciseResponseCode"),
    "HyperPreciseResult": ("hyper_precise", "HyperPreciseResult"),
    "LocationCallback": ("location", "LocationCallback"),
    "LocationDeregistration": ("location", "LocationDeregistration"),
    "LocationRegistration": ("location", "LocationRegistration"),
    "LocationServiceName": ("location", "LocationServiceName"),
    "OpenEnum": ("_base", "OpenEnum"),
    "RegisterCallbackRequest": ("connectivity", "ConnectivityCallbackRequest"),
    "SuccessResponse": ("location", "LocationDeregistration"),
    "SuccessResponse1": ("firmware", "FirmwareDeletion"),
    "ThingSpaceModel": ("_base", "ThingSpaceModel"),
}
"""Each name's module and the class it names (the seed names are aliases)."""

if not TYPE_CHECKING:  # type checkers see the imports above instead
    from .._exports import lazy_exports

    __getattr__, __dir__ = lazy_exports(globals(), _HOMES)
    del lazy_exports


del TYPE_CHECKING
