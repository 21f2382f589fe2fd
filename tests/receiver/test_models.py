"""Parsing callback bodies into typed messages; nothing unfamiliar is dropped."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from thingspace_callbacks import ThingSpaceError
from thingspace_callbacks.receiver import (
    ConnectivityMessage,
    DiagnosticsMessage,
    FirmwareMessage,
    GenericMessage,
    LocationMessage,
    MalformedMessageError,
    UpgradeStatus,
    decode_body,
    parse_message,
)

from . import _messages as msg


def test_m2m_message_is_typed_and_keeps_service() -> None:
    message = parse_message(msg.encode(msg.m2m()), service="CarrierService")

    assert isinstance(message, ConnectivityMessage)
    assert message.service == "CarrierService"
    assert message.request_id == "a2889d3b-3c3e-4a32-8b5b-2d1f3c8e9f01"
    assert [(d.id, d.kind) for d in message.device_ids] == [("22211315718", "ESN")]
    assert message.device_response is not None
    assert message.device_response["changeIdentifierResponse"]["servicePlan"] == "M2M_4G"
    assert (message.status, message.callback_count, message.max_callback_threshold) == (
        "Success",
        1,
        4,
    )
    assert message.is_final_attempt is False
    assert parse_message(msg.m2m(callbackCount=4)).is_final_attempt is True  # type: ignore[attr-defined]


def test_nidd_and_fault_messages() -> None:
    nidd = parse_message(msg.nidd(), service="NiddService")
    assert isinstance(nidd, ConnectivityMessage)
    assert nidd.nidd_response is not None
    assert nidd.nidd_response["niddMONotificationResponse"]["message"] == "QUJD"

    fault = parse_message(
        msg.m2m(
            deviceResponse=None,
            status="Failed",
            faultResponse={"faultcode": "CarrierService.INVALID_ICCID", "faultstring": "bad"},
        )
    )
    assert isinstance(fault, ConnectivityMessage)
    assert fault.fault_response is not None
    assert fault.fault_response.faultcode == "CarrierService.INVALID_ICCID"


def test_fota_message_is_typed_with_open_status() -> None:
    message = parse_message(msg.encode(msg.fota()))
    assert isinstance(message, FirmwareMessage)
    assert message.account_name == "0000123456-00001"
    assert message.firmware_list == []
    assert message.upgrade_scheduled is not None
    assert message.upgrade_scheduled.upgrade_id == "abc-123"
    assert message.upgrade_scheduled.status is UpgradeStatus.QUEUED

    progress = parse_message(
        msg.fota(
            type="upgradeProgress",
            upgradeScheduled=None,
            upgradeProgress={"upgradeId": "abc-123", "status": "SomethingNew"},
            firmwareList=[{"firmwareName": "FW_2", "toVersion": "2.0", "make": "Acme"}],
        )
    )
    assert isinstance(progress, FirmwareMessage)
    assert progress.upgrade_progress is not None
    assert progress.upgrade_progress.status == "SomethingNew"
    assert progress.firmware_list[0].to_version == "2.0"


def test_location_message_accepts_numbers_where_examples_quote_them() -> None:
    message = parse_message(msg.location(pd={"x": 33.45, "y": -84.59, "qos": True}))
    assert isinstance(message, LocationMessage)
    assert message.txid == "2c90bd28-ece4-42ef-9f02-7e3bd4fbff33"
    assert message.pd is not None
    assert (message.pd.x, message.pd.y, message.pd.qos) == ("33.45", "-84.59", True)

    failed = parse_message(
        {"txid": "t1", "msid": "1", "error": {"type": "POSITION_ERROR", "info": "no consent"}}
    )
    assert isinstance(failed, LocationMessage)
    assert failed.error is not None
    assert failed.error.info == "no consent"


def test_service_name_picks_the_model_before_the_shape() -> None:
    assert isinstance(parse_message({"anything": 1}, service="CarrierService"), ConnectivityMessage)
    assert isinstance(parse_message({"anything": 1}, service="DeviceLocation"), LocationMessage)
    assert isinstance(
        parse_message({"transactionID": "t"}, service="Diagnostics"), DiagnosticsMessage
    )
    assert isinstance(parse_message({"transactionID": "t"}), DiagnosticsMessage)
    diagnostics = parse_message({"transactionID": "t", "deviceIds": [{"id": "1"}]})
    assert isinstance(diagnostics, DiagnosticsMessage)
    assert diagnostics.transaction_id == "t"


def test_unknown_fields_are_kept_at_every_level() -> None:
    message = parse_message(
        msg.m2m(comment="resumes 2024-05-01", deviceIds=[{"id": "1", "kind": "IMEI", "x": 2}]),
        service="CarrierService",
    )
    assert message.model_extra == {"comment": "resumes 2024-05-01"}
    assert isinstance(message, ConnectivityMessage)
    assert message.device_ids[0].model_extra == {"x": 2}


def test_unfamiliar_message_becomes_generic_not_an_error() -> None:
    body = {"somethingNew": {"deep": [1, 2]}, "status": 7}
    message = parse_message(json.dumps(body), service="BrandNewService")
    assert type(message) is GenericMessage
    assert message.service == "BrandNewService"
    assert message.model_extra == body


def test_typed_model_that_does_not_fit_falls_back_to_generic() -> None:
    # callbackCount must be an integer; the message is still delivered, untyped.
    body = msg.m2m(callbackCount="second")
    message = parse_message(body, service="CarrierService")
    assert type(message) is GenericMessage
    assert message.model_extra is not None
    assert message.model_extra["callbackCount"] == "second"
    assert message.password == SecretStr(msg.PASSWORD)


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"{", b"\xff\xfe\x00", b"[1, 2]", b'"text"', b"3", b"null", "[" * 100_000],
)
def test_bodies_that_are_not_a_json_object_are_malformed(body: bytes | str) -> None:
    with pytest.raises(MalformedMessageError) as caught:
        parse_message(body)
    assert isinstance(caught.value, ThingSpaceError)
    assert caught.value.status_code == 400


UTF8_BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (UTF8_BOM + b'{"a": 1}', "byte order mark"),
        ('{"a": 1}'.encode("utf-16"), "not UTF-8"),  # with its BOM
        ('{"a": 1}'.encode("utf-16-le"), "not valid JSON"),  # NULs are valid UTF-8
        ('{"a": 1}'.encode("utf-16-be"), "not valid JSON"),
        ('{"a": 1}'.encode("utf-32"), "not UTF-8"),
        ('{"a": 1}'.encode("utf-32-le"), "not valid JSON"),
        ('{"a": "caf\u00e9"}'.encode("latin-1"), "not UTF-8"),
        ('\ufeff{"a": 1}', "byte order mark"),
    ],
    ids=["utf8-bom", "utf16", "utf16le", "utf16be", "utf32", "utf32le", "latin1", "str-bom"],
)
def test_bodies_that_are_not_plain_utf8_are_refused(body: bytes | str, reason: str) -> None:
    with pytest.raises(MalformedMessageError, match=reason):
        decode_body(body)
    with pytest.raises(MalformedMessageError, match=reason):
        parse_message(body)


def test_json_loads_would_have_guessed_these_encodings() -> None:
    # Why decode_body decodes first: json.loads detects UTF-16/32 and skips a UTF-8 BOM.
    for encoding in ("utf-8-sig", "utf-16", "utf-16-le", "utf-32"):
        assert json.loads('{"a": 1}'.encode(encoding)) == {"a": 1}


def test_non_string_password_is_malformed_and_not_quoted() -> None:
    with pytest.raises(MalformedMessageError) as caught:
        parse_message({"password": {"leak": msg.PASSWORD}})
    assert msg.PASSWORD not in str(caught.value)
    assert caught.value.__cause__ is None


def test_password_is_secret_in_repr_str_and_dump() -> None:
    message = parse_message(
        msg.m2m(extra={"apiKey": "k", "nested": [{"token": "tok-123", "secret": "sec-456"}]}),
        service="CarrierService",
    )
    assert isinstance(message.password, SecretStr)
    assert message.password.get_secret_value() == msg.PASSWORD
    for text in (repr(message), str(message), json.dumps(message.model_dump(mode="json"))):
        assert msg.PASSWORD not in text
    for text in (repr(message), str(message)):
        assert "tok-123" not in text
        assert "sec-456" not in text
    generic = parse_message({"password": msg.PASSWORD, "token": "tok-123"})
    assert msg.PASSWORD not in repr(generic)
    assert "tok-123" not in repr(generic)
