"""What every operation must put on the wire, and a table row type for operation tests."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import respx

from thingspace_callbacks import AsyncThingSpaceClient, __version__

BASE_URL = "https://thingspace.verizon.com/api"
"""The root the ``mock_api`` fixture mocks (production)."""

ACCESS_TOKEN = "test-access"
M2M_TOKEN = "test-m2m"
"""The fixed tokens of the ``client`` fixture."""

Call = Callable[..., Awaitable[Any]]
"""``(client, **options) -> result``: one operation call with fixed arguments."""


@dataclass(frozen=True)
class Op:
    """One operation call, what it must send, and what the caller must get back."""

    call: Call
    method: str
    path: str
    """Under the API root, percent-encoded exactly as it must appear on the wire."""
    params: Mapping[str, str] = field(default_factory=dict)
    body: object = None
    """The JSON body that must be sent; ``None`` when no body may be sent."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Operation-specific request headers that must be sent."""
    response: object = None
    """The JSON the fake server answers with (the seed's example where it has one)."""
    expected: object = None
    """The parsed result the caller must get from ``response``."""


def assert_sent(
    request: httpx.Request,
    *,
    method: str,
    path: str,
    params: Mapping[str, str] | None = None,
    body: object = None,
    headers: Mapping[str, str] | None = None,
    base_url: str = BASE_URL,
) -> None:
    """Assert the request is exactly the operation: method, encoded path, query,
    standard and credential headers, and the JSON body (or no body at all)."""
    root = httpx.URL(base_url)
    assert request.method == method
    assert (request.url.scheme, request.url.host, request.url.port) == (
        root.scheme,
        root.host,
        root.port,
    )
    raw_path = request.url.raw_path.decode("ascii").partition("?")[0]
    assert raw_path == root.raw_path.decode("ascii").rstrip("/") + path
    assert sorted(request.url.params.multi_items()) == sorted((params or {}).items())

    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"].startswith(f"thingspace-callbacks/{__version__} ")
    assert request.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert request.headers["vz-m2m-token"] == M2M_TOKEN
    for name, value in (headers or {}).items():
        assert request.headers[name] == value

    if body is None:
        assert request.content == b""
        assert "content-type" not in request.headers
    else:
        assert request.headers["content-type"] == "application/json"
        assert json.loads(request.content) == body


async def check_operation(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, op: Op
) -> None:
    """Call ``op`` against a server answering ``op.response``; check the request sent
    and the parsed result."""
    route = mock_api.route().respond(200, json=op.response)
    result = await op.call(client)
    assert route.call_count == 1
    assert_sent(
        route.calls.last.request,
        method=op.method,
        path=op.path,
        params=op.params,
        body=op.body,
        headers=op.headers,
    )
    assert result == op.expected


async def check_request_options(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, op: Op
) -> None:
    """``timeout=`` and ``extra_headers=`` reach the request of ``op``."""
    route = mock_api.route().respond(200, json=op.response)
    await op.call(client, timeout=1.5, extra_headers={"X-Trace-Id": "trace-1"})
    request = route.calls.last.request
    assert request.extensions["timeout"] == {"connect": 1.5, "read": 1.5, "write": 1.5, "pool": 1.5}
    assert request.headers["x-trace-id"] == "trace-1"
    # Options add to the operation's request; they replace nothing it needs.
    assert request.method == op.method
    assert request.headers["vz-m2m-token"] == M2M_TOKEN
