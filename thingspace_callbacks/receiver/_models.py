"""Typed models of the messages ThingSpace POSTs to a callback listener.

Every model keeps the fields it does not declare (``message.model_extra``), so nothing
ThingSpace adds is lost, and every declared field is optional because Verizon publishes
examples rather than a schema. ``password`` is a :class:`~pydantic.SecretStr` on every
message, and ``repr()`` masks credential-like keys at every level, declared or not.

Field names follow ``spec/callback-protocol-facts.md``; where Verizon's page could not be
read in full the model declares only what is known and keeps the rest as extra fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, ClassVar

from pydantic import BeforeValidator, Field, PrivateAttr, SecretStr, ValidationInfo, model_validator

from .._redact import MASK, is_sensitive_key, redact
from ..models._base import OpenEnum, ThingSpaceModel

__all__ = [
    "CallbackMessage",
    "ConnectivityMessage",
    "DeviceId",
    "DiagnosticsMessage",
    "FaultResponse",
    "FirmwareInfo",
    "FirmwareMessage",
    "GenericMessage",
    "LocationError",
    "LocationMessage",
    "PositionData",
    "UpgradeInfo",
    "UpgradeStatus",
]


def _scalar_to_str(value: object) -> object:
    # ThingSpace examples quote numbers ("x": "33.45") but nothing promises it; accept
    # either so a number where a string was expected does not demote the message.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


Text = Annotated[str, BeforeValidator(_scalar_to_str)]
"""A string field that also accepts a JSON number."""


class _MessagePart(ThingSpaceModel):
    """A nested object of a message; ``repr()`` masks credential-like fields (declared or
    not) and URL userinfo, as :func:`~thingspace_callbacks.receiver.redact` does."""

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            if name is not None and is_sensitive_key(name) and value not in (None, ""):
                yield name, MASK
            else:
                yield name, redact(value)


class CallbackMessage(_MessagePart):
    """Base of every callback message.

    ``username`` and ``password`` are the credentials given when the listener was
    registered (Connectivity Management and Software Management put them in the body;
    they are absent elsewhere). :attr:`service` is the service the message was delivered
    for, known from the URL path it arrived on, not from the body.
    """

    family: ClassVar[str | None] = None
    """The callback family whose listeners receive this kind of message (the client's
    attribute: ``"connectivity"``...); ``None`` when it is not known."""

    username: Text | None = None
    password: SecretStr | None = None

    _service: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _delivered_for(self, info: ValidationInfo) -> CallbackMessage:
        # The parser knows the service from the route, not from the body: it passes it
        # as validation context, which nested parts never read.
        if isinstance(info.context, dict):
            self._service = info.context.get("service")
        return self

    @property
    def service(self) -> str | None:
        """The service this message was delivered for (from its route), if known."""
        return self._service


class DeviceId(_MessagePart):
    """One identifier of a device: ``{"id": "...", "kind": "IMEI" | "ICCID" | ...}``."""

    id: Text | None = None
    kind: Text | None = None


class FaultResponse(_MessagePart):
    """Why an asynchronous Connectivity Management request failed.

    ``faultcode`` is the service name, a dot and the error code.
    """

    faultcode: Text | None = None
    faultstring: Text | None = None


class ConnectivityMessage(CallbackMessage):
    """A Connectivity Management (M2M) callback, e.g. for ``CarrierService``.

    One message per device for asynchronous requests (``request_id`` ties them to the
    request), plus ThingSpace notifications and device messages (NIDD, SMS). A message
    that is not acknowledged is sent again with a higher ``callback_count``, up to
    ``max_callback_threshold`` times.
    """

    family: ClassVar[str | None] = "connectivity"

    request_id: Text | None = None
    device_ids: list[DeviceId] = Field(default_factory=list)
    device_response: dict[str, Any] | None = None
    nidd_response: dict[str, Any] | None = None
    fault_response: FaultResponse | None = None
    status: Text | None = None
    """``"Success"``, ``"Failed"``; for NIDD ``"Delivered"``, ``"Queued"``,
    ``"DeliveryFailed"``."""
    callback_count: int | None = None
    """How many times this message has been sent, this time included."""
    max_callback_threshold: int | None = None
    """The most times ThingSpace sends this message when it is not acknowledged."""

    @property
    def is_final_attempt(self) -> bool:
        """True when ThingSpace will not send this message again if it is not acknowledged."""
        return (
            self.callback_count is not None
            and self.max_callback_threshold is not None
            and self.callback_count >= self.max_callback_threshold
        )


class UpgradeStatus(OpenEnum):
    """Status of a Software Management v1 upgrade; unknown values are accepted."""

    REQUEST_PENDING = "RequestPending"
    QUEUED = "Queued"
    IN_PROGRESS = "InProgress"
    FINISHED = "Finished"
    REQUEST_FAILED = "RequestFailed"
    UPGRADE_FAILED = "UpgradeFailed"


class FirmwareInfo(_MessagePart):
    """One firmware in a FOTA ``firmwareList`` (firmware that became available)."""

    firmware_name: Text | None = None
    participant_name: Text | None = None
    launch_date: Text | None = None
    release_note: Text | None = None
    model: Text | None = None
    make: Text | None = None
    from_version: Text | None = None
    to_version: Text | None = None


class UpgradeInfo(_MessagePart):
    """An ``upgradeScheduled`` or ``upgradeProgress`` object of a FOTA message."""

    firmware_name: Text | None = None
    upgrade_id: Text | None = None
    start_date: Text | None = None
    status: UpgradeStatus | None = None


class FirmwareMessage(CallbackMessage):
    """A Software Management (FOTA) v1 callback: new firmware, or an upgrade's progress.

    Unused parts are sent empty, e.g. ``firmware_list`` is ``[]`` in an upgrade message.
    """

    family: ClassVar[str | None] = "firmware"

    account_name: Text | None = None
    participant_name: Text | None = None
    type: Text | None = None
    firmware_list: list[FirmwareInfo] = Field(default_factory=list)
    upgrade_scheduled: UpgradeInfo | None = None
    upgrade_progress: UpgradeInfo | None = None


class PositionData(_MessagePart):
    """A location fix: ``x``/``y`` are latitude/longitude as ThingSpace sends them."""

    time: Text | None = None
    x: Text | None = None
    y: Text | None = None
    radius: Text | None = None
    qos: bool | None = None
    utcoffset: Text | None = None


class LocationError(_MessagePart):
    """Why a device could not be located (e.g. consent missing)."""

    time: Text | None = None
    utcoffset: Text | None = None
    type: Text | None = None
    info: Text | None = None


class LocationMessage(CallbackMessage):
    """A Device Location callback (``Location`` or ``DeviceLocation`` service).

    ``txid`` is the transaction id of the request it answers. A per-device result has
    ``msid`` and either ``pd`` (the fix) or ``error``; a report notification has
    ``status`` (``QUEUED``, ``INPROGRESS``, ``COMPLETED``).
    """

    family: ClassVar[str | None] = "location"

    txid: Text | None = None
    msid: Text | None = None
    pd: PositionData | None = None
    error: LocationError | None = None
    status: Text | None = None


class DiagnosticsMessage(CallbackMessage):
    """A Device Diagnostics observation callback.

    Verizon does not publish its body; observations are keyed by ``transactionID``.
    Everything else is kept as extra fields.
    """

    family: ClassVar[str | None] = "diagnostics"

    account_name: Text | None = None
    transaction_id: Text | None = Field(default=None, alias="transactionID")


class GenericMessage(CallbackMessage):
    """A message of a kind this SDK does not recognise; every field is in ``model_extra``."""
