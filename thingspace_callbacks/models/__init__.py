"""Request and response models of every callback family.

Readable names first; the seed SDK's generated names (``Callback1``, ``CallBack3``,
``SuccessResponse1`` ...) are aliases of the same classes, so code written against the
seed keeps importing what it imported.
"""

from __future__ import annotations

from ._base import OpenEnum, ThingSpaceModel
from .connectivity import (
    ConnectivityCallback,
    ConnectivityCallbackRequest,
    ConnectivityRegistration,
    ConnectivityServiceName,
)
from .diagnostics import DiagnosticsCallback, DiagnosticsCallbackRegistration
from .firmware import FirmwareCallback, FirmwareDeletion
from .hyper_precise import HyperPreciseCallback, HyperPreciseResponseCode, HyperPreciseResult
from .location import (
    LocationCallback,
    LocationDeregistration,
    LocationRegistration,
    LocationServiceName,
)

# The seed SDK's names, as aliases.
Callback = DiagnosticsCallback
CallbackRegistrationRequest = DiagnosticsCallbackRegistration
Callback1 = LocationCallback
CallbackServiceNameEnum = LocationServiceName
CallbackRegistrationResponse = LocationRegistration
SuccessResponse = LocationDeregistration
CallbackSummary = FirmwareCallback
CallbackRequest = FirmwareCallback
CallbackResp = FirmwareCallback
SuccessResponse1 = FirmwareDeletion
Callback2 = ConnectivityCallback
RegisterCallbackRequest = ConnectivityCallbackRequest
CallbackRegistrationResponse1 = ConnectivityRegistration
CallBackCreated = HyperPreciseCallback
CallBack3 = HyperPreciseCallback
ApiResponseCode = HyperPreciseResult
ApiResponseCodeEnum = HyperPreciseResponseCode

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
