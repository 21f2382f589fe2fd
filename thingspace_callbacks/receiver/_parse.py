"""Turn a callback body into the most specific message model that accepts it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ._errors import MalformedMessageError
from ._models import (
    CallbackMessage,
    ConnectivityMessage,
    DiagnosticsMessage,
    FirmwareMessage,
    GenericMessage,
    LocationMessage,
)

__all__ = ["CONNECTIVITY_SERVICES", "decode_body", "parse_message"]

CONNECTIVITY_SERVICES = frozenset(
    {
        "AlertService",
        "AlertsService",
        "CarrierService",
        "DevicePRLInformation",
        "DeviceProfileService",
        "DeviceService",
        "DeviceSuspensionStatus",
        "DeviceUsage",
        "EnhancedConnectivityService",
        "ExternalProvisioningChanges",
        "NiddService",
        "PromoChanges",
        "ResumeTrackingNotification",
        "SMSDeliveryConfirmation",
        "StateService",
        "SubscriptionNotificationService",
    }
)
"""Connectivity Management service names known to this SDK (the list is open)."""

_SERVICE_KINDS: dict[str, type[CallbackMessage]] = {
    **dict.fromkeys(CONNECTIVITY_SERVICES, ConnectivityMessage),
    "Location": LocationMessage,
    "DeviceLocation": LocationMessage,
    "Diagnostics": DiagnosticsMessage,
}

# Keys that only one family uses, checked in this order when the service is unknown;
# the more specific keys come first (a Diagnostics body may also list deviceIds).
_SHAPE_MARKERS: tuple[tuple[type[CallbackMessage], frozenset[str]], ...] = (
    (
        FirmwareMessage,
        frozenset({"firmwareList", "upgradeScheduled", "upgradeProgress", "participantName"}),
    ),
    (DiagnosticsMessage, frozenset({"transactionID"})),
    (LocationMessage, frozenset({"txid", "msid", "pd"})),
    (
        ConnectivityMessage,
        frozenset(
            {
                "requestId",
                "deviceIds",
                "deviceResponse",
                "niddResponse",
                "faultResponse",
                "callbackCount",
                "maxCallbackThreshold",
            }
        ),
    ),
)


def decode_body(body: bytes | str) -> dict[str, Any]:
    """The JSON object in ``body``.

    Raises:
        MalformedMessageError: the body is not UTF-8 JSON, or not a JSON object.
    """
    try:
        payload: object = json.loads(body)
    except (ValueError, RecursionError) as exc:
        # ValueError covers bad JSON, bad UTF-8 and over-long integer literals.
        raise MalformedMessageError("body is not valid JSON") from exc
    if not isinstance(payload, dict):
        raise MalformedMessageError(
            f"body is JSON {type(payload).__name__}, not the JSON object a message is"
        )
    return payload


def parse_message(
    data: bytes | str | Mapping[str, Any], *, service: str | None = None
) -> CallbackMessage:
    """Parse a callback body into a message model.

    The model is chosen by ``service`` when it names a known service, otherwise by keys
    only one family uses; a body that fits no model (or fails the chosen model's field
    types) becomes a :class:`GenericMessage` holding every field, so no message is lost
    for being unfamiliar.

    Args:
        data: the raw body, or an already decoded JSON object.
        service: the service the message was delivered for (e.g. ``"CarrierService"``);
            it becomes ``message.service``.

    Raises:
        MalformedMessageError: the body is not a JSON object, or its ``username`` or
            ``password`` is not a string.
    """
    payload = decode_body(data) if isinstance(data, (bytes, str)) else dict(data)
    kind = _kind_for(payload, service)
    try:
        message: CallbackMessage = kind.model_validate(payload)
    except (ValidationError, RecursionError):
        try:
            message = GenericMessage.model_validate(payload)
        except (ValidationError, RecursionError):
            # Only the credential fields are typed on a GenericMessage. No chaining: a
            # ValidationError quotes the input, which here is a credential.
            raise MalformedMessageError("message username or password is not a string") from None
    message._service = service
    return message


def _kind_for(payload: Mapping[str, Any], service: str | None) -> type[CallbackMessage]:
    if service is not None and service in _SERVICE_KINDS:
        return _SERVICE_KINDS[service]
    for kind, markers in _SHAPE_MARKERS:
        if not markers.isdisjoint(payload):
            return kind
    return GenericMessage
