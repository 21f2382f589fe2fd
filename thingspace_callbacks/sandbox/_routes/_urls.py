"""Listener URL checks shared by the family routes."""

from __future__ import annotations

from urllib.parse import urlsplit

from .._context import BadRequest

__all__ = ["M2M_PORTS", "listener_url"]

M2M_PORTS = frozenset([80, 443, *range(9001, 9007), *range(50551, 50560), *range(28200, 28221)])
"""Ports Connectivity Management accepts for listeners (Register Callback Listener)."""


def listener_url(value: str, *, code: str, ports: frozenset[int] | None = None) -> str:
    """``value`` if it is an absolute http(s) URL (on one of ``ports``, when given)."""
    try:
        parts = urlsplit(value)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise BadRequest(400, code, f"Invalid callback URL: {value}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(400, code, f"Invalid callback URL: {value}")
    if ports is not None and port not in ports:
        raise BadRequest(400, code, f"Callback URL port {port} is not allowed")
    return value
