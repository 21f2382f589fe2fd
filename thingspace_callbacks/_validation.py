"""Argument checks that run before a request is built, and path-segment encoding.

Everything here raises :class:`InvalidArgumentError` naming the argument, so a bad
call fails before any byte goes on the wire.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum
from functools import lru_cache
from typing import Any, TypeVar, cast
from urllib.parse import quote, urlsplit

from pydantic import AliasChoices, ValidationError

from ._errors import InvalidArgumentError
from ._redact import redact_url
from ._validation_errors import describe_problems
from .models._base import ThingSpaceModel

__all__ = [
    "account_segment",
    "callback_url",
    "checked_account",
    "coerce_body",
    "header_value",
    "identifier",
    "path_segment",
]

_M = TypeVar("_M", bound=ThingSpaceModel)


def identifier(value: object, argument: str) -> str:
    """Check that ``value`` is a non-blank string (an account or service name).

    Enum members (service names) count as their value.
    """
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        if value.strip():
            return value
        raise InvalidArgumentError(f"{argument!r} must not be empty or blank")
    if value is None:
        raise InvalidArgumentError(f"{argument!r} is required")
    raise InvalidArgumentError(f"{argument!r} must be a string, not {type(value).__name__}")


def checked_account(value: object, argument: str = "account") -> str:
    """Check an account before it goes into a request's path or query string.

    ThingSpace's accounts are account names such as ``0252012345-00001`` (Connectivity
    Management, Location, Software Management, Diagnostics) and account numbers (Hyper
    Precise Location); neither has a documented format beyond that, so only what no
    account can hold is refused: blank strings, whitespace, control characters, and the
    characters that would change the request's path or query once the gateway decodes
    it (``/``, ``\\``, ``?``, ``#``, ``%``; ``0252012345/00001`` otherwise answers an
    opaque ``900906``), and the dot segments ``.`` and ``..``.
    """
    text = identifier(value, argument)
    if _PLAIN_ACCOUNT.fullmatch(text) and text not in {".", ".."}:
        return text  # the usual case, checked with one match
    bad = _NOT_IN_ACCOUNT.search(text)
    if bad is not None:
        char = bad.group()
        what = "whitespace" if char.isspace() else f"{char!r}"
        raise InvalidArgumentError(
            f"{argument!r} must not contain {what}: {text!r} is not a ThingSpace account "
            "(account names look like '0252012345-00001')"
        )
    if text in {".", ".."}:
        raise InvalidArgumentError(f"{argument!r} must not be {text!r}")
    return text


def account_segment(value: object) -> str:
    """Check ``value`` as :func:`checked_account` does and encode it as one path segment."""
    return path_segment(checked_account(value), "account")


_PLAIN_ACCOUNT = re.compile(r"[A-Za-z0-9._-]+")
"""Letters, digits, dots, dashes and underscores: an account that needs no further check."""

_NOT_IN_ACCOUNT = re.compile(r"[/\\?#%\s\x00-\x1f\x7f-\x9f]")
"""What no account holds: path and query delimiters, ``%``, whitespace, control characters."""


def path_segment(value: object, argument: str) -> str:
    """Check ``value`` as :func:`identifier` does and percent-encode it as one path segment.

    ``/``, ``?``, ``#`` and every other reserved character are encoded, and dot segments
    are refused, so no value can point the request at another path.
    """
    text = identifier(value, argument)
    if _UNRESERVED.fullmatch(text):
        # Nothing to encode (account ids are digits and dashes): skip quote()'s work.
        if text in {".", ".."}:
            raise InvalidArgumentError(f"{argument!r} must not be {text!r}")
        return text
    return quote(text, safe="")


_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")
"""RFC 3986 unreserved characters: a segment made of them is its own encoding."""


def callback_url(value: object, argument: str = "url") -> str:
    """Check that ``value`` is an absolute http(s) URL with a host."""
    text = identifier(value, argument)
    if not _is_http_url(text):
        raise InvalidArgumentError(
            f"{argument!r} must be an absolute http:// or https:// URL, got {redact_url(text)!r}"
        )
    return text


# A fan-out registers one listener URL for thousands of accounts: check it once.
@lru_cache(maxsize=256)
def _is_http_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return False
    return (
        port_ok
        and parts.scheme.lower() in {"http", "https"}
        and bool(parts.hostname)
        and not any(char.isspace() for char in text)
    )


def header_value(value: str, argument: str) -> str:
    """Check that an already validated ``value`` can be sent as an HTTP header value.

    Header values are ASCII without line breaks; anything else would fail deep inside
    httpx (or split the header), so it is refused here, naming the argument.
    """
    if not value.isascii() or any(char in value for char in "\r\n\0"):
        raise InvalidArgumentError(
            f"{argument!r} is sent as an HTTP header and must be ASCII without line breaks"
            " (percent-encode other characters)"
        )
    return value


def coerce_body(
    model: type[_M],
    body: _M | Mapping[str, Any] | None,
    arguments: Mapping[str, Any],
    *,
    fields: Mapping[str, str] | None = None,
    fixed: Mapping[str, str] | None = None,
) -> _M:
    """Build the request model from a model instance, a plain mapping or keyword
    arguments.

    ``arguments`` are the call's keyword arguments by name; ``fields`` names the model
    field of each one whose name differs (``{"service": "name"}``), and error messages
    name the argument. Arguments that are ``None`` count as not given. Giving both a
    body and arguments is an error: it is never clear which should win. ``fixed`` holds
    fields the call's positional arguments decide (the account): filled in when the
    body leaves them out, and an error when the body says otherwise.
    """
    if body is None:
        renames = fields or {}
        named = {
            renames.get(name, name): value for name, value in arguments.items() if value is not None
        }
        if fixed:
            named.update(fixed)
        return _validated(model, named, renames)
    given = [name for name, value in arguments.items() if value is not None]
    if given:
        raise InvalidArgumentError(f"pass either 'body' or {sorted(given)}, not both")
    if isinstance(body, model):
        return _with_fixed(body, fixed) if fixed else body
    data: Mapping[str, Any]
    if isinstance(body, Mapping):
        data = body
    elif isinstance(body, ThingSpaceModel):
        data = body.model_dump(by_alias=True, exclude_none=True)
    else:
        raise InvalidArgumentError(
            f"'body' must be a {model.__name__} or a mapping, not {type(body).__name__}"
        )
    if not fixed:
        return _validated(model, data)
    return _with_fixed(_validated(model, {**_missing(model, data, fixed), **data}), fixed)


def _validated(
    model: type[_M], data: Mapping[str, Any], arguments: Mapping[str, str] | None = None
) -> _M:
    try:
        # The model's validator itself, as `model_validate` calls it, one call fewer:
        # a fan-out builds a body for every account.
        return cast(_M, model.__pydantic_validator__.validate_python(data))
    except ValidationError as exc:
        raise InvalidArgumentError(_describe(model, exc, arguments)) from None


def _missing(
    model: type[ThingSpaceModel], data: Mapping[str, Any], fixed: Mapping[str, str]
) -> dict[str, str]:
    """The ``fixed`` fields a mapping body leaves out (under either of their names)."""
    missing = {}
    for name, value in fixed.items():
        if all(data.get(key) is None for key in _field_names(model, name)):
            missing[name] = value
    return missing


def _field_names(model: type[ThingSpaceModel], name: str) -> set[str]:
    """Every key a mapping may give field ``name`` under: its name, its alias, and the
    other names it accepts (``aname`` also arrives as ``accountName``)."""
    field = model.model_fields[name]
    names = {name, field.alias or name}
    if isinstance(field.validation_alias, AliasChoices):
        names.update(c for c in field.validation_alias.choices if isinstance(c, str))
    elif isinstance(field.validation_alias, str):
        names.add(field.validation_alias)
    return names


def _with_fixed(body: _M, fixed: Mapping[str, str]) -> _M:
    updates = {}
    for name, value in fixed.items():
        current = getattr(body, name)
        if current is None:
            updates[name] = value
        elif current != value:
            raise InvalidArgumentError(
                f"the body's {name!r} ({current!r}) differs from the account {value!r}"
            )
    return body.model_copy(update=updates) if updates else body


def _describe(
    model: type[ThingSpaceModel], exc: ValidationError, arguments: Mapping[str, str] | None
) -> str:
    if arguments is not None:
        # Keyword arguments were given: name them, not the model's fields.
        names = {field: argument for argument, field in arguments.items()}
        names.update({model.model_fields[f].alias or f: a for f, a in names.copy().items()})
        problems = describe_problems(
            exc, line=lambda error: f"{_argument(error['loc'], names)!r}: {error['msg']}"
        )
        return f"invalid arguments: {problems}"
    return f"invalid {model.__name__}: {describe_problems(exc)}"


def _argument(loc: tuple[int | str, ...], names: Mapping[str, str]) -> str:
    if not loc:
        return "body"
    head = str(loc[0])
    return ".".join([names.get(head, _snake(head)), *map(str, loc[1:])])


def _snake(name: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in name)
