"""Every default the SDK uses, in one place."""

from __future__ import annotations

import httpx

ENVIRONMENTS: dict[str, str] = {
    "production": "https://thingspace.verizon.com/api",
    "staging": "https://staging.thingspace.verizon.com/api",
    "mock": "https://mock.thingspace.verizon.com/api",
}
"""API roots by environment name; every family's URL hangs off one of these."""

DEFAULT_ENVIRONMENT = "production"

BASE_URL_ENV = "THINGSPACE_BASE_URL"

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=10.0)

DEFAULT_MAX_RETRIES = 2

DEFAULT_CONNECTION_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)

LOGGER_NAME = "thingspace_callbacks"

REQUEST_ID_HEADERS = ("x-request-id", "x-correlation-id", "x-vz-request-id")
"""Response headers that may carry the server's id for a request, most specific first."""

ERROR_BODY_EXCERPT = 4096
"""How much of an unexpected response body an error keeps (characters)."""
