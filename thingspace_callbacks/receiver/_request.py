"""One callback delivery as the verifiers see it, independent of any web framework."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._parse import decode_body

__all__ = ["InboundRequest"]


class InboundRequest:
    """A received callback: path, headers, raw body and the sender's address.

    Build one from any framework's request to run the verifiers yourself::

        request = InboundRequest(body=await req.body(), headers=req.headers.items(),
                                 client_host=req.client.host)
        HmacSignature(secret)(request)

    Header names are matched case-insensitively; a header sent several times reads as
    its values joined by ``", "``.
    """

    __slots__ = ("_json", "body", "client_host", "headers", "path")

    body: bytes
    """The body exactly as received (signatures are computed over these bytes)."""

    headers: Mapping[str, str]
    """Request headers with lower-case names."""

    client_host: str | None
    """The address of the peer that connected (not ``X-Forwarded-For``), if known."""

    path: str
    """The path the message was POSTed to, relative to where the receiver is mounted."""

    def __init__(
        self,
        *,
        body: bytes,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        client_host: str | None = None,
        path: str = "/",
    ) -> None:
        merged: dict[str, str] = {}
        items = headers.items() if isinstance(headers, Mapping) else headers
        for name, value in items:
            key = name.lower()
            merged[key] = f"{merged[key]}, {value}" if key in merged else value
        self.body = body
        self.headers = merged
        self.client_host = client_host
        self.path = path
        self._json: dict[str, Any] | None = None

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (any case), or ``None``."""
        return self.headers.get(name.lower())

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, decoded once.

        :raises MalformedMessageError: the body is not a JSON object.
        """
        if self._json is None:
            self._json = decode_body(self.body)
        return self._json

    def __repr__(self) -> str:
        # Headers and body may hold credentials; only say what and where.
        return (
            f"InboundRequest(path={self.path!r}, client_host={self.client_host!r}, "
            f"body=<{len(self.body)} bytes>)"
        )
