"""Listener URL checks shared by the family routes."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

import httpx

from .._context import BadRequest

__all__ = ["M2M_PORTS", "listener_url"]

M2M_PORTS = frozenset([80, 443, *range(9001, 9007), *range(50551, 50560), *range(28200, 28221)])
"""Ports Connectivity Management accepts for listeners (Register Callback Listener)."""


def listener_url(value: str, *, code: str, ports: frozenset[int] | None = None) -> str:
    """``value`` if ThingSpace could deliver to it: an absolute http(s) URL with a host
    and a port (one of ``ports``, when given), with no whitespace or control character.
    Otherwise raises :class:`BadRequest` (400, ``code``)."""
    port = _delivery_port(value)
    if port is None:
        raise BadRequest(400, code, f"Invalid callback URL: {value!r}")
    if ports is not None and port not in ports:
        raise BadRequest(400, code, f"Callback URL port {port} is not allowed")
    return value


def _delivery_port(value: str) -> int | None:
    """The port a message to ``value`` would go to; ``None`` if it is no listener URL."""
    # Checked before parsing: urlsplit silently drops tabs and line breaks, so the URL
    # it approves is not the one that would be stored and delivered to.
    if any(char.isspace() or unicodedata.category(char) == "Cc" for char in value):
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
        # What delivery will send with: a URL it refuses is refused here, once.
        httpx.URL(value)
    except (ValueError, httpx.InvalidURL):
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        return None
    if port is None:
        return 443 if parts.scheme == "https" else 80
    return port
