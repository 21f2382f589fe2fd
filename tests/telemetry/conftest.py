"""Every test here gets ``recorded``: what the SDK reported through a
:class:`~tests._telemetry.Recorded` of its own."""

from __future__ import annotations

from .._telemetry import recorded

__all__ = ["recorded"]
