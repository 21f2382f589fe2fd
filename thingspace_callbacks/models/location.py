"""Device Location callback models (``/loc/v1/callbacks``)."""

from __future__ import annotations

from ._base import OpenEnum, ThingSpaceModel

__all__ = [
    "LocationCallback",
    "LocationDeregistration",
    "LocationRegistration",
    "LocationServiceName",
]


class LocationServiceName(OpenEnum):
    """The Device Location callback services (seed name ``CallbackServiceNameEnum``).

    Unknown names are accepted as new members.
    """

    LOCATION = "Location"
    """Asynchronous location reports are ready, or usage reached a trigger point."""
    DEVICE_LOCATION = "DeviceLocation"
    """Per-device results of an asynchronous device-location request."""


class LocationCallback(ThingSpaceModel):
    """A Device Location listener: the registration body, and each item of the list
    answer (seed name ``Callback1``).

    The live service's list items also carry ``accountName`` and ``serviceName``.
    """

    name: LocationServiceName
    url: str
    account_name: str | None = None
    service_name: LocationServiceName | None = None


class LocationRegistration(ThingSpaceModel):
    """The answer to a Device Location registration (seed ``CallbackRegistrationResponse``).

    The seed's model names the fields ``account`` and ``name``; the live service
    answers ``accountName`` and ``serviceName``. Both pairs are kept; use
    :attr:`account_id` and :attr:`service` to read whichever was sent.
    """

    account: str | None = None
    name: LocationServiceName | None = None
    account_name: str | None = None
    service_name: LocationServiceName | None = None

    @property
    def account_id(self) -> str | None:
        """The account, whichever field carried it."""
        return self.account_name if self.account_name is not None else self.account

    @property
    def service(self) -> LocationServiceName | None:
        """The service, whichever field carried it."""
        return self.service_name if self.service_name is not None else self.name


class LocationDeregistration(ThingSpaceModel):
    """The answer to a Device Location deregistration (seed name ``SuccessResponse``)."""

    success: bool | None = None
