"""The verification pieces, used on their own."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from pydantic import SecretStr

from thingspace_callbacks.receiver import (
    THINGSPACE_SOURCE_IPS,
    AnyOf,
    BodyCredentials,
    ForbiddenSourceError,
    HmacSignature,
    InboundRequest,
    InvalidCredentialsError,
    InvalidSignatureError,
    MalformedMessageError,
    SourceAllowList,
    VerificationError,
    sign_body,
    verify_credentials,
    verify_signature,
)

from . import _messages as msg

BODY = msg.encode(msg.location())
DIGEST = hmac.new(msg.SHARED_SECRET.encode(), BODY, hashlib.sha256).digest()


def test_credentials_accept_the_registered_pair() -> None:
    verify_credentials(msg.m2m(), username=msg.USERNAME, password=msg.PASSWORD)
    verify_credentials(msg.m2m(), username=msg.USERNAME, password=SecretStr(msg.PASSWORD))


@pytest.mark.parametrize(
    "body",
    [
        msg.m2m(password="wrong"),
        msg.m2m(username="someone-else"),
        msg.m2m(password=msg.PASSWORD + " "),
        {k: v for k, v in msg.m2m().items() if k != "password"},
        {k: v for k, v in msg.m2m().items() if k != "username"},
        msg.m2m(password=None),
        msg.m2m(password=12345),
        msg.location(),
    ],
)
def test_credentials_reject_wrong_or_missing(body: dict[str, object]) -> None:
    with pytest.raises(InvalidCredentialsError) as caught:
        verify_credentials(body, username=msg.USERNAME, password=msg.PASSWORD)
    assert msg.PASSWORD not in str(caught.value)
    assert caught.value.status_code == 401


def test_body_credentials_verifier_reads_the_request_body() -> None:
    check = BodyCredentials(msg.USERNAME, msg.PASSWORD)
    check(InboundRequest(body=msg.encode(msg.fota())))
    with pytest.raises(InvalidCredentialsError):
        check(InboundRequest(body=msg.encode(msg.fota(password="nope"))))
    with pytest.raises(MalformedMessageError):
        check(InboundRequest(body=b"not json"))
    assert msg.PASSWORD not in repr(check)


@pytest.mark.parametrize(
    "signature",
    [
        DIGEST.hex(),
        DIGEST.hex().upper(),
        "sha256=" + DIGEST.hex(),
        "SHA256=" + DIGEST.hex(),
        base64.b64encode(DIGEST).decode(),
        base64.b64encode(DIGEST).decode().rstrip("="),
        base64.urlsafe_b64encode(DIGEST).decode(),
        "sha256=" + base64.b64encode(DIGEST).decode(),
        f"  {DIGEST.hex()}  ",
    ],
)
def test_signature_accepts_hex_and_base64(signature: str) -> None:
    verify_signature(BODY, signature, msg.SHARED_SECRET)
    verify_signature(BODY, signature, msg.SHARED_SECRET.encode())


def test_sign_body_is_hex_hmac_sha256_of_the_raw_body() -> None:
    assert sign_body(BODY, msg.SHARED_SECRET) == DIGEST.hex()


@pytest.mark.parametrize(
    ("body", "signature"),
    [
        (BODY, None),
        (BODY, ""),
        (BODY, "sha256="),
        (BODY, "zz" * 32),
        (BODY, "not base64 !!"),
        (BODY, base64.b64encode(DIGEST[:16]).decode()),
        (BODY, sign_body(BODY, "another-secret")),
        (BODY + b" ", DIGEST.hex()),
        (BODY.replace(b"33.45", b"33.46"), DIGEST.hex()),
    ],
)
def test_signature_rejects_missing_malformed_or_wrong(body: bytes, signature: str | None) -> None:
    with pytest.raises(InvalidSignatureError) as caught:
        verify_signature(body, signature, msg.SHARED_SECRET)
    assert msg.SHARED_SECRET not in str(caught.value)


def test_hmac_verifier_reads_the_configured_header_case_insensitively() -> None:
    check = HmacSignature(msg.SHARED_SECRET, header="X-Custom-Sig")
    check(InboundRequest(body=BODY, headers={"x-custom-SIG": DIGEST.hex()}))
    with pytest.raises(InvalidSignatureError):
        check(InboundRequest(body=BODY, headers={"X-ThingSpace-Signature": DIGEST.hex()}))
    assert msg.SHARED_SECRET not in repr(check)
    with pytest.raises(ValueError, match="non-empty"):
        HmacSignature("")


def test_allow_list_uses_the_peer_address_by_default() -> None:
    check = SourceAllowList()
    for address in THINGSPACE_SOURCE_IPS:
        check(InboundRequest(body=b"", client_host=address))
    check(InboundRequest(body=b"", client_host="::ffff:3.87.163.45"))
    with pytest.raises(ForbiddenSourceError) as caught:
        check(InboundRequest(body=b"", client_host="203.0.113.9"))
    assert caught.value.status_code == 403
    with pytest.raises(ForbiddenSourceError):
        check(InboundRequest(body=b"", client_host=None))
    with pytest.raises(ForbiddenSourceError):
        check(InboundRequest(body=b"", client_host="testclient"))


def test_allow_list_ignores_forwarded_for_unless_told() -> None:
    spoofed = InboundRequest(
        body=b"", client_host="10.0.0.5", headers={"X-Forwarded-For": "3.87.163.45"}
    )
    with pytest.raises(ForbiddenSourceError):
        SourceAllowList()(spoofed)
    SourceAllowList(trust_forwarded_for=True)(spoofed)


def test_forwarded_for_is_read_from_the_right() -> None:
    check = SourceAllowList(trust_forwarded_for=True)
    # A client can prepend anything; only what our proxy appended counts.
    forged = InboundRequest(
        body=b"", client_host="10.0.0.5", headers={"x-forwarded-for": "3.87.163.45, 203.0.113.9"}
    )
    with pytest.raises(ForbiddenSourceError):
        check(forged)
    check(
        InboundRequest(
            body=b"", client_host="10.0.0.5", headers={"x-forwarded-for": "1.1.1.1, 3.87.163.45"}
        )
    )
    two_proxies = SourceAllowList(trust_forwarded_for=True, proxy_hops=2)
    two_proxies(
        InboundRequest(
            body=b"", client_host="10.0.0.5", headers={"x-forwarded-for": "3.87.163.45, 10.0.0.9"}
        )
    )
    with pytest.raises(ForbiddenSourceError):
        two_proxies(
            InboundRequest(body=b"", client_host="10.0.0.5", headers={"x-forwarded-for": "1.1.1.1"})
        )
    # Repeated headers combine, as HTTP says they do.
    check(
        InboundRequest(
            body=b"",
            client_host="10.0.0.5",
            headers=[("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-For", "3.87.163.45")],
        )
    )


def test_allow_list_takes_networks_and_refuses_garbage() -> None:
    check = SourceAllowList(["192.0.2.0/24", "2001:db8::1"])
    check(InboundRequest(body=b"", client_host="192.0.2.77"))
    check(InboundRequest(body=b"", client_host="2001:db8::1"))
    with pytest.raises(ValueError, match="not an IP"):
        SourceAllowList(["example.com"])
    with pytest.raises(ValueError, match="proxy_hops"):
        SourceAllowList(proxy_hops=0)


def test_any_of_accepts_when_one_accepts() -> None:
    check = AnyOf(BodyCredentials(msg.USERNAME, msg.PASSWORD), HmacSignature(msg.SHARED_SECRET))
    check(InboundRequest(body=msg.encode(msg.m2m())))
    check(InboundRequest(body=BODY, headers={"X-ThingSpace-Signature": DIGEST.hex()}))
    with pytest.raises(VerificationError) as caught:
        check(InboundRequest(body=BODY))
    assert caught.value.status_code == 401
    with pytest.raises(ValueError, match="at least one"):
        AnyOf()


def test_any_of_keeps_the_error_kind_when_all_agree() -> None:
    check = AnyOf(BodyCredentials("a", "1"), BodyCredentials("b", "2"))
    check(InboundRequest(body=b'{"username": "b", "password": "2"}'))
    with pytest.raises(InvalidCredentialsError):
        check(InboundRequest(body=b'{"username": "b", "password": "1"}'))
