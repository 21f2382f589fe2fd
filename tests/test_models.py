"""Models: camelCase on the wire, unknown fields and enum values kept, secrets hidden,
and the seed's model names as aliases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import SecretStr, ValidationError

from thingspace_callbacks import models
from thingspace_callbacks.models import (
    ConnectivityCallback,
    ConnectivityCallbackRequest,
    ConnectivityServiceName,
    DiagnosticsCallback,
    DiagnosticsCallbackRegistration,
    FirmwareDeletion,
    HyperPreciseCallback,
    HyperPreciseResponseCode,
    LocationCallback,
    LocationRegistration,
    LocationServiceName,
)

SEED_ALIASES = {
    "Callback": "DiagnosticsCallback",
    "CallbackRegistrationRequest": "DiagnosticsCallbackRegistration",
    "Callback1": "LocationCallback",
    "CallbackServiceNameEnum": "LocationServiceName",
    "CallbackRegistrationResponse": "LocationRegistration",
    "SuccessResponse": "LocationDeregistration",
    "CallbackSummary": "FirmwareCallback",
    "CallbackRequest": "FirmwareCallback",
    "CallbackResp": "FirmwareCallback",
    "SuccessResponse1": "FirmwareDeletion",
    "Callback2": "ConnectivityCallback",
    "RegisterCallbackRequest": "ConnectivityCallbackRequest",
    "CallbackRegistrationResponse1": "ConnectivityRegistration",
    "CallBackCreated": "HyperPreciseCallback",
    "CallBack3": "HyperPreciseCallback",
    "ApiResponseCode": "HyperPreciseResult",
    "ApiResponseCodeEnum": "HyperPreciseResponseCode",
}


@pytest.mark.parametrize(("seed", "ours"), SEED_ALIASES.items())
def test_seed_model_names_are_aliases(seed: str, ours: str) -> None:
    assert getattr(models, seed) is getattr(models, ours)
    assert seed in models.__all__
    assert ours in models.__all__


def test_models_all_is_a_tuple_of_resolvable_names() -> None:
    assert isinstance(models.__all__, tuple)
    assert len(set(models.__all__)) == len(models.__all__)
    for name in models.__all__:
        assert getattr(models, name) is not None


def test_unknown_fields_are_kept_and_sent_back() -> None:
    callback = LocationCallback.model_validate(
        {"name": "Location", "url": "https://x.example", "priority": 3, "tags": ["a"]}
    )
    assert callback.model_extra == {"priority": 3, "tags": ["a"]}
    assert callback.to_wire() == {
        "name": "Location",
        "url": "https://x.example",
        "priority": 3,
        "tags": ["a"],
    }


@pytest.mark.parametrize(
    ("enum", "known", "value"),
    [
        (LocationServiceName, LocationServiceName.DEVICE_LOCATION, "DeviceLocation"),
        (ConnectivityServiceName, ConnectivityServiceName.DEVICE_USAGE, "DeviceUsage"),
        (HyperPreciseResponseCode, HyperPreciseResponseCode.SUCCESS, "SUCCESS"),
    ],
)
def test_open_enums_accept_unknown_values(
    enum: type[LocationServiceName], known: LocationServiceName, value: str
) -> None:
    assert enum(value) is known
    unknown = enum("SomethingNew")
    assert isinstance(unknown, enum)
    assert unknown == "SomethingNew"
    assert str(unknown) == "SomethingNew"
    assert unknown.value == "SomethingNew"
    assert enum("SomethingNew") == unknown
    with pytest.raises(ValueError, match="is not a valid"):
        enum(42)


def test_enum_str_is_its_wire_value() -> None:
    assert str(LocationServiceName.LOCATION) == "Location"
    assert f"{ConnectivityServiceName.CARRIER_SERVICE}" == "CarrierService"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-09-07T23:57:53.292Z", datetime(2019, 9, 7, 23, 57, 53, 292000, timezone.utc)),
        (
            "2019-09-07T18:57:53-05:00",
            datetime(2019, 9, 7, 18, 57, 53, tzinfo=timezone(timedelta(hours=-5))),
        ),
    ],
)
def test_datetimes_are_parsed(text: str, expected: datetime) -> None:
    callback = DiagnosticsCallback.model_validate(
        {"accountName": "a", "serviceName": "s", "endpoint": "https://x", "createdOn": text}
    )
    assert callback.created_on == expected
    assert callback.created_on.utcoffset() == expected.utcoffset()


def test_snake_and_camel_names_both_build_a_model() -> None:
    snake = DiagnosticsCallbackRegistration(
        account_name="a", service_name="s", endpoint="https://x"
    )
    camel = DiagnosticsCallbackRegistration.model_validate(
        {"accountName": "a", "serviceName": "s", "endpoint": "https://x"}
    )
    assert snake == camel
    assert snake.to_wire() == {"accountName": "a", "serviceName": "s", "endpoint": "https://x"}


def test_required_fields_are_enforced() -> None:
    with pytest.raises(ValidationError):
        FirmwareDeletion.model_validate({})
    with pytest.raises(ValidationError):
        DiagnosticsCallback.model_validate({"accountName": "a"})


@pytest.mark.parametrize("model", [ConnectivityCallbackRequest, ConnectivityCallback])
def test_password_is_hidden_but_sent_in_plain(
    model: type[ConnectivityCallbackRequest],
) -> None:
    item = model.model_validate(
        {
            "name": "DeviceUsage",
            "serviceName": "DeviceUsage",
            "url": "https://x",
            "username": "zaffod",
            "password": "drowssap",
        }
    )
    assert isinstance(item.password, SecretStr)
    assert "drowssap" not in repr(item)
    assert "drowssap" not in str(item)
    assert item.to_wire()["password"] == "drowssap"
    assert '"password":"drowssap"' in item.model_dump_json(by_alias=True)
    # The Python-mode dump keeps the secret wrapped.
    assert isinstance(item.model_dump()["password"], SecretStr)


def test_location_registration_reads_either_field_pair() -> None:
    live = LocationRegistration.model_validate({"accountName": "a", "serviceName": "Location"})
    seed = LocationRegistration.model_validate({"account": "a", "name": "DeviceLocation"})
    assert (live.account_id, live.service) == ("a", LocationServiceName.LOCATION)
    assert (seed.account_id, seed.service) == ("a", LocationServiceName.DEVICE_LOCATION)
    assert (live.account, live.name) == (None, None)
    assert LocationRegistration().account_id is None


@pytest.mark.parametrize("key", ["aname", "accountName"])
def test_hyper_precise_callback_reads_the_account_under_either_name(key: str) -> None:
    # `aname` in the seed and Verizon's register page, `accountName` in the register
    # answer of Verizon's newest SDK; the seed's name is the one sent.
    listener = HyperPreciseCallback.model_validate({key: "0642233445-00001", "name": "B"})

    assert listener.aname == "0642233445-00001"
    assert listener.model_extra == {}
    assert listener.to_wire() == {"aname": "0642233445-00001", "name": "B"}


def test_hyper_precise_callback_prefers_aname_and_keeps_a_second_name() -> None:
    both = HyperPreciseCallback.model_validate({"aname": "a", "accountName": "b", "name": "B"})

    assert both.aname == "a"
    assert both.to_wire() == {"aname": "a", "accountName": "b", "name": "B"}
    assert HyperPreciseCallback(aname="a", name="B").to_wire() == {"aname": "a", "name": "B"}
