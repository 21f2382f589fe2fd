"""Turn a callback body into the most specific message model that accepts it."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, overload

from pydantic import ValidationError

from .._errors import InvalidArgumentError
from .._validation_errors import describe_problems
from ._errors import MalformedMessageError, MessageTypeError
from ._models import (
    CallbackMessage,
    ConnectivityMessage,
    DiagnosticsMessage,
    FirmwareMessage,
    GenericMessage,
    LocationMessage,
)

__all__ = ["CONNECTIVITY_SERVICES", "decode_body", "parse_message"]

M = TypeVar("M", bound=CallbackMessage)

_MAX_PROBLEMS = 5
"""How many field problems a :class:`MessageTypeError` lists."""

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

    Bytes must be UTF-8 without a byte order mark, as RFC 8259 requires of JSON sent
    between systems. UTF-16 and UTF-32 bodies (which ``json.loads`` would detect and
    decode) and bodies starting with a BOM are refused rather than guessed at, and so
    are ``NaN``, ``Infinity`` and ``-Infinity`` (which ``json.loads`` accepts although
    JSON has no such values) and numbers too large for a float (``1e400``), so that no
    handler meets a number that is not finite.

    :raises MalformedMessageError: the body is not UTF-8 JSON, or not a JSON object.
    """
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedMessageError("body is not UTF-8") from None
    else:
        text = body
    if text.startswith("\ufeff"):
        raise MalformedMessageError("body starts with a byte order mark; UTF-8 has none")
    try:
        payload: object = json.loads(text, parse_constant=_non_standard, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        # ValueError covers bad JSON and over-long integer literals.
        raise MalformedMessageError("body is not valid JSON") from exc
    if not isinstance(payload, dict):
        raise MalformedMessageError(
            f"body is JSON {type(payload).__name__}, not the JSON object a message is"
        )
    return payload


def _non_standard(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


@overload
def parse_message(
    data: bytes | str | Mapping[str, Any], *, service: str | None = None, model: type[M]
) -> M: ...


@overload
def parse_message(
    data: bytes | str | Mapping[str, Any],
    *,
    service: str | None = None,
    model: Sequence[type[CallbackMessage]] | None = None,
) -> CallbackMessage: ...


def parse_message(
    data: bytes | str | Mapping[str, Any],
    *,
    service: str | None = None,
    model: type[CallbackMessage] | Sequence[type[CallbackMessage]] | None = None,
) -> CallbackMessage:
    """Parse a callback body into a message model.

    Without ``model``, the model is chosen by ``service`` when it names a known service,
    otherwise by keys only one family uses; a body that fits no model (or fails the
    chosen model's field types) becomes a :class:`GenericMessage` holding every field,
    so no message is lost for being unfamiliar.

    With ``model`` (what the receiver passes for a handler that declared its message
    type), the result is an instance of that model or of one of those models, never of
    another: the one ``service`` or the body's keys point at is tried first and
    :class:`GenericMessage`, if listed, last.

    :param data: the raw body, or an already decoded JSON object.
    :param service: the service the message was delivered for (e.g. ``"CarrierService"``);
        it becomes ``message.service``.
    :param model: the model, or models, the message must be.

    :raises MalformedMessageError: the body is not a JSON object, or its ``username`` or
        ``password`` is not a string.
    :raises MessageTypeError: the body does not fit ``model`` (only with ``model``).
    """
    payload = decode_body(data) if isinstance(data, (bytes, str)) else dict(data)
    if model is None:
        message = _parse_any(payload, service)
    else:
        models = (model,) if isinstance(model, type) else tuple(model)
        message = _parse_as(payload, service, models)
    return message


def _parse_any(payload: dict[str, Any], service: str | None) -> CallbackMessage:
    kind = _kind_for(payload, service)
    try:
        return kind.model_validate(payload, context={"service": service})
    except (ValidationError, RecursionError):
        try:
            return GenericMessage.model_validate(payload, context={"service": service})
        except (ValidationError, RecursionError):
            # Only the credential fields are typed on a GenericMessage. No chaining: a
            # ValidationError quotes the input, which here is a credential.
            raise MalformedMessageError("message username or password is not a string") from None


def _parse_as(
    payload: dict[str, Any], service: str | None, models: tuple[type[CallbackMessage], ...]
) -> CallbackMessage:
    if not models:
        raise InvalidArgumentError("model must name at least one message model")
    preferred = _kind_for(payload, service)
    # GenericMessage fits every object, so it can only be the last resort.
    ordered = sorted(models, key=lambda m: (m is GenericMessage, not issubclass(m, preferred)))
    problems: str | None = None
    for kind in ordered:
        try:
            return kind.model_validate(payload, context={"service": service})
        except ValidationError as exc:
            problems = problems or describe_problems(exc, limit=_MAX_PROBLEMS)
        except RecursionError:
            problems = problems or "nested too deeply"
    names = " | ".join(kind.__name__ for kind in ordered)
    raise MessageTypeError(f"message does not fit {names}: {problems}") from None


def _kind_for(payload: Mapping[str, Any], service: str | None) -> type[CallbackMessage]:
    if service is not None and service in _SERVICE_KINDS:
        return _SERVICE_KINDS[service]
    for kind, markers in _SHAPE_MARKERS:
        if not markers.isdisjoint(payload):
            return kind
    return GenericMessage
