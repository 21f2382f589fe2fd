"""Reading a state file: TOML, ``${VAR}`` from the environment, accounts files beside
it, every error naming the file and the place."""

from __future__ import annotations

import csv
import os
import re
import sys
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import SecretStr

from .._account_rows import account_rows
from .._errors import InvalidArgumentError
from .._validation import checked_account
from ._errors import StateFileError
from ._model import Listener, State, family_of

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["expand", "load_state"]

_S = TypeVar("_S", bound=State)

_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_LISTENER_HEADER = re.compile(r"^\s*\[\[\s*listener\s*\]\]")
_TOP_KEYS = frozenset({"accounts", "listener", "prune"})
_LISTENER_KEYS = frozenset(
    {"family", "service", "url", "username", "password", "http_headers", "accounts"}
)


def expand(value: str, environ: Mapping[str, str], *, path: str, place: str) -> str:
    """``value`` with each ``${VAR}`` replaced by the variable's value.

    :raises StateFileError: a variable is not set (named, with the place).
    """

    def variable(match: re.Match[str]) -> str:
        name = match[1]
        if name not in environ:
            raise StateFileError(
                f"${{{name}}} is not set in the environment", path=path, place=place
            )
        return environ[name]

    return _VARIABLE.sub(variable, value)


def load_state(kind: type[_S], path: str, environ: Mapping[str, str] | None) -> _S:
    """The :class:`State` of the TOML file ``path`` (see :meth:`State.load`)."""
    environ = os.environ if environ is None else environ
    try:
        with open(path, "rb") as stream:
            raw = stream.read()
        data = tomllib.loads(raw.decode("utf-8"))
    except OSError as exc:
        raise StateFileError(f"cannot be read ({exc.strerror or exc})", path=path) from None
    except UnicodeDecodeError:
        raise StateFileError("is not UTF-8 text", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise StateFileError(f"is not TOML: {exc}", path=path) from None
    text = raw.decode("utf-8").splitlines()
    lines = _listener_lines(text)
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise StateFileError(
            f"unknown key {unknown[0]!r} (expected accounts, [[listener]], [prune])", path=path
        )
    base = os.path.dirname(os.path.abspath(path))
    accounts = _accounts(data.get("accounts", []), base, path, "accounts")
    tables = data.get("listener", [])
    if not isinstance(tables, list):
        raise StateFileError("listener must be an array of tables: [[listener]]", path=path)
    listeners = []
    for index, table in enumerate(tables, 1):
        line = lines[index - 1] if index - 1 < len(lines) else None
        place = f"line {line}, listener {index}" if line else f"listener {index}"
        listeners.append(_listener(table, base, path, place, environ, _Keys(text, line)))
    prune = data.get("prune", {})
    if not isinstance(prune, dict) or not all(isinstance(v, bool) for v in prune.values()):
        raise StateFileError("[prune] maps families to true or false", path=path, place="[prune]")
    for name in prune:
        family_of(name, path=path, place="[prune]")
    try:
        return kind(
            listeners=tuple(listeners),
            accounts=accounts,
            prune=frozenset(name for name, on in prune.items() if on),
            path=path,
        )
    except StateFileError:
        raise
    except InvalidArgumentError as exc:  # pragma: no cover - every check names its place
        raise StateFileError(str(exc), path=path) from None


def _listener_lines(text: list[str]) -> list[int]:
    """The line of each ``[[listener]]`` header, in order."""
    return [n for n, line in enumerate(text, 1) if _LISTENER_HEADER.match(line)]


class _Keys:
    """Finds the line of a key of one ``[[listener]]`` table, for messages."""

    def __init__(self, text: list[str], header: int | None) -> None:
        self._text = text
        self._header = header

    def place(self, place: str, key: str) -> str:
        if self._header is None:
            return f"{place}, {key}"
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        for number in range(self._header, len(self._text)):
            line = self._text[number]
            if line.lstrip().startswith("["):
                break
            if pattern.match(line):
                return f"line {number + 1} ({key}), {place.partition(', ')[2] or place}"
        return f"{place}, {key}"


def _listener(
    table: object, base: str, path: str, place: str, environ: Mapping[str, str], keys: _Keys
) -> Listener:
    if not isinstance(table, dict):
        raise StateFileError("a listener must be a table", path=path, place=place)
    unknown = sorted(set(table) - _LISTENER_KEYS)
    if unknown:
        raise StateFileError(
            f"unknown key {unknown[0]!r} (expected one of {', '.join(sorted(_LISTENER_KEYS))})",
            path=path,
            place=place,
        )
    if "family" not in table:
        raise StateFileError("family is required", path=path, place=place)
    facts = family_of(table["family"], path=path, place=place)
    values: dict[str, Any] = {}
    for name in ("service", "url", "username", "password"):
        value = table.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise StateFileError(f"{name} must be a string", path=path, place=place)
        if name == "url" and _VARIABLE.search(value):
            # A URL is shown in every plan, saved plan and results line: a token in it
            # would be too. Secrets go where they are kept as digests.
            raise StateFileError(
                "url must not take ${VARIABLE}: a URL is shown in every plan and results "
                "line. Pass a secret as a header (diagnostics http_headers) or the "
                "password (connectivity), or write the URL out",
                path=path,
                place=keys.place(place, name),
            )
        values[name] = expand(value, environ, path=path, place=keys.place(place, name))
    if "url" not in values:
        raise StateFileError("url is required", path=path, place=place)
    headers = table.get("http_headers")
    if headers is not None:
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise StateFileError("http_headers maps names to strings", path=path, place=place)
        values["http_headers"] = {
            str(k): expand(v, environ, path=path, place=keys.place(place, "http_headers"))
            for k, v in headers.items()
        }
        # A value from the environment is a secret (a token, most likely): kept as a
        # digest, and read again from its template when a saved plan is applied.
        templates = {str(k): v for k, v in headers.items() if _VARIABLE.search(v)}
        if templates:
            values["http_headers_from"] = templates
    password_from = None
    if "password" in values:
        template = table["password"]
        if not _VARIABLE.search(template):
            raise StateFileError(
                'password must come from the environment: password = "${VARIABLE}"',
                path=path,
                place=place,
            )
        password_from = template
        values["password"] = SecretStr(values["password"])
    accounts = None
    if "accounts" in table:
        accounts = _accounts(table["accounts"], base, path, f"{place}, accounts")
    return Listener(
        family=facts.name,
        accounts=accounts,
        password_from=password_from,
        place=place,
        **values,
    )


def _accounts(value: object, base: str, path: str, place: str) -> tuple[str, ...]:
    """A list of accounts, or the accounts of a file (relative to the state file)."""
    if isinstance(value, list):
        for item in value:
            if not isinstance(item, str):
                raise StateFileError("accounts must be strings", path=path, place=place)
        return tuple(value)
    if not isinstance(value, str):
        raise StateFileError("accounts is a file name or a list of strings", path=path, place=place)
    name = os.path.join(base, value)
    accounts = []
    try:
        for line, account in account_rows(name):
            try:
                checked_account(account)
            except InvalidArgumentError as exc:
                message = str(exc).replace("'account' ", "account ")
                raise StateFileError(message, path=f"{value}:{line}") from None
            accounts.append(account)
    except OSError as exc:
        raise StateFileError(
            f"accounts file {value!r} cannot be read ({exc.strerror or exc})",
            path=path,
            place=place,
        ) from None
    except (UnicodeDecodeError, csv.Error):
        raise StateFileError(
            f"accounts file {value!r} is not UTF-8 text", path=path, place=place
        ) from None
    return tuple(accounts)
