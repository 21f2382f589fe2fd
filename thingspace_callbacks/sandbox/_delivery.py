"""Delivery: POST sample notifications to registered listeners, as ThingSpace would.

Credentials go where ThingSpace puts them (``spec/callback-protocol-facts.md``):

- Connectivity Management and FOTA: the ``username`` and ``password`` given at
  registration, as plain fields of the JSON body.
- Device Location and Diagnostics: an HMAC-SHA256 of the raw body keyed with the
  registration's shared secret, hex-encoded, in a request header (name configurable;
  Verizon does not publish it).
- Hyper Precise Location: nothing (its message format is not published).

Message shapes follow the documented examples where there are some (M2M, FOTA v1,
Location results); the Diagnostics and Hyper Precise bodies are the sandbox's own
invention, marked by a ``sandbox`` field, since Verizon publishes neither.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import anyio
import httpx

from ..receiver._verify import sign_body
from ._state import Family, Registration

__all__ = ["Delivery", "NoListenerError", "build_message", "deliver"]

_MAX_CALLBACK_THRESHOLD = 4
"""How many times ThingSpace sends an M2M message that is not acknowledged (docs: 4)."""


class NoListenerError(LookupError):
    """No listener is registered for what :meth:`Sandbox.emit` was asked to deliver."""


@dataclass(frozen=True)
class Delivery:
    """What happened to one message sent to one listener."""

    registration: Registration
    """The listener it was sent to."""
    message: dict[str, Any] = field(repr=False)
    """The JSON body sent (it may hold the listener's password)."""
    status_code: int | None
    """The listener's answer to the last attempt; ``None`` when none came."""
    attempts: int
    """How many times the message was sent."""
    error: str | None = None
    """Why the last attempt got no answer (a connection error), if so."""

    @property
    def url(self) -> str:
        """The listener's URL."""
        return self.registration.url

    @property
    def ok(self) -> bool:
        """Whether the listener acknowledged the message with a 2xx."""
        return self.status_code is not None and 200 <= self.status_code < 300

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary without the message body (the admin route's answer)."""
        return {
            "family": self.registration.family,
            "account": self.registration.account,
            "service": self.registration.service,
            "url": self.url,
            "statusCode": self.status_code,
            "attempts": self.attempts,
            "ok": self.ok,
            "error": self.error,
        }


def build_message(
    registration: Registration, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A sample notification for ``registration``'s family and service.

    ``overrides`` is merged on top: its keys replace the sample's, and a key whose value
    is ``None`` is removed.
    """
    message = _SAMPLES[registration.family](registration)
    for key, value in (overrides or {}).items():
        if value is None:
            message.pop(key, None)
        else:
            message[key] = value
    return message


async def deliver(
    registration: Registration,
    message: dict[str, Any],
    *,
    http_client: httpx.AsyncClient,
    signature_header: str,
    max_attempts: int = 1,
    retry_interval: float = 0.0,
) -> Delivery:
    """POST ``message`` to the listener; re-send up to ``max_attempts`` times while it is
    not acknowledged, counting up ``callbackCount`` as ThingSpace does for M2M."""
    status: int | None = None
    error: str | None = None
    attempt = 0
    while attempt < max_attempts:
        attempt += 1
        if attempt > 1:
            if retry_interval > 0:
                await anyio.sleep(retry_interval)
            if "callbackCount" in message:
                message = {**message, "callbackCount": attempt}
        body = json.dumps(message, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        if registration.shared_secret is not None:
            headers[signature_header] = sign_body(body, registration.shared_secret)
        if registration.http_headers:
            # Diagnostics listeners register "your HTTP headers"; sending them back is
            # the sandbox's reading of that (Verizon does not say).
            headers.update({str(k): str(v) for k, v in registration.http_headers.items()})
        try:
            response = await http_client.post(registration.url, content=body, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            # InvalidURL is no HTTPError; a URL httpx refuses is a failed delivery too.
            status, error = None, f"{type(exc).__name__}: {exc}"
            continue
        status, error = response.status_code, None
        if 200 <= status < 300:
            break
    return Delivery(
        registration=registration,
        message=message,
        status_code=status,
        attempts=attempt,
        error=error,
    )


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _device() -> dict[str, str]:
    return {"id": "490154203237518", "kind": "IMEI"}


def _m2m(registration: Registration) -> dict[str, Any]:
    device = _device()
    message: dict[str, Any] = {
        "requestId": str(uuid.uuid4()),
        "deviceIds": [device],
    }
    if registration.service == "NiddService":
        message["niddResponse"] = {
            "niddMONotificationResponse": {
                "accountName": registration.account,
                "message": "SGVsbG8gZnJvbSB0aGUgc2FuZGJveA==",
                "deviceIds": [device],
            }
        }
    else:
        message["deviceResponse"] = {
            "changeIdentifierResponse": {
                "deviceIds": [{"id": "89148000000800000001", "kind": "iccid"}],
                "servicePlan": "M2M_4G",
            }
        }
        message["status"] = "Success"
    message["callbackCount"] = 1
    message["maxCallbackThreshold"] = _MAX_CALLBACK_THRESHOLD
    message["username"] = registration.username or ""
    message["password"] = registration.password or ""
    return message


def _fota(registration: Registration) -> dict[str, Any]:
    return {
        "accountName": registration.account,
        "participantName": "",
        "type": "upgradeScheduled",
        "username": registration.username or "",
        "password": registration.password or "",
        "firmwareList": [],
        "upgradeScheduled": {
            "firmwareName": "SANDBOX_FW_1_0_TO_1_1",
            "upgradeId": str(uuid.uuid4()),
            "startDate": _now().date().isoformat(),
        },
    }


def _location(registration: Registration) -> dict[str, Any]:
    return {
        "txid": str(uuid.uuid4()),
        "msid": "7892345678",
        "pd": {
            "time": _now().strftime("%Y%m%d%H%M%S"),
            "x": "33.45",
            "y": "-84.59",
            "radius": "5571",
            "qos": False,
            "utcoffset": "+0000",
        },
    }


def _diagnostics(registration: Registration) -> dict[str, Any]:
    created = _now().isoformat().replace("+00:00", "Z")
    return {
        "sandbox": "message shape invented by the sandbox; Verizon does not publish one",
        "accountName": registration.account,
        "serviceName": registration.service,
        "transactionID": str(uuid.uuid4()),
        "deviceIds": [_device()],
        "observations": [
            {"attribute": "RADIO_SIGNAL_STRENGTH", "value": "-85", "createdOn": created},
            {"attribute": "LINK_QUALITY", "value": "good", "createdOn": created},
        ],
    }


def _hyper_precise(registration: Registration) -> dict[str, Any]:
    return {
        "sandbox": "message shape invented by the sandbox; Verizon does not publish one",
        "aname": registration.account,
        "name": registration.service,
        "transactionId": str(uuid.uuid4()),
        "status": "COMPLETED",
    }


_SAMPLES: dict[Family, Callable[[Registration], dict[str, Any]]] = {
    "diagnostics": _diagnostics,
    "location": _location,
    "firmware": _fota,
    "firmware_v3": _fota,
    "connectivity": _m2m,
    "hyper_precise": _hyper_precise,
}
