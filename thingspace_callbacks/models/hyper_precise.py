"""Hyper Precise Location callback models (``/hyper-precise/v1/callbacks``)."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from ._base import OpenEnum, ThingSpaceModel

__all__ = [
    "HyperPreciseCallback",
    "HyperPreciseResponseCode",
    "HyperPreciseResult",
]


class HyperPreciseCallback(ThingSpaceModel):
    """A Hyper Precise Location listener: the optional registration body (seed name
    ``CallBack3``) and each registered listener (seed name ``CallBackCreated``).

    The account arrives as ``aname`` (the seed, Verizon's register page, and every
    listing) or as ``accountName`` (the register answer in Verizon's newest SDK); either
    fills :attr:`aname`, which is sent as ``aname``, as the seed sends it.
    """

    # Sources disagree on the answer's name for the account (docs/spec/sources.md).
    aname: str | None = Field(
        default=None,
        validation_alias=AliasChoices("aname", "accountName"),
        serialization_alias="aname",
    )
    """The account number (``aname`` or ``accountName`` on the wire)."""
    name: str
    """The listener's service name, e.g. ``"BullseyeReporting"``."""
    url: str | None = None
    """The listener's URL."""


class HyperPreciseResponseCode(OpenEnum):
    """Outcome codes of the Hyper Precise Location API."""

    INVALID_ACCESS = "INVALID_ACCESS"
    INVALID_PARAMETER = "INVALID_PARAMETER"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    SUCCESS = "SUCCESS"


class HyperPreciseResult(ThingSpaceModel):
    """The answer to removing a Hyper Precise Location listener (seed ``ApiResponseCode``)."""

    response_code: HyperPreciseResponseCode
    message: str
