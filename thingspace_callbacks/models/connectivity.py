"""Connectivity Management (M2M) callback models (``/m2m/v1/callbacks``)."""

from __future__ import annotations

from pydantic import SecretStr, field_serializer

from ._base import OpenEnum, ThingSpaceModel, reveal

__all__ = [
    "ConnectivityCallback",
    "ConnectivityCallbackRequest",
    "ConnectivityRegistration",
    "ConnectivityServiceName",
]


class ConnectivityServiceName(OpenEnum):
    """Connectivity Management callback services. The set is open: names ThingSpace
    adds later parse as new members."""

    ALERT_SERVICE = "AlertService"
    CARRIER_SERVICE = "CarrierService"
    DEVICE_PRL_INFORMATION = "DevicePRLInformation"
    DEVICE_SERVICE = "DeviceService"
    DEVICE_SUSPENSION_STATUS = "DeviceSuspensionStatus"
    DEVICE_USAGE = "DeviceUsage"
    ENHANCED_CONNECTIVITY_SERVICE = "EnhancedConnectivityService"
    EXTERNAL_PROVISIONING_CHANGES = "ExternalProvisioningChanges"
    NIDD_SERVICE = "NiddService"
    PROMO_CHANGES = "PromoChanges"
    RESUME_TRACKING_NOTIFICATION = "ResumeTrackingNotification"
    SMS_DELIVERY_CONFIRMATION = "SMSDeliveryConfirmation"
    STATE_SERVICE = "StateService"


class ConnectivityCallbackRequest(ThingSpaceModel):
    """What registers a Connectivity Management listener (seed ``RegisterCallbackRequest``).

    ThingSpace puts ``username`` and ``password`` into the body of every message it
    sends to the listener, so the listener can tell the messages are genuine. The
    password is a ``SecretStr``: it never shows in ``repr`` or logs.
    """

    name: ConnectivityServiceName
    """The service to hear about."""
    url: str
    """The listener's URL."""
    username: str | None = None
    password: SecretStr | None = None

    @field_serializer("password", when_used="json")
    def _send_password(self, value: SecretStr | None) -> str | None:
        return reveal(value)


class ConnectivityCallback(ThingSpaceModel):
    """A registered Connectivity Management listener (seed name ``Callback2``)."""

    account_name: str | None = None
    service_name: ConnectivityServiceName | None = None
    url: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    """The listener password ThingSpace stored; read it with ``get_secret_value()``."""

    @field_serializer("password", when_used="json")
    def _send_password(self, value: SecretStr | None) -> str | None:
        return reveal(value)


class ConnectivityRegistration(ThingSpaceModel):
    """The answer to registering or removing a Connectivity Management listener
    (seed name ``CallbackRegistrationResponse1``)."""

    account_name: str | None = None
    service_name: ConnectivityServiceName | None = None
