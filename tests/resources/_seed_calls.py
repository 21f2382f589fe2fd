"""The seed SDK's 20 ``CallbacksController`` calls, with the seed's example arguments,
what each must send, an answer it must parse, and its documented error statuses.

Shared by the facade test (``tests/test_callbacks_facade.py``) and the error test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from thingspace_callbacks.models import (
    ApiResponseCode,
    Callback,
    Callback1,
    Callback2,
    CallBackCreated,
    CallbackRegistrationRequest,
    CallbackRegistrationResponse,
    CallbackRegistrationResponse1,
    CallbackRequest,
    CallbackResp,
    CallbackServiceNameEnum,
    CallbackSummary,
    RegisterCallbackRequest,
    SuccessResponse,
    SuccessResponse1,
    ThingSpaceModel,
)

HPL_STATUSES = (400, 401, 403, 404, 409, 500)
"""Hyper Precise Location documents these; every other family documents 400 only."""

DIAG_JSON = {
    "accountName": "TestQAAccount",
    "serviceName": "string",
    "endpoint": "https://yourwebsite.com",
    "httpHeaders": {},
    "createdOn": "2019-09-07T23:57:53.292Z",
}
FOTA_URL = "https://255.255.11.135:50559/CallbackListener/FirmwareServiceMessages.asmx"
LOC_URL = "http://10.120.102.183:50559/CallbackListener/LocationServiceMessages.asmx"
M2M_URL = "http://10.120.102.183:50559/CallbackListener/CarrierServiceMessages.asmx"
HPL = {"aname": "accountNumber2", "name": "name0", "url": "https://example.com/url4"}


@dataclass(frozen=True)
class SeedCall:
    """One seed method called as the seed's docs show, and what must happen."""

    name: str
    args: tuple[object, ...]
    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    body: object = None
    headers: Mapping[str, str] = field(default_factory=dict)
    response: object = None
    returns: type[ThingSpaceModel] = ThingSpaceModel
    is_list: bool = False
    errors: tuple[int, ...] = (400,)
    seed_error: str = "ErrorException"
    """The seed's exception class name for this operation's error answers."""


SEED_CALLS = [
    # Device Diagnostics
    SeedCall(
        "get_diagnostics_subscription_callback_info",
        ("0000123456-00001",),
        "GET",
        "/diagnostics/v1/callbacks",
        params={"accountName": "0000123456-00001"},
        response=DIAG_JSON,
        returns=Callback,
    ),
    SeedCall(
        "register_diagnostics_callback_url",
        (
            CallbackRegistrationRequest(
                account_name="TestQAAccount",
                service_name="Diagnostics",
                endpoint="https://yourwebsite.com",
                http_headers={},
            ),
        ),
        "POST",
        "/diagnostics/v1/callbacks",
        body={
            "accountName": "TestQAAccount",
            "serviceName": "Diagnostics",
            "endpoint": "https://yourwebsite.com",
            "httpHeaders": {},
        },
        response=DIAG_JSON,
        returns=Callback,
    ),
    SeedCall(
        "unregister_diagnostics_callback",
        ("0000123456-00001", "string"),
        "DELETE",
        "/diagnostics/v1/callbacks",
        params={"accountName": "0000123456-00001", "serviceName": "string"},
        response=DIAG_JSON,
        returns=Callback,
    ),
    # Device Location
    SeedCall(
        "get_registered_callback_ur_ls",
        ("0252012345-00001",),
        "GET",
        "/loc/v1/callbacks/0252012345-00001",
        response=[{"name": "Location", "url": LOC_URL}, {"name": "DeviceLocation", "url": LOC_URL}],
        returns=Callback1,
        is_list=True,
    ),
    SeedCall(
        "register_callback_url",
        ("0252012345-00001", Callback1(name=CallbackServiceNameEnum.LOCATION, url=LOC_URL)),
        "POST",
        "/loc/v1/callbacks/0252012345-00001",
        body={"name": "Location", "url": LOC_URL},
        response={"accountName": "0212312345-00001", "serviceName": "Location"},
        returns=CallbackRegistrationResponse,
    ),
    SeedCall(
        "deregister_callback_url",
        ("0252012345-00001", CallbackServiceNameEnum.LOCATION),
        "DELETE",
        "/loc/v1/callbacks/0252012345-00001/name/Location",
        response={"success": True},
        returns=SuccessResponse,
    ),
    # Software Management (FOTA) v2
    SeedCall(
        "get_registered_callback_information",
        ("0000123456-00001",),
        "GET",
        "/fota/v2/callbacks/0000123456-00001",
        response={"url": FOTA_URL},
        returns=CallbackSummary,
    ),
    SeedCall(
        "update_https_callback_address",
        ("0000123456-00001", CallbackRequest(url=FOTA_URL)),
        "PUT",
        "/fota/v2/callbacks/0000123456-00001",
        body={"url": FOTA_URL},
        response={"url": FOTA_URL},
        returns=CallbackResp,
    ),
    SeedCall(
        "create_https_callback_address",
        ("0000123456-00001", CallbackRequest(url=FOTA_URL)),
        "POST",
        "/fota/v2/callbacks/0000123456-00001",
        body={"url": FOTA_URL},
        response={"url": FOTA_URL},
        returns=CallbackResp,
    ),
    SeedCall(
        "delete_registered_callback",
        ("0000123456-00001",),
        "DELETE",
        "/fota/v2/callbacks/0000123456-00001",
        response={"success": True},
        returns=SuccessResponse1,
    ),
    # Software Management (FOTA) v3
    SeedCall(
        "registered_callback_information",
        ("0000123456-00001",),
        "GET",
        "/fota/v3/callbacks/0000123456-00001",
        response={"url": FOTA_URL},
        returns=CallbackRequest,
    ),
    SeedCall(
        "update_https_callback_address_1",
        ("0000123456-00001", CallbackRequest(url=FOTA_URL)),
        "PUT",
        "/fota/v3/callbacks/0000123456-00001",
        body={"url": FOTA_URL},
        response={"url": FOTA_URL},
        returns=CallbackRequest,
    ),
    SeedCall(
        "create_https_callback_address_1",
        ("0000123456-00001", {"url": FOTA_URL}),
        "POST",
        "/fota/v3/callbacks/0000123456-00001",
        body={"url": FOTA_URL},
        response={"url": FOTA_URL},
        returns=CallbackRequest,
    ),
    SeedCall(
        "delete_https_callback_address",
        ("0000123456-00001",),
        "DELETE",
        "/fota/v3/callbacks/0000123456-00001",
        response={"success": True},
        returns=SuccessResponse1,
    ),
    # Connectivity Management (account name)
    SeedCall(
        "list_callbacks_using_get",
        ("0252012345-00001",),
        "GET",
        "/m2m/v1/callbacks/0252012345-00001",
        response=[{"accountName": "0252012345-00001", "serviceName": "CarrierService"}],
        returns=Callback2,
        is_list=True,
        seed_error="RestErrorResponseException",
    ),
    SeedCall(
        "register_callback_using_post",
        ("TestAccount-2", RegisterCallbackRequest(name="CarrierService", url=M2M_URL)),
        "POST",
        "/m2m/v1/callbacks/TestAccount-2",
        body={"name": "CarrierService", "url": M2M_URL},
        response={"accountName": "122333444-00002", "serviceName": "CarrierService"},
        returns=CallbackRegistrationResponse1,
        seed_error="RestErrorResponseException",
    ),
    SeedCall(
        "unregister_callback_using_delete",
        ("1223334444-00001", "CarrierService"),
        "DELETE",
        "/m2m/v1/callbacks/1223334444-00001/name/CarrierService",
        response={"accountName": "1223334444-00001", "serviceName": "CarrierService"},
        returns=CallbackRegistrationResponse1,
        seed_error="RestErrorResponseException",
    ),
    # Hyper Precise Location (account number)
    SeedCall(
        "callbacks_account_number_get",
        ("accountNumber2",),
        "GET",
        "/hyper-precise/v1/callbacks",
        params={"accountNumber": "accountNumber2"},
        response=[HPL],
        returns=CallBackCreated,
        is_list=True,
        errors=HPL_STATUSES,
        seed_error="ErrorResponseError2Exception",
    ),
    SeedCall(
        "callbacks_account_number_post",
        ("accountNumber2", "name0", "https://example.com/url4"),
        "POST",
        "/hyper-precise/v1/callbacks",
        params={"accountNumber": "accountNumber2"},
        headers={"name": "name0", "url": "https://example.com/url4"},
        body=HPL,
        response=HPL,
        returns=CallBackCreated,
        errors=HPL_STATUSES,
        seed_error="ErrorResponseError2Exception",
    ),
    SeedCall(
        "callbacks_account_number_name_service_delete",
        ("accountNumber2", "name0"),
        "DELETE",
        "/hyper-precise/v1/callbacks",
        params={"accountNumber": "accountNumber2", "name": "name0", "service": "name0"},
        response={"responseCode": "SUCCESS", "message": "deleted"},
        returns=ApiResponseCode,
        errors=HPL_STATUSES,
        seed_error="ErrorResponseError2Exception",
    ),
]
