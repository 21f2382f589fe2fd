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

# Authentication (issue 3). Credentials come from these variables when not passed.
CLIENT_ID_ENV = "THINGSPACE_CLIENT_ID"
CLIENT_SECRET_ENV = "THINGSPACE_CLIENT_SECRET"
USERNAME_ENV = "THINGSPACE_USERNAME"
PASSWORD_ENV = "THINGSPACE_PASSWORD"
ACCESS_TOKEN_ENV = "THINGSPACE_ACCESS_TOKEN"
M2M_TOKEN_ENV = "THINGSPACE_M2M_TOKEN"

OAUTH_TOKEN_PATH = "/ts/v1/oauth2/token"
M2M_LOGIN_PATH = "/m2m/v1/session/login"
M2M_LOGOUT_PATH = "/m2m/v1/session/logout"

DEFAULT_TOKEN_LIFETIME = 3600.0
"""Seconds a bearer token lives when the token answer has no ``expires_in`` (Verizon
documents one hour)."""

DEFAULT_SESSION_IDLE_TIMEOUT = 20 * 60.0
"""Seconds of disuse after which Verizon expires an M2M session token."""

DEFAULT_TOKEN_REFRESH_MARGIN = 60.0
"""Seconds before a bearer token's expiry (or a session's idle expiry) at which the SDK
renews it, so no request goes out with a credential about to lapse."""

PROACTIVE_RENEWAL_BACKOFF = 10.0
"""Seconds to keep using a still-valid credential after a failed early renewal before
trying again."""

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=10.0)

DEFAULT_MAX_RETRIES = 2

DEFAULT_MAX_RESPONSE_SIZE = 4 * 1024 * 1024
"""The largest answer read (bytes, after decompression): a callback list is a few KB,
so anything near this is a broken or hostile server, refused before it fills memory."""

DEFAULT_INITIAL_BACKOFF = 0.5
"""Upper bound of the first backoff wait (seconds); it doubles on each retry."""

DEFAULT_MAX_BACKOFF = 8.0
"""Upper bound of any backoff wait (seconds)."""

DEFAULT_MAX_RETRY_AFTER = 60.0
"""The longest ``Retry-After`` honoured (seconds); a longer one ends the retries."""

DEFAULT_RETRY_BUDGET = 120.0
"""Total seconds a call may spend before a retry; no retry starts past it."""

DEFAULT_CONNECTION_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)

DEFAULT_FAN_OUT_CONCURRENCY = 20
"""Calls a fan-out runs at once unless told otherwise (well under the pool's 100)."""

DEFAULT_CHUNK_SIZE = 100
"""Accounts per job of a queued run (``bulk --queue``) unless told otherwise."""

MAX_CHUNK_SIZE = 10_000
"""The most accounts a job of a queued run may carry; a worker refuses a bigger one."""

LOGGER_NAME = "thingspace_callbacks"

REQUEST_ID_HEADERS = ("x-request-id", "x-correlation-id", "x-vz-request-id")
"""Response headers that may carry the server's id for a request, most specific first."""

ERROR_BODY_EXCERPT = 4096
"""How much of an unexpected response body an error keeps (characters)."""

SHARED_SECRET_HEADER = "X-ThingSpace-Shared-Secret"
"""Default response header of a Device Location or Diagnostics registration that carries
the shared secret for message signatures. Verizon does not publish the name; the
sandbox and the receiver both let it be changed."""

SIGNATURE_HEADER = "X-ThingSpace-Signature"
"""Default request header of a signed callback message: HMAC-SHA256 of the raw body with
the shared secret, hex-encoded (the receiver also accepts base64 and a ``sha256=``
prefix). Verizon does not publish the name; it is configurable on both sides."""

RECEIVER_MAX_BODY_SIZE = 1024 * 1024
"""The largest callback body the receiver reads (bytes); larger ones are answered 413."""

CONNECTIVITY_SOURCE_IPS = (
    "3.87.163.45",
    "3.91.119.203",
    "54.197.62.209",
    "35.165.205.14",
    "54.200.43.232",
    "34.216.81.234",
    "137.117.33.109",
    "168.62.173.153",
)
"""Addresses Connectivity Management (M2M) callbacks come from, as Verizon publishes them."""

LOCATION_AND_FOTA_SOURCE_IPS = ("68.128.212.217",)
"""The extra address Device Location and Software Management (FOTA) callbacks come from."""

THINGSPACE_SOURCE_IPS = CONNECTIVITY_SOURCE_IPS + LOCATION_AND_FOTA_SOURCE_IPS
"""Every published ThingSpace callback source address (the receiver's allow-list default)."""
