"""What ThingSpace says an account has: the family's read (``list`` or ``get``), a
"none registered" answer told apart from a failure, and each listener read back as a
:class:`Snapshot` (secrets as digests or markers, never in clear)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from .._digest import parse_digest
from .._errors import APIStatusError
from .._exports import publish
from .._families import Family
from .._redact import is_sensitive_key, redact_url

if TYPE_CHECKING:
    from .._client import AsyncThingSpaceClient
    from ._model import Listener

__all__ = [
    "NOT_RETURNED",
    "SENSITIVE",
    "Expected",
    "Snapshot",
    "desired_snapshot",
    "observed",
    "read",
]

SENSITIVE = "(sensitive)"
"""A read-back password or secret header that is not the one the state asks for
(never shown)."""
NOT_RETURNED = "(not returned)"
"""ThingSpace's read did not say what the password is: it cannot be compared."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One listener's values as a plan shows and compares them.

    A password is never held: the state's is its salted digest (``after``); one read
    back (``before``) is that same digest when it matches, :data:`SENSITIVE` when it
    does not, :data:`NOT_RETURNED` when the read did not say, ``None`` when there is
    none. A secret header's value (a credential's name, or a value from ``${VAR}``)
    is held the same way. A URL's userinfo is masked.
    """

    url: str | None
    username: str | None = None
    password: str | None = None
    http_headers: tuple[tuple[str, str], ...] | None = None
    password_from: str | None = None
    """The ``${VAR}`` template of the state's password (``after`` only), with which a
    saved plan reads it again when applied."""
    http_headers_from: tuple[tuple[str, str], ...] | None = None
    """The ``${VAR}`` template of each header value that came from one (``after``
    only), as :attr:`password_from`."""

    @property
    def secret_headers(self) -> frozenset[str]:
        """The names of the headers held as digests (or :data:`SENSITIVE`)."""
        templates = dict(self.http_headers_from or ())
        return frozenset(
            name
            for name, value in self.http_headers or ()
            if name in templates
            or is_sensitive_key(name)
            or value == SENSITIVE
            or parse_digest(value) is not None
        )

    def data(self, facts: Family) -> dict[str, Any]:
        """The JSON object of the snapshot: the fields the family's ``register`` takes."""
        data: dict[str, Any] = {"url": self.url}
        keywords = facts.register_keywords
        if "username" in keywords:
            data["username"] = self.username
        if "password" in keywords:
            data["password"] = self.password
            if self.password_from is not None:
                data["passwordFrom"] = self.password_from
        if "http_headers" in keywords:
            data["httpHeaders"] = dict(self.http_headers) if self.http_headers else None
            if self.http_headers_from:
                data["httpHeadersFrom"] = dict(self.http_headers_from)
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Snapshot:
        """The snapshot of :meth:`data`'s object."""
        headers = data.get("httpHeaders")
        templates = data.get("httpHeadersFrom")
        return cls(
            url=_text(data.get("url")),
            username=_text(data.get("username")),
            password=_text(data.get("password")),
            http_headers=tuple(sorted((str(k), str(v)) for k, v in headers.items()))
            if isinstance(headers, dict) and headers
            else None,
            password_from=_text(data.get("passwordFrom")),
            http_headers_from=tuple(sorted((str(k), str(v)) for k, v in templates.items()))
            if isinstance(templates, dict) and templates
            else None,
        )

    def same_as(self, other: Snapshot) -> bool:
        """Whether both show the same listener (``password_from`` aside)."""
        return (
            self.url == other.url
            and self.username == other.username
            and self.password == other.password
            and self.http_headers == other.http_headers
        )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Expected:
    """The secrets the state gives one listener, to compare a read's with: each value
    (in memory only) and its digest, which a read-back value that matches is shown as."""

    password: SecretStr | None = None
    password_digest: str | None = None
    headers: Mapping[str, tuple[SecretStr, str]] = field(default_factory=dict)
    """Secret header name to its value and digest."""


def desired_snapshot(
    listener: Listener,
    password_digest: str | None,
    header_digests: Mapping[str, str] | None = None,
) -> Snapshot:
    """The snapshot of what ``listener`` asks for, its password as ``password_digest``
    and each secret header as its digest in ``header_digests``."""
    headers = dict(listener.http_headers or {})
    for name in listener.secret_headers:
        headers[name] = (header_digests or {}).get(name, SENSITIVE)
    templates = listener.http_headers_from
    return Snapshot(
        url=redact_url(listener.url),
        username=listener.username,
        password=password_digest if listener.password is not None else None,
        http_headers=tuple(sorted(headers.items())) if headers else None,
        password_from=listener.password_from if listener.password is not None else None,
        http_headers_from=tuple(sorted(templates.items())) if templates else None,
    )


async def read(client: AsyncThingSpaceClient, facts: Family, account: str) -> list[Any]:
    """Every listener ``account`` has in the family, as the family's read answers them
    (``[]`` when ThingSpace answers that none is registered).

    :raises APIError: the read failed: what the account has is unknown.
    """
    method = getattr(getattr(client, facts.name), facts.read)
    try:
        value = await method(account)
    except APIStatusError as exc:
        if none_registered(facts, exc):
            return []
        raise
    if isinstance(value, list):
        return value
    return [] if getattr(value, "url", "") is None else [value]


def none_registered(facts: Family, error: APIStatusError) -> bool:
    """Whether a failed ``get`` means the account has no listener, rather than that
    the read failed: Diagnostics' documented 403 ``CALLBACK_NOT_REGISTERED``, and FOTA's
    400 ``INVALID_PARAMETER`` "No callback registered" (what the sandbox answers; Verizon
    documents none). Anything else is a failure."""
    if facts.read != "get":
        return False
    if error.error_code == "CALLBACK_NOT_REGISTERED":
        return True
    message = (error.error_message or "").lower()
    return not facts.takes_service and error.status_code in (400, 404) and "no callback" in message


def observed(facts: Family, model: Any, wanted: Mapping[str, Expected]) -> tuple[str, Snapshot]:
    """The service of a listener read back and its snapshot; its secrets compared
    with those ``wanted`` (service to what the state gives that listener) asks for."""
    service = ""
    if facts.takes_service:
        name = getattr(model, "service_name", None) or getattr(model, "name", None)
        service = str(getattr(name, "value", name) or "")
    url = getattr(model, "url", None) or getattr(model, "endpoint", None)
    keywords = facts.register_keywords
    expected = wanted.get(service) or Expected()
    username = getattr(model, "username", None) or None if "username" in keywords else None
    password: str | None = None
    if "password" in keywords:
        password = _password(getattr(model, "password", None), expected)
    headers: tuple[tuple[str, str], ...] | None = None
    if "http_headers" in keywords:
        found = getattr(model, "http_headers", None) or {}
        # A header the state keeps secret for any service is masked on every listener
        # read back (one of another service may hold an older value of it).
        secret = {name for other in wanted.values() for name in other.headers}
        headers = (
            tuple(sorted((str(k), _header(str(k), v, expected, secret)) for k, v in found.items()))
            or None
        )
    snapshot = Snapshot(
        url=redact_url(url) if isinstance(url, str) else None,
        username=username,
        password=password,
        http_headers=headers,
    )
    return service, snapshot


def _password(value: object, expected: Expected) -> str | None:
    if value is None:
        return NOT_RETURNED
    text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
    if not text:
        return None
    if expected.password is not None and _same(expected.password, text):
        return expected.password_digest
    return SENSITIVE


def _header(name: str, value: object, expected: Expected, secret: set[str]) -> str:
    """A header read back as a snapshot holds it: a secret one as the state's digest
    when it matches, else :data:`SENSITIVE`; another as it is."""
    text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
    wanted = expected.headers.get(name)
    if wanted is not None:
        return wanted[1] if _same(wanted[0], text) else SENSITIVE
    if name in secret or is_sensitive_key(name) or parse_digest(text) is not None:
        return SENSITIVE
    return text


def _same(secret: SecretStr, text: str) -> bool:
    """Constant time: how much of a secret matched must not show in the timing."""
    return hmac.compare_digest(secret.get_secret_value().encode(), text.encode())


publish(globals(), ["Snapshot"], module="thingspace_callbacks.state")
