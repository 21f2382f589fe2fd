"""The verification pieces, used on their own."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
from collections.abc import Callable

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
    accepted = []
    for password in (msg.PASSWORD, SecretStr(msg.PASSWORD), msg.PASSWORD.encode()):
        verify_credentials(msg.m2m(), username=msg.USERNAME, password=password)
        accepted.append(password)
        # The same check refuses the body once its password differs by one character.
        with pytest.raises(InvalidCredentialsError):
            verify_credentials(
                msg.m2m(password=msg.PASSWORD[:-1] + "?"), username=msg.USERNAME, password=password
            )
    assert len(accepted) == 3


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
    check = HmacSignature(msg.SHARED_SECRET)
    check(InboundRequest(body=BODY, headers={"X-ThingSpace-Signature": signature}))
    # Accepted because it is this body's digest: one byte more and it is refused.
    with pytest.raises(InvalidSignatureError) as caught:
        verify_signature(BODY + b" ", signature, msg.SHARED_SECRET)
    assert caught.value.status_code == 401


B64 = base64.b64encode(DIGEST).decode()
B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _with_trailing_bits(encoded: str, bits: int) -> str:
    # The 43rd character of a 32-byte digest carries 4 data bits and 2 unused ones.
    index = B64_ALPHABET.index(encoded[42])
    return encoded[:42] + B64_ALPHABET[(index & ~3) | bits] + encoded[43:]


@pytest.mark.parametrize(
    "signature",
    [
        _with_trailing_bits(B64, 1),
        _with_trailing_bits(B64, 2),
        _with_trailing_bits(B64, 3),
        _with_trailing_bits(B64, 3).rstrip("="),
        B64 + "=",  # too much padding
        B64.rstrip("=") + "==",
        B64[:20] + " " + B64[20:],  # embedded space
        B64[:20] + "\n" + B64[20:],
        "=" + B64.rstrip("="),  # padding in front
        B64.replace("+", "-"),  # "-" beside "/": two alphabets in one signature
        DIGEST.hex()[:10].upper() + DIGEST.hex()[10:],  # mixed-case hex
        DIGEST.hex()[:32] + " " + DIGEST.hex()[32:],
        DIGEST.hex() + "0",
        DIGEST.hex()[:-1],
        "0x" + DIGEST.hex(),
        "sha256= " + DIGEST.hex(),  # a space after the prefix
        "Sha256=" + DIGEST.hex(),
        "sha256=sha256=" + DIGEST.hex(),
        "sha1=" + DIGEST.hex(),
        "\u0661" + DIGEST.hex()[1:],  # an Arabic-Indic digit one, not "1"
        "\uff10" * 64,  # fullwidth zeros
        "\n" + DIGEST.hex(),  # only spaces and tabs may surround it
        DIGEST.hex() + "\u00a0",
        "X" + DIGEST.hex(),
        DIGEST.hex() + "X",
        B64[:42] + "X",  # "X" ends no 32-byte digest: its unused bits are set
        B64[:42] + "X=",
    ],
)
def test_signature_refuses_non_canonical_encodings_of_the_right_digest(signature: str) -> None:
    with pytest.raises(InvalidSignatureError):
        verify_signature(BODY, signature, msg.SHARED_SECRET)


def test_lenient_base64_would_have_accepted_those() -> None:
    # What the refusals above guard against: the standard decoder ignores the unused
    # bits, so four different strings decode to the right digest.
    assert "+" in B64  # so the mixed-alphabet case above is one
    assert "/" in B64
    variants = {_with_trailing_bits(B64, bits) for bits in range(4)}
    assert len(variants) == 4
    assert {base64.b64decode(v) for v in variants} == {DIGEST}


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


# -- what the mutation session (nox -s mutants) showed no other test pinned down ----------


def _refusal(call: Callable[[], None]) -> VerificationError:
    with pytest.raises(VerificationError) as caught:
        call()
    return caught.value


def test_refusals_say_what_was_wrong_and_nothing_more() -> None:
    cases: list[tuple[Callable[[], None], type[VerificationError], str]] = [
        (lambda: verify_signature(BODY, None, "s"), InvalidSignatureError, "message is not signed"),
        (lambda: verify_signature(BODY, "", "s"), InvalidSignatureError, "message is not signed"),
        (
            lambda: verify_signature(BODY, "zz", "s"),
            InvalidSignatureError,
            "message signature is neither hex nor base64 SHA-256",
        ),
        (
            lambda: verify_signature(BODY, "00" * 32, "s"),
            InvalidSignatureError,
            "message signature does not match",
        ),
        (
            lambda: verify_credentials({}, username="u", password="p"),
            InvalidCredentialsError,
            "message username or password is missing or wrong",
        ),
        (
            lambda: SourceAllowList()(InboundRequest(body=b"", client_host=None)),
            ForbiddenSourceError,
            "sender address is unknown",
        ),
        (
            lambda: SourceAllowList()(InboundRequest(body=b"", client_host="203.0.113.9")),
            ForbiddenSourceError,
            "sender 203.0.113.9 is not on the allow-list",
        ),
    ]
    for call, kind, message in cases:
        error = _refusal(call)
        assert type(error) is kind
        assert str(error) == message


def test_any_of_reports_each_refusal_once_under_the_common_kind() -> None:
    mixed = AnyOf(BodyCredentials("a", "1"), BodyCredentials("b", "2"), HmacSignature("s"))
    error = _refusal(lambda: mixed(InboundRequest(body=b'{"username": "a"}')))
    assert type(error) is VerificationError  # the kinds differ: their common base
    assert error.status_code == 401
    assert str(error) == "message username or password is missing or wrong; message is not signed"
    fenced = AnyOf(SourceAllowList(["192.0.2.1"]), SourceAllowList(["192.0.2.2"]))
    same = _refusal(lambda: fenced(InboundRequest(body=b"", client_host="192.0.2.3")))
    assert type(same) is ForbiddenSourceError
    assert str(same) == "sender 192.0.2.3 is not on the allow-list"  # the same refusal, once


def test_constructors_refuse_mistakes_with_exact_messages() -> None:
    with pytest.raises(ValueError, match=r"^AnyOf needs at least one verifier$"):
        AnyOf()
    with pytest.raises(ValueError, match=r"^HmacSignature needs a non-empty shared secret$"):
        HmacSignature(b"")
    with pytest.raises(ValueError, match=r"^proxy_hops must be at least 1$"):
        SourceAllowList(proxy_hops=0)
    with pytest.raises(ValueError, match=r"^not an IP address or network: 'example\.com'$"):
        SourceAllowList(["example.com"])


def test_allow_list_takes_one_string_and_networks_with_host_bits() -> None:
    SourceAllowList("192.0.2.1")(InboundRequest(body=b"", client_host="192.0.2.1"))
    loose = SourceAllowList(["192.0.2.77/24"])  # host bits set: the network is meant
    loose(InboundRequest(body=b"", client_host="192.0.2.5"))
    with pytest.raises(ForbiddenSourceError):
        loose(InboundRequest(body=b"", client_host="192.0.3.5"))


@pytest.mark.parametrize(
    "host",
    [
        "3.87.163.45:x",
        "3.87.163.45:\u0663",  # an Arabic-Indic digit is not a port
        "[::ffff:3.87.163.45]x",
        "[::ffff:3.87.163.45]:8x",
        "[::ffff:3.87.163.45]:x1",
        "[::ffff:3.87.163.45",
        "[::ffff:3.87.163.45]]:1",
        "3.87.163.45/32",
    ],
)
def test_an_address_followed_by_anything_but_a_port_is_unknown(host: str) -> None:
    with pytest.raises(ForbiddenSourceError, match="unknown"):
        SourceAllowList()(InboundRequest(body=b"", client_host=host))


@pytest.mark.parametrize(
    "host", ["3.87.163.45", "3.87.163.45:443", "[::ffff:3.87.163.45]", "[::ffff:3.87.163.45]:1"]
)
def test_an_address_may_carry_a_port(host: str) -> None:
    allow_list = SourceAllowList()
    request = InboundRequest(body=b"", client_host=host)
    allow_list(request)
    assert allow_list.source_of(request) == ipaddress.ip_address("3.87.163.45")
    # The port is read past, not ignored with the address: another address is refused.
    with pytest.raises(ForbiddenSourceError, match="not on the allow-list"):
        allow_list(InboundRequest(body=b"", client_host=host.replace("3.87", "3.88")))


def test_lone_surrogates_are_compared_not_crashed_on() -> None:
    # A JSON string may hold one ("\ud800"); it must be refused or accepted, not raise.
    verify_credentials({"username": "u\ud800", "password": "p"}, username="u\ud800", password="p")
    with pytest.raises(InvalidCredentialsError):
        verify_credentials({"username": "u\udfff", "password": "p"}, username="u", password="p")
    secret = "s\ud800"
    signature = hmac.new(secret.encode("utf-8", "surrogatepass"), BODY, hashlib.sha256)
    verify_signature(BODY, signature.hexdigest(), secret)
    HmacSignature(secret)(
        InboundRequest(body=BODY, headers={"X-ThingSpace-Signature": signature.hexdigest()})
    )


def test_reprs_name_the_configuration_but_no_secret() -> None:
    assert repr(BodyCredentials(b"\xffuser", "pw")) == (
        "BodyCredentials(username='\ufffduser', password='**********')"
    )
    assert repr(HmacSignature("s", header="X-Sig")) == (
        "HmacSignature(secret='**********', header='X-Sig')"
    )
    allow = SourceAllowList(["192.0.2.0/24", "2001:db8::1"], trust_forwarded_for=True)
    assert repr(allow) == (
        "SourceAllowList([192.0.2.0/24, 2001:db8::1/128], trust_forwarded_for=True, proxy_hops=1)"
    )
    assert repr(AnyOf(HmacSignature("s"), allow)) == (
        f"AnyOf(HmacSignature(secret='**********', header='X-ThingSpace-Signature'), {allow!r})"
    )
