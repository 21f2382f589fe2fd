"""Property tests: every verdict is checked against an oracle written here, not against
the code under test.

The oracles compute what must happen from first principles (``hmac``/``hashlib`` for
signatures, plain comparison for credentials, ``ipaddress`` for sources, a strict
UTF-8 JSON decode for bodies) and each test asserts *accept if and only if the oracle
accepts*. The inputs are mostly near misses: the right signature in every accepted
encoding, then mutated, truncated, re-encoded leniently, computed over another body or
with another secret, so a verifier that accepts too much fails as surely as one that
accepts too little.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import math
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thingspace_callbacks.receiver import (
    THINGSPACE_SOURCE_IPS,
    BodyCredentials,
    CallbackMessage,
    ConnectivityMessage,
    HmacSignature,
    InboundRequest,
    InvalidCredentialsError,
    InvalidSignatureError,
    MalformedMessageError,
    MessageTypeError,
    Receiver,
    ReceiverError,
    SourceAllowList,
    VerificationError,
    parse_message,
    verify_credentials,
    verify_signature,
)

pytestmark = pytest.mark.timeout(60)

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- the oracles -------------------------------------------------------------------------

PREFIXES = ("", "sha256=", "SHA256=")
PUBLISHED = [ipaddress.ip_network(entry, strict=False) for entry in THINGSPACE_SOURCE_IPS]


def hmac_digest(body: bytes, secret: str) -> bytes:
    return hmac.new(secret.encode("utf-8", "surrogatepass"), body, hashlib.sha256).digest()


def accepted_forms(digest: bytes) -> set[str]:
    """Every text the documented rules accept for ``digest``, and nothing else."""
    standard = base64.b64encode(digest).decode()
    url_safe = base64.urlsafe_b64encode(digest).decode()
    encodings = {
        digest.hex(),
        digest.hex().upper(),
        standard,
        standard.rstrip("="),
        url_safe,
        url_safe.rstrip("="),
    }
    return {prefix + encoding for prefix in PREFIXES for encoding in encodings}


def signature_is_valid(body: bytes, signature: str | None, secret: str) -> bool:
    if signature is None:
        return False
    return signature.strip(" \t") in accepted_forms(hmac_digest(body, secret))


def strict_json_object(body: bytes) -> dict[str, Any] | None:
    """The JSON object a body is, read as the spec says (UTF-8, no BOM, finite numbers
    only), else None."""
    try:
        text = body.decode("utf-8")
        if text.startswith("\ufeff"):
            return None
        value = json.loads(text, parse_constant=_refuse, parse_float=_finite)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _refuse(name: str) -> float:
    raise ValueError(name)


def _finite(literal: str) -> float:
    if not math.isfinite(value := float(literal)):
        raise ValueError(literal)
    return value


def credentials_match(payload: dict[str, Any], username: str, password: str) -> bool:
    given_user, given_password = payload.get("username"), payload.get("password")
    return (
        isinstance(given_user, str)
        and isinstance(given_password, str)
        and given_user == username
        and given_password == password
    )


def is_published(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(address in network for network in PUBLISHED)


# -- verdicts of the code under test ------------------------------------------------------


def signature_verdict(body: bytes, signature: str | None, secret: str) -> bool:
    try:
        verify_signature(body, signature, secret)
    except InvalidSignatureError:
        return False
    return True


def verifier_verdict(verify: Any, request: InboundRequest) -> str:
    try:
        verify(request)
    except MalformedMessageError:
        return "malformed"
    except VerificationError:
        return "refused"
    return "accepted"


# -- strategies ----------------------------------------------------------------------------

bodies = st.binary(max_size=200)
secrets = st.text(min_size=1, max_size=40)
SIGNATURE_CHARS = "0123456789abcdefABCDEF+/-_= \t\n\u0661\uff10xyzXYZ"


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    """``text`` with one small edit: what a forger or a broken encoder produces."""
    if not text:
        return draw(st.text(SIGNATURE_CHARS, min_size=1, max_size=3))
    index = draw(st.integers(0, len(text) - 1))
    char = draw(st.sampled_from(SIGNATURE_CHARS))
    kind = draw(st.sampled_from(["replace", "delete", "insert", "swapcase", "cut", "extend"]))
    if kind == "replace":
        return text[:index] + char + text[index + 1 :]
    if kind == "delete":
        return text[:index] + text[index + 1 :]
    if kind == "insert":
        return text[:index] + char + text[index:]
    if kind == "swapcase":
        return text[:index] + text[index].swapcase() + text[index + 1 :]
    if kind == "cut":
        return text[:index]
    return text + draw(st.text(SIGNATURE_CHARS, min_size=1, max_size=4))


def lenient_forms(digest: bytes) -> list[str]:
    """Texts a lenient decoder maps to ``digest`` that the rules refuse."""
    standard = base64.b64encode(digest).decode()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    index = alphabet.index(standard[42])
    unused_bits = [standard[:42] + alphabet[(index & ~3) | bits] + "=" for bits in (1, 2, 3)]
    hexed = digest.hex()
    letters = [index for index, char in enumerate(hexed) if char.isalpha()]
    first = letters[0] if len(letters) > 1 else None  # upper-casing it leaves mixed case
    mixed_case = hexed + "0" if first is None else hexed[:first] + hexed[first:].capitalize()
    return [
        *unused_bits,
        standard + "=",
        standard[:10] + " " + standard[10:],
        mixed_case,
        hexed[:32] + " " + hexed[32:],
        "sha256= " + hexed,
        "Sha256=" + hexed,
    ]


def signatures_for(body: bytes, secret: str) -> st.SearchStrategy[str | None]:
    digest = hmac_digest(body, secret)
    forms = sorted(accepted_forms(digest))
    return st.one_of(
        st.sampled_from(forms),
        st.sampled_from(forms).flatmap(mutated),
        st.sampled_from(lenient_forms(digest)),
        # Right form, wrong message: another body, or another secret.
        st.tuples(bodies, st.sampled_from(forms)).map(
            lambda other: sorted(accepted_forms(hmac_digest(other[0], secret)))[0]
        ),
        secrets.map(lambda other: hmac.new(other.encode(), body, hashlib.sha256).hexdigest()),
        st.text(max_size=100),
        st.none(),
        st.just(""),
    )


def _padded(signature: str | None, padding: str) -> str | None:
    return None if signature is None else padding + signature + padding


# -- signatures ------------------------------------------------------------------------------


@SETTINGS
@given(body=bodies, secret=secrets, data=st.data())
def test_signature_is_accepted_iff_the_oracle_accepts(
    body: bytes, secret: str, data: st.DataObject
) -> None:
    signature = _padded(
        data.draw(signatures_for(body, secret), label="signature"),
        data.draw(st.sampled_from(["", " ", "\t", "  "]), label="padding"),
    )
    assert signature_verdict(body, signature, secret) == signature_is_valid(body, signature, secret)


@SETTINGS
@given(body=bodies, secret=secrets, data=st.data())
def test_every_accepted_encoding_of_the_true_signature_passes(
    body: bytes, secret: str, data: st.DataObject
) -> None:
    form = data.draw(st.sampled_from(sorted(accepted_forms(hmac_digest(body, secret)))))
    assert signature_verdict(body, form, secret)
    verify_signature(body, form, secret.encode("utf-8", "surrogatepass"))  # bytes: the same
    # The same text under another secret is a forgery, unless HMAC says otherwise.
    other = data.draw(secrets, label="other secret")
    assert signature_verdict(body, form, other) == (
        hmac_digest(body, other) == hmac_digest(body, secret)
    )


@SETTINGS
@given(
    body=bodies,
    secret=secrets,
    edit=st.tuples(
        st.integers(0, 199), st.integers(0, 255), st.sampled_from(["flip", "add", "cut"])
    ),
)
def test_a_tampered_body_is_refused(body: bytes, secret: str, edit: tuple[int, int, str]) -> None:
    index, value, kind = edit
    signature = hmac_digest(body, secret).hex()
    if kind == "flip" and body:
        position = index % len(body)
        tampered = body[:position] + bytes([body[position] ^ (value or 1)]) + body[position + 1 :]
    elif kind == "cut" and body:
        tampered = body[: index % len(body)]
    else:
        tampered = body + bytes([value])
    assert tampered != body
    assert signature_verdict(tampered, signature, secret) == (
        hmac_digest(tampered, secret) == hmac_digest(body, secret)
    )
    assert signature_verdict(body, signature, secret)


@SETTINGS
@given(body=bodies, data=st.data())
def test_hmac_verifier_reads_only_its_header(body: bytes, data: st.DataObject) -> None:
    secret = "shared-secret"
    header = data.draw(st.sampled_from(["X-ThingSpace-Signature", "X-Custom-Sig"]), label="header")
    signature = data.draw(signatures_for(body, secret), label="signature")
    names = st.sampled_from([header, header.lower(), header.upper(), "X-Other", "Content-Type"])
    values = st.one_of(st.just(signature or ""), st.text(max_size=40))
    headers = data.draw(st.lists(st.tuples(names, values), max_size=4), label="headers")
    # What the header reads as: its values, in order, joined as HTTP joins repeats.
    matching = [value for name, value in headers if name.lower() == header.lower()]
    expected = signature_is_valid(body, ", ".join(matching), secret) if matching else False

    verdict = verifier_verdict(
        HmacSignature(secret, header=header), InboundRequest(body=body, headers=headers)
    )
    assert verdict == ("accepted" if expected else "refused")


# -- credentials -----------------------------------------------------------------------------


def near(value: str) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.just(value),
        st.just(value),
        st.sampled_from(
            [
                value + " ",
                " " + value,
                value.upper(),
                value[:-1],
                value[:-1] + chr(ord(value[-1]) ^ 1),  # the last character wrong
                value + value,
            ]
        ),
        st.text(max_size=20),
        st.none(),
        st.integers(),
        st.just([value]),
    )


MISSING = object()


@SETTINGS
@given(username=st.text(min_size=3, max_size=20), password=st.text(min_size=3), data=st.data())
def test_credentials_are_accepted_iff_both_match(
    username: str, password: str, data: st.DataObject
) -> None:
    payload: dict[str, Any] = {"requestId": "r"}
    for field, value in (("username", username), ("password", password)):
        given_value = data.draw(st.one_of(near(value), st.just(MISSING)), label=field)
        if given_value is not MISSING:
            payload[field] = given_value
    try:
        verify_credentials(payload, username=username, password=password)
        accepted = True
    except InvalidCredentialsError:
        accepted = False
    assert accepted == credentials_match(payload, username, password)


@SETTINGS
@given(data=st.data())
def test_body_credentials_verifier_on_arbitrary_bodies(data: st.DataObject) -> None:
    username, password = "listener", "pw-Zq8"
    payload = {
        "username": data.draw(near(username), label="username"),
        "password": data.draw(near(password), label="password"),
    }
    encoded = json.dumps(payload).encode()
    body = data.draw(
        st.one_of(
            st.just(encoded),
            st.just(b"\xef\xbb\xbf" + encoded),
            st.just(json.dumps(payload).encode("utf-16")),
            st.just(json.dumps([payload]).encode()),
            bodies,
        ),
        label="body",
    )
    decoded = strict_json_object(body)
    if decoded is None:
        expected = "malformed"
    else:
        expected = "accepted" if credentials_match(decoded, username, password) else "refused"
    verdict = verifier_verdict(BodyCredentials(username, password), InboundRequest(body=body))
    assert verdict == expected


# -- source addresses ------------------------------------------------------------------------

addresses = st.one_of(
    st.sampled_from(THINGSPACE_SOURCE_IPS).map(ipaddress.ip_address),
    st.ip_addresses(v=4),
    st.ip_addresses(v=6),
    # Right next to a published address.
    st.sampled_from(THINGSPACE_SOURCE_IPS).map(lambda a: ipaddress.ip_address(a) + 1),
)


@st.composite
def written(draw: st.DrawFn, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """``address`` as a peer or proxy may write it (the meaning stays the same)."""
    port = draw(st.integers(1, 65535))
    if isinstance(address, ipaddress.IPv4Address):
        return draw(
            st.sampled_from(
                [str(address), f"{address}:{port}", f"::ffff:{address}", f"[::ffff:{address}]:1"]
            )
        )
    return draw(st.sampled_from([str(address), f"[{address}]:{port}"]))


# Letters only: never an address, whatever the allow-list.
junk = st.text("abcdefghijklmnopqrstuvwxyz.-", max_size=20)


@SETTINGS
@given(data=st.data())
def test_allow_list_accepts_iff_the_peer_is_published(data: st.DataObject) -> None:
    address = data.draw(st.one_of(addresses, st.none(), junk), label="address")
    if isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        host: str | None = data.draw(written(address), label="host")
        expected = is_published(address)
    else:
        host, expected = address, False
    # A forged X-Forwarded-For must not matter while it is not trusted.
    headers = [("X-Forwarded-For", data.draw(st.sampled_from(THINGSPACE_SOURCE_IPS)))]
    verdict = verifier_verdict(
        SourceAllowList(), InboundRequest(body=b"", client_host=host, headers=headers)
    )
    assert verdict == ("accepted" if expected else "refused")


@SETTINGS
@given(data=st.data(), hops=st.integers(1, 3))
def test_forwarded_for_is_read_from_the_right(data: st.DataObject, hops: int) -> None:
    chain = data.draw(st.lists(addresses, max_size=4), label="chain")
    peer = data.draw(addresses, label="peer")
    headers = []
    if chain:
        written_chain = [data.draw(written(a)) for a in chain]
        headers.append(("X-Forwarded-For", ", ".join(written_chain)))
        # Only the entry our own proxies appended counts: hops from the right.
        expected = len(chain) >= hops and is_published(chain[-hops])
    else:
        expected = is_published(peer)  # no header: the peer itself
    request = InboundRequest(body=b"", client_host=str(peer), headers=headers)
    verdict = verifier_verdict(SourceAllowList(trust_forwarded_for=True, proxy_hops=hops), request)
    assert verdict == ("accepted" if expected else "refused")


# -- parsing ---------------------------------------------------------------------------------

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10)
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
        "firmwareList",
        "upgradeScheduled",
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
    | st.sampled_from(["CarrierService", "NiddService", "DeviceLocation", "Diagnostics"])
    | st.text(max_size=10)
)
encoded_bodies = st.one_of(
    bodies,
    message_like.map(lambda v: json.dumps(v).encode()),
    message_like.map(lambda v: b"\xef\xbb\xbf" + json.dumps(v).encode()),
    message_like.map(lambda v: json.dumps(v).encode("utf-16")),
    message_like.map(lambda v: json.dumps(v).encode("utf-16-le")),
    json_values.map(lambda v: json.dumps(v).encode()),
)


def _credentials_typed(payload: dict[str, Any]) -> bool:
    # The only typed fields of a GenericMessage: a username is text (JSON numbers are
    # taken as text, as for every text field), a password only a string; null is unset.
    username, password = payload.get("username"), payload.get("password")
    username_ok = username is None or (
        isinstance(username, (str, int, float)) and not isinstance(username, bool)
    )
    return username_ok and isinstance(password, (str, type(None)))


@SETTINGS
@given(body=encoded_bodies, service=services)
def test_a_body_parses_iff_it_is_a_utf8_json_object_with_string_credentials(
    body: bytes, service: str | None
) -> None:
    decoded = strict_json_object(body)
    try:
        message = parse_message(body, service=service)
    except MalformedMessageError:
        assert decoded is None or not _credentials_typed(decoded)
        return
    assert decoded is not None
    assert isinstance(message, CallbackMessage)
    assert message.service == service
    assert {**(message.model_extra or {})}.keys() <= decoded.keys()
    repr(message)  # must not raise either


@SETTINGS
@given(value=message_like, service=services)
def test_a_declared_model_is_what_comes_back_or_the_message_is_refused(
    value: dict[str, Any], service: str | None
) -> None:
    try:
        message = parse_message(value, service=service, model=ConnectivityMessage)
    except MessageTypeError:
        # Refused only when the model truly does not accept it.
        with pytest.raises(ValueError, match="validation error"):
            ConnectivityMessage.model_validate(value)
        return
    assert type(message) is ConnectivityMessage


# -- the whole receiver ----------------------------------------------------------------------


def _route(path: str) -> str:
    path = path if path.startswith("/") else "/" + path
    return path.rstrip("/") or "/"


def expected_status(
    path: str, body: bytes, headers: list[tuple[str, str]], host: str | None
) -> int:
    decoded = strict_json_object(body)
    route = _route(path)
    if route == "/CarrierService":  # BodyCredentials("u", "p"), any message
        if decoded is None:
            return 400
        return 200 if credentials_match(decoded, "u", "p") else 401
    if route == "/DeviceLocation":  # HmacSignature("s"), then parsing
        matching = [v for n, v in headers if n.lower() == "x-thingspace-signature"]
        if not matching or not signature_is_valid(body, ", ".join(matching), "s"):
            return 401
    else:  # on_any: SourceAllowList(trust_forwarded_for=True)
        forwarded = [v for n, v in headers if n.lower() == "x-forwarded-for"]
        source = ", ".join(forwarded).split(",")[-1].strip() if forwarded else host
        try:
            allowed = source is not None and is_published(ipaddress.ip_address(source))
        except ValueError:
            allowed = False
        if not allowed:
            return 403
    if decoded is None or not _credentials_typed(decoded):
        return 400
    return 200


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_receiver_answers_what_the_oracle_says(data: st.DataObject) -> None:
    path = data.draw(
        st.sampled_from(["/CarrierService", "CarrierService/", "/DeviceLocation", "/x/y", "/"]),
        label="path",
    )
    credentials = {"username": data.draw(near("u")), "password": data.draw(near("p"))}
    body = data.draw(
        st.one_of(
            st.just(json.dumps(credentials).encode()),
            message_like.map(lambda v: json.dumps({**v, **credentials}).encode()),
            encoded_bodies,
        ),
        label="body",
    )
    signature = data.draw(signatures_for(body, "s"), label="signature")
    headers = data.draw(
        st.lists(
            st.one_of(
                st.tuples(st.just("X-ThingSpace-Signature"), st.just(signature or "")),
                st.tuples(st.just("X-Forwarded-For"), st.sampled_from(THINGSPACE_SOURCE_IPS)),
                st.tuples(st.just("X-Forwarded-For"), st.ip_addresses().map(str)),
                st.tuples(st.sampled_from(["Content-Type", "X-Other"]), st.text(max_size=20)),
            ),
            max_size=3,
        ),
        label="headers",
    )
    host = data.draw(st.sampled_from([None, "3.87.163.45", "203.0.113.9", "::1"]), label="host")

    handled: list[CallbackMessage] = []

    async def handle(message: CallbackMessage) -> None:
        handled.append(message)

    receiver = Receiver(verify=[SourceAllowList(trust_forwarded_for=True)], dedupe=False)
    receiver.add_handler("CarrierService", handle, verify=[BodyCredentials("u", "p")])
    receiver.add_handler("DeviceLocation", handle, verify=[HmacSignature("s")])
    receiver.on_any()(handle)

    async def run() -> None:
        request = InboundRequest(body=body, headers=headers, client_host=host, path=path)
        outcome = await receiver.process(request)
        assert outcome.status_code == expected_status(path, body, headers, host)
        assert (outcome.status_code == 200) == (outcome.message is not None) == bool(handled)

    anyio.run(run)


def test_typed_errors_are_receiver_errors() -> None:
    for error in (MalformedMessageError, InvalidSignatureError, InvalidCredentialsError):
        assert issubclass(error, ReceiverError)
