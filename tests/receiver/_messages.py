"""Bodies shaped like what ThingSpace sends (field names from callback-protocol-facts.md)."""

from __future__ import annotations

import json
from typing import Any

USERNAME = "listener-user"
PASSWORD = "pw-Zq8!never-logged"
SHARED_SECRET = "shared-secret-Yx7-never-logged"


def m2m(**overrides: Any) -> dict[str, Any]:
    """A CarrierService answer for one device, first attempt."""
    message: dict[str, Any] = {
        "username": USERNAME,
        "password": PASSWORD,
        "requestId": "a2889d3b-3c3e-4a32-8b5b-2d1f3c8e9f01",
        "deviceIds": [{"id": "22211315718", "kind": "ESN"}],
        "deviceResponse": {
            "changeIdentifierResponse": {
                "deviceIds": [{"id": "A100003861E585", "kind": "iccid"}],
                "servicePlan": "M2M_4G",
            }
        },
        "status": "Success",
        "callbackCount": 1,
        "maxCallbackThreshold": 4,
    }
    message.update(overrides)
    return message


def nidd(**overrides: Any) -> dict[str, Any]:
    """A NiddService uplink."""
    message: dict[str, Any] = {
        "username": USERNAME,
        "password": PASSWORD,
        "requestId": "a0ff0c4e-5f4b-4c3a-9c0d-1e2f3a4b5c6d",
        "deviceIds": [{"id": "490154203237518", "kind": "IMEI"}],
        "niddResponse": {
            "niddMONotificationResponse": {
                "accountName": "9999080353-00001",
                "message": "QUJD",
                "deviceIds": [{"id": "490154203237518", "kind": "IMEI"}],
            }
        },
        "callbackCount": 1,
        "maxCallbackThreshold": 4,
    }
    message.update(overrides)
    return message


def fota(**overrides: Any) -> dict[str, Any]:
    """A Software Management v1 upgradeScheduled message."""
    message: dict[str, Any] = {
        "accountName": "0000123456-00001",
        "participantName": "",
        "type": "upgradeScheduled",
        "username": USERNAME,
        "password": PASSWORD,
        "firmwareList": [],
        "upgradeScheduled": {
            "firmwareName": "FW_1",
            "upgradeId": "abc-123",
            "startDate": "2024-01-01",
            "status": "Queued",
        },
    }
    message.update(overrides)
    return message


def location(**overrides: Any) -> dict[str, Any]:
    """A DeviceLocation result for one device."""
    message: dict[str, Any] = {
        "txid": "2c90bd28-ece4-42ef-9f02-7e3bd4fbff33",
        "msid": "7892345678",
        "pd": {
            "time": "20170520004421",
            "x": "33.45",
            "y": "-84.59",
            "radius": "5571",
            "qos": False,
        },
    }
    message.update(overrides)
    return message


def encode(message: dict[str, Any]) -> bytes:
    """The body bytes ThingSpace would POST."""
    return json.dumps(message).encode()
