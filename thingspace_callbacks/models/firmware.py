"""Software Management (FOTA) v2 and v3 callback models (``/fota/v2``, ``/fota/v3``)."""

from __future__ import annotations

from ._base import ThingSpaceModel

__all__ = ["FirmwareCallback", "FirmwareDeletion"]


class FirmwareCallback(ThingSpaceModel):
    """The HTTPS listener of a FOTA account: request body and answer of every FOTA
    callback operation (seed names ``CallbackRequest``, ``CallbackResp``,
    ``CallbackSummary``)."""

    url: str | None = None
    """The listener's URL."""


class FirmwareDeletion(ThingSpaceModel):
    """The answer to deleting a FOTA listener (seed name ``SuccessResponse1``)."""

    success: bool
