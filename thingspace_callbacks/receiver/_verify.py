"""Verification steps for callback messages, usable with or without :class:`Receiver`.

ThingSpace proves where a message comes from in one of two ways:

* Connectivity Management and Software Management put the ``username`` and
  ``password`` given at registration in the JSON body: :class:`BodyCredentials`.
* Device Location and Device Diagnostics sign the message with HMAC-SHA256 and the
  shared secret returned when the listener was registered: :class:`HmacSignature`.

Both may be combined with :class:`SourceAllowList` (the addresses ThingSpace publishes).
A verifier is any callable taking an :class:`InboundRequest` that returns ``None`` or
raises :class:`VerificationError`; :class:`AnyOf` accepts a message one of several
verifiers accepts. The plain functions (:func:`verify_credentials`,
:func:`verify_signature`, :func:`sign_body`) work on bytes and dicts alone.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from pydantic import SecretStr

from .._constants import SIGNATURE_HEADER, THINGSPACE_SOURCE_IPS
from .._errors import InvalidArgumentError
from ._errors import (
    ForbiddenSourceError,
    InvalidCredentialsError,
    InvalidSignatureError,
    VerificationError,
)
from ._request import InboundRequest

__all__ = [
    "AnyOf",
    "BodyCredentials",
    "HmacSignature",
    "SourceAllowList",
    "Verifier",
    "sign_body",
    "verify_credentials",
    "verify_signature",
]

SecretLike = str | bytes | SecretStr

_IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Verifier(Protocol):
    """Accepts a request by returning, rejects it by raising :class:`VerificationError`."""

    def __call__(self, request: InboundRequest, /) -> None: ...


def _secret_bytes(secret: SecretLike) -> bytes:
    if isinstance(secret, SecretStr):
        secret = secret.get_secret_value()
    if isinstance(secret, str):
        # surrogatepass: a JSON string may carry lone surrogates; they must not crash.
        return secret.encode("utf-8", "surrogatepass")
    return secret


def _same(given: object, expected: bytes) -> bool:
    if not isinstance(given, str):
        hmac.compare_digest(expected, expected)  # keep the timing of a real comparison
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected)


def verify_credentials(
    payload: Mapping[str, Any], *, username: SecretLike, password: SecretLike
) -> None:
    """Check the ``username`` and ``password`` fields of a decoded message body.

    Both are compared in constant time, and both always are, so the answer time does not
    tell which one was wrong.

    :raises InvalidCredentialsError: a field is missing or does not match.
    """
    user_ok = _same(payload.get("username"), _secret_bytes(username))
    password_ok = _same(payload.get("password"), _secret_bytes(password))
    if not (user_ok & password_ok):
        raise InvalidCredentialsError("message username or password is missing or wrong")


def sign_body(body: bytes, secret: SecretLike) -> str:
    """The hex HMAC-SHA256 of ``body`` with ``secret``: what a signed message carries."""
    return hmac.new(_secret_bytes(secret), body, hashlib.sha256).hexdigest()


_DIGEST_SIZE = hashlib.sha256().digest_size
_PREFIXES = ("sha256=", "SHA256=")
_HEX = re.compile(r"[0-9a-f]{64}|[0-9A-F]{64}")
# 32 bytes are 43 base64 characters plus one "=" of padding; each alphabet on its own.
_BASE64 = re.compile(r"[A-Za-z0-9+/]{43}=?")
_BASE64_URL = re.compile(r"[A-Za-z0-9_-]{43}=?")


def _decode_signature(value: str) -> bytes | None:
    # Each accepted text stands for exactly one digest and each digest has few texts:
    # a signature that decodes only because a decoder is lenient (stray padding bits,
    # mixed alphabets or case, embedded spaces) is refused, not normalised.
    text = value.strip(" \t")
    for prefix in _PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    if _HEX.fullmatch(text):
        return bytes.fromhex(text)
    for pattern, altchars in ((_BASE64, b"+/"), (_BASE64_URL, b"-_")):
        if pattern.fullmatch(text):
            raw = base64.b64decode(text.rstrip("=") + "=", altchars=altchars, validate=True)
            canonical = base64.b64encode(raw, altchars=altchars).decode("ascii")
            # The last character carries 2 unused bits; lenient decoding ignores them.
            if canonical.rstrip("=") != text.rstrip("="):
                return None
            return raw
    return None


def verify_signature(body: bytes, signature: str | None, secret: SecretLike) -> None:
    """Check an HMAC-SHA256 signature of the raw ``body``.

    The signature is decoded to its 32 bytes and compared with the expected digest in
    constant time. It may be sent, optionally after ``sha256=`` (or ``SHA256=``) and
    surrounded by spaces, as

    * hex: 64 digits, all lower case or all upper case;
    * base64, standard (``+/``) or URL-safe (``-_``) alphabet, with or without its
      ``=`` padding.

    Anything else is refused, including encodings a lenient decoder would accept for
    the same bytes: mixed-case hex, mixed alphabets, characters outside the alphabet,
    and base64 whose unused trailing bits are not zero.

    :raises InvalidSignatureError: the signature is missing, malformed or does not match.
    """
    if not signature:
        raise InvalidSignatureError("message is not signed")
    given = _decode_signature(signature)
    expected = hmac.new(_secret_bytes(secret), body, hashlib.sha256).digest()
    if given is None:
        raise InvalidSignatureError("message signature is neither hex nor base64 SHA-256")
    if not hmac.compare_digest(given, expected):
        raise InvalidSignatureError("message signature does not match")


class BodyCredentials:
    """Accept messages whose body carries this ``username`` and ``password``.

    For Connectivity Management and Software Management listeners: pass what was given
    when registering. To accept several accounts on one URL, combine instances with
    :class:`AnyOf`.
    """

    __slots__ = ("_password", "_username")

    def __init__(self, username: SecretLike, password: SecretLike) -> None:
        self._username = _secret_bytes(username)
        self._password = _secret_bytes(password)

    def __call__(self, request: InboundRequest, /) -> None:
        """Check ``request``'s body credentials."""
        verify_credentials(request.json(), username=self._username, password=self._password)

    def __repr__(self) -> str:
        username = self._username.decode("utf-8", "replace")
        return f"BodyCredentials(username={username!r}, password='**********')"


class HmacSignature:
    """Accept messages signed with HMAC-SHA256 of the raw body and ``secret``.

    For Device Location and Device Diagnostics listeners; ``secret`` is the shared
    secret from the registration answer's header. Verizon does not publish the name of
    the signature header, so ``header`` is configurable.
    """

    __slots__ = ("_secret", "header")

    header: str
    """The request header holding the signature."""

    def __init__(self, secret: SecretLike, *, header: str = SIGNATURE_HEADER) -> None:
        self._secret = _secret_bytes(secret)
        if not self._secret:
            raise InvalidArgumentError("HmacSignature needs a non-empty shared secret")
        self.header = header

    def __call__(self, request: InboundRequest, /) -> None:
        """Check ``request``'s signature header against its raw body."""
        verify_signature(request.body, request.header(self.header), self._secret)

    def __repr__(self) -> str:
        return f"HmacSignature(secret='**********', header={self.header!r})"


def _parse_address(text: str) -> _IPAddress | None:
    text = text.strip()
    port = ""
    if text.startswith("["):  # "[v6]" or "[v6]:port"
        text, bracket, after = text[1:].partition("]")
        if not bracket or (after and not after.startswith(":")):
            return None
        port = after[1:]
    elif text.count(":") == 1:  # "v4:port"
        text, _, port = text.partition(":")
    # Anything after the address must be a port, or the entry is not an address at all.
    if port and not (port.isascii() and port.isdigit()):
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class SourceAllowList:
    """Accept messages only from the given addresses or networks.

    The default is every address Verizon publishes for callbacks
    (:data:`THINGSPACE_SOURCE_IPS`). By default the sender is the peer that connected.
    Behind a reverse proxy, set ``trust_forwarded_for=True``: the sender is then read
    from ``X-Forwarded-For``, counting ``proxy_hops`` entries from the right (the ones
    your own proxies appended), because entries further left are whatever the client
    chose to send. Only enable it when a proxy you run always sets that header.
    """

    __slots__ = ("_networks", "proxy_hops", "trust_forwarded_for")

    def __init__(
        self,
        addresses: Iterable[str] = THINGSPACE_SOURCE_IPS,
        *,
        trust_forwarded_for: bool = False,
        proxy_hops: int = 1,
    ) -> None:
        if isinstance(addresses, str):
            addresses = (addresses,)
        networks: list[_IPNetwork] = []
        for entry in addresses:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                raise InvalidArgumentError(f"not an IP address or network: {entry!r}") from None
        if proxy_hops < 1:
            raise InvalidArgumentError("proxy_hops must be at least 1")
        self._networks = tuple(networks)
        self.trust_forwarded_for = trust_forwarded_for
        self.proxy_hops = proxy_hops

    def source_of(self, request: InboundRequest) -> _IPAddress | None:
        """The sender's address as this allow-list sees it, or ``None`` if unknown."""
        forwarded = request.header("x-forwarded-for") if self.trust_forwarded_for else None
        if forwarded is None:
            return None if request.client_host is None else _parse_address(request.client_host)
        hops = [part for part in forwarded.split(",") if part.strip()]
        if len(hops) < self.proxy_hops:
            return None
        return _parse_address(hops[-self.proxy_hops])

    def allows(self, address: _IPAddress) -> bool:
        """Whether ``address`` is on the list."""
        return any(address in network for network in self._networks)

    def __call__(self, request: InboundRequest, /) -> None:
        """Reject ``request`` unless its sender is on the list."""
        address = self.source_of(request)
        if address is None:
            raise ForbiddenSourceError("sender address is unknown")
        if not self.allows(address):
            raise ForbiddenSourceError(f"sender {address} is not on the allow-list")

    def __repr__(self) -> str:
        networks = ", ".join(str(network) for network in self._networks)
        return (
            f"SourceAllowList([{networks}], trust_forwarded_for={self.trust_forwarded_for}, "
            f"proxy_hops={self.proxy_hops})"
        )


def checked_verifiers(verify: object) -> tuple[Verifier, ...]:
    """Check a ``verify`` argument: a sequence of verifiers, each called with every
    request (refused here, or every message would be answered 500).

    :raises InvalidArgumentError: not a sequence, or an item that is not a verifier.
    """
    # Neither the argument nor its items are shown, only their types: a secret given in
    # place of a verifier (``verify=[secret]``) must not end up in a message.
    if callable(verify):
        raise InvalidArgumentError(
            "'verify' must be a sequence of verifiers; put a single one in a list"
        )
    if isinstance(verify, (str, bytes)) or not isinstance(verify, Iterable):
        raise InvalidArgumentError(
            "'verify' must be a sequence of verifiers (verify=[] accepts every message), "
            f"not {type(verify).__name__}"
        )
    verifiers = tuple(verify)
    for index, verifier in enumerate(verifiers):
        # A class is callable, but called with the request it builds a verifier
        # instead of checking anything.
        if isinstance(verifier, type):
            what = f"the class {verifier.__name__}"
        elif not callable(verifier):
            what = f"a {type(verifier).__name__}"
        else:
            continue
        raise InvalidArgumentError(
            "'verify' must hold verifiers, callables taking the request (such as "
            f"HmacSignature(secret)); item {index} is {what}"
        )
    return verifiers


class AnyOf:
    """Accept a message that at least one of ``verifiers`` accepts.

    Useful when one URL serves several accounts (one :class:`BodyCredentials` each) or
    both signed and credentialed families.
    """

    __slots__ = ("verifiers",)

    def __init__(self, *verifiers: Verifier) -> None:
        if not verifiers:
            raise InvalidArgumentError("AnyOf needs at least one verifier")
        self.verifiers = checked_verifiers(verifiers)

    def __call__(self, request: InboundRequest, /) -> None:
        """Accept ``request`` if one verifier does; otherwise say why each refused."""
        errors: list[VerificationError] = []
        for verify in self.verifiers:
            try:
                verify(request)
            except VerificationError as exc:
                errors.append(exc)
            else:
                return
        kinds = {type(error) for error in errors}
        kind = kinds.pop() if len(kinds) == 1 else VerificationError
        raise kind("; ".join(dict.fromkeys(str(error) for error in errors)))

    def __repr__(self) -> str:
        return f"AnyOf({', '.join(repr(verify) for verify in self.verifiers)})"
