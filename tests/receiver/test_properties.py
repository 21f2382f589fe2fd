"""Property tests: whatever arrives, parsing and verification return a result or raise
the receiver's typed errors, and the receiver answers with a status instead of crashing."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thingspace_callbacks.receiver import (
    THINGSPACE_SOURCE_IPS,
    BodyCredentials,
    CallbackMessage,
    HmacSignature,
    InboundRequest,
    InvalidCredentialsError,
    InvalidSignatureError,
    MalformedMessageError,
    Receiver,
    ReceiverError,
    SourceAllowList,
    VerificationError,
    Verifier,
    parse_message,
    sign_body,
    verify_credentials,
    verify_signature,
)

from . import _messages as msg

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
known_keys = st.sampled_from(
    [
        "username",
        "password",
        "requestId",
        "deviceIds",
        "deviceResponse",
        "niddResponse",
        "faultResponse",
        "status",
        "callbackCount",
        "maxCallbackThreshold",
        "accountName",
        "participantName",
        "type",
        "firmwareList",
        "upgradeScheduled",
        "upgradeProgress",
        "txid",
        "msid",
        "pd",
        "error",
        "transactionID",
    ]
)
# Objects that use the real field names with arbitrary values, to reach the typed models.
message_like = st.dictionaries(known_keys | st.text(max_size=8), json_values, max_size=8)
services = (
    st.none()
    | st.sampled_from(
        ["CarrierService", "NiddService", "DeviceLocation", "Location", "Diagnostics"]
    )
    | st.text(max_size=10)
)
header_lists = st.lists(
    st.tuples(
        st.sampled_from(["X-ThingSpace-Signature", "X-Forwarded-For", "Content-Type"])
        | st.text(max_size=10),
        st.text(max_size=80),
    ),
    max_size=5,
)
hosts = (
    st.none()
    | st.sampled_from(list(THINGSPACE_SOURCE_IPS))
    | st.ip_addresses().map(str)
    | st.text(max_size=20)
)


def _parse_or_typed_error(data: Any, service: str | None) -> None:
    try:
        message = parse_message(data, service=service)
    except MalformedMessageError:
        return
    assert isinstance(message, CallbackMessage)
    assert message.service == service
    repr(message)  # must not raise either


@SETTINGS
@given(body=st.binary(max_size=300), service=services)
def test_parse_arbitrary_bytes(body: bytes, service: str | None) -> None:
    _parse_or_typed_error(body, service)


@SETTINGS
@given(value=json_values | message_like, service=services)
def test_parse_arbitrary_json(value: Any, service: str | None) -> None:
    _parse_or_typed_error(json.dumps(value).encode(), service)


@SETTINGS
@given(value=message_like, service=services)
def test_every_json_object_with_string_credentials_is_a_message(
    value: dict[str, Any], service: str | None
) -> None:
    value.pop("username", None)
    value["password"] = "p"
    # Nothing is dropped for being unfamiliar: every such object parses.
    message = parse_message(value, service=service)
    assert isinstance(message, CallbackMessage)


@SETTINGS
@given(body=st.binary(max_size=200), signature=st.none() | st.text(max_size=100), secret=st.text())
def test_verify_signature_accepts_or_raises_typed(
    body: bytes, signature: str | None, secret: str
) -> None:
    with contextlib.suppress(InvalidSignatureError):
        verify_signature(body, signature, secret)
    verify_signature(body, sign_body(body, secret), secret)  # the true signature always passes


@SETTINGS
@given(
    payload=st.dictionaries(st.sampled_from(["username", "password", "x"]), json_scalars),
    username=st.text(),
    password=st.text(),
)
def test_verify_credentials_accepts_or_raises_typed(
    payload: dict[str, Any], username: str, password: str
) -> None:
    with contextlib.suppress(InvalidCredentialsError):
        verify_credentials(payload, username=username, password=password)
    verify_credentials(
        {"username": username, "password": password}, username=username, password=password
    )


@SETTINGS
@given(body=st.binary(max_size=200), headers=header_lists, host=hosts)
def test_verifiers_on_arbitrary_requests(
    body: bytes, headers: list[tuple[str, str]], host: str | None
) -> None:
    request = InboundRequest(body=body, headers=headers, client_host=host)
    verifiers: list[Verifier] = [
        BodyCredentials(msg.USERNAME, msg.PASSWORD),
        HmacSignature(msg.SHARED_SECRET),
        SourceAllowList(),
        SourceAllowList(trust_forwarded_for=True, proxy_hops=2),
    ]
    for verify in verifiers:
        with contextlib.suppress(VerificationError, MalformedMessageError):
            verify(request)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=st.binary(max_size=200) | message_like.map(lambda v: json.dumps(v).encode()),
    headers=header_lists,
    host=hosts,
    path=st.sampled_from(["/CarrierService", "/DeviceLocation", "/x/y"]) | st.text(max_size=10),
)
def test_receiver_answers_every_request_with_a_status(
    body: bytes, headers: list[tuple[str, str]], host: str | None, path: str
) -> None:
    async def handle(message: CallbackMessage) -> None:
        pass

    receiver = Receiver(verify=[SourceAllowList(trust_forwarded_for=True)])
    receiver.add_handler("CarrierService", handle, verify=[BodyCredentials("u", "p")])
    receiver.add_handler("DeviceLocation", handle, verify=[HmacSignature("s")])
    receiver.on_any()(handle)

    async def run() -> None:
        request = InboundRequest(body=body, headers=headers, client_host=host, path=path)
        outcome = await receiver.process(request)
        assert outcome.status_code in {200, 400, 401, 403}
        assert (outcome.status_code == 200) == (outcome.message is not None)

    anyio.run(run)


def test_typed_errors_are_receiver_errors() -> None:
    for error in (MalformedMessageError, InvalidSignatureError, InvalidCredentialsError):
        assert issubclass(error, ReceiverError)
