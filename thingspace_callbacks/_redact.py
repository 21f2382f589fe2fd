"""Hiding credentials in data that is about to be printed or logged.

One redactor for the whole SDK, so the CLI's output, the listener's JSON lines and the
receiver's message reprs hide the same things:

* :func:`redact` replaces the value of every credential-like key (see
  :func:`is_sensitive_key`) in mappings, at any depth and inside lists, with
  :data:`MASK`; ``None`` and ``""`` are left as they are, since they show that a
  credential is *not* set without revealing one.
* :func:`redact_url` (also applied by :func:`redact` to every other string) replaces the
  userinfo of URLs: ``https://user:pass@host/`` becomes ``https://***@host/``.
* :func:`without_credentials` copies an HTTP request without its credential headers
  and body, for an exception to keep.

Only the standard library's ``re`` is imported, so any module may use this one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

__all__ = ["MASK", "is_sensitive_key", "redact", "redact_url", "without_credentials"]

MASK = "********"
"""What a credential's value is replaced with."""

# Matched anywhere in the key once case and separators are dropped, so "sharedSecret",
# "client_secret", "X-Api-Key" and "VZ-M2M-Token" all count.
_SENSITIVE_PARTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "authorization",
    "signature",
    "credential",
    "apikey",
    "accesskey",
    "privatekey",
    "cookie",
)
# Matched only as whole words: as substrings they would hide "monkey" or "author".
_SENSITIVE_WORDS = frozenset({"key", "auth", "pwd"})

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]")

# The authority of a URL ends at the first "/", "?" or "#" (RFC 3986); its userinfo is
# everything before the last "@" in it, which the greedy class finds by backtracking.
_URL_USERINFO = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://)[^/?#\s]*@")


def is_sensitive_key(key: object) -> bool:
    """Whether a field named ``key`` holds a credential (password, secret, token,
    authorization, signature, API key, cookie ...), whatever its case or separators."""
    text = str(key)
    squashed = _NOT_ALNUM.sub("", text.lower())
    if any(part in squashed for part in _SENSITIVE_PARTS):
        return True
    return any(word.lower() in _SENSITIVE_WORDS for word in _WORDS.findall(text))


def redact_url(url: str) -> str:
    """``url`` with the userinfo of every URL in it replaced by ``***``.

    ``"https://user:pass@host:9001/cb"`` becomes ``"https://***@host:9001/cb"``; text
    without a ``scheme://user@`` part is returned unchanged.
    """
    if "@" not in url or "://" not in url:
        return url
    return _URL_USERINFO.sub(r"\1***@", url)


def redact(value: Any) -> Any:
    """A copy of ``value`` that is safe to show: credential-like keys' non-empty values
    masked and URL userinfo removed, in mappings, lists and tuples at any depth.

    Mappings come back as ``dict`` and tuples as ``list`` (the JSON shapes); any other
    value is returned as it is.
    """
    if isinstance(value, Mapping):
        return {
            key: MASK if is_sensitive_key(key) and item not in (None, "") else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return redact_url(value)
    return value


_CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "vz-m2m-token"})

_REDACTED = "thingspace_callbacks.redacted"
"""Marks a request copied by :func:`without_credentials` (in its ``extensions``)."""


def without_credentials(request: httpx.Request) -> httpx.Request:
    """A copy of ``request`` without credential headers or body (the body of a
    registration may hold a listener password), for keeping on an exception that may
    be logged. Copies are not copied again."""
    if request.extensions.get(_REDACTED):
        return request
    headers = [
        (name, value)
        for name, value in request.headers.multi_items()
        if name.lower() not in _CREDENTIAL_HEADERS
    ]
    # The request's own class (httpx.Request): this module imports nothing but the
    # standard library, so that any module may use it.
    return type(request)(request.method, request.url, headers=headers, extensions={_REDACTED: True})
