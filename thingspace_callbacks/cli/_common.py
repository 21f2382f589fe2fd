"""Helpers every command shares: the client from flags and environment, output as a
table or JSON, and errors turned into one-line messages and exit codes.

Exit codes: 0 success, 1 the API or the network failed, 2 bad usage or arguments.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import click
from pydantic import BaseModel, SecretStr

from .._errors import APIError, APIStatusError, RequestValidationError, ThingSpaceError
from .._redact import redact

if TYPE_CHECKING:
    from .._client import AsyncThingSpaceClient

__all__ = [
    "EXIT_API_ERROR",
    "EXIT_USAGE",
    "APIFailure",
    "Settings",
    "UsageFailure",
    "call",
    "get_settings",
    "json_option",
    "mask_secrets",
    "open_client",
    "output",
    "run",
    "to_data",
]

_T = TypeVar("_T")

EXIT_API_ERROR = 1
EXIT_USAGE = 2


@dataclass
class Settings:
    """What the top-level options say about where and how to connect.

    Credentials left unset here are read by the client from the ``THINGSPACE_*``
    environment variables.
    """

    base_url: str | None = None
    environment: str | None = None
    sandbox: bool = False
    json: bool = False
    client_id: str | None = None
    client_secret: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    access_token: SecretStr | None = None
    m2m_token: SecretStr | None = None
    timeout: float | None = None
    max_retries: int | None = None

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`AsyncThingSpaceClient` (unset ones left out)."""
        values: dict[str, Any] = {
            "base_url": self.base_url,
            "environment": self.environment,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
        }
        credentials = (
            self.client_id,
            self.client_secret,
            self.username,
            self.password,
            self.access_token,
            self.m2m_token,
        )
        if any(value is not None for value in credentials):
            # Options win over the THINGSPACE_* variables credential by credential, as
            # in the SDK; fixed tokens need the auth object.
            from .._auth import ThingSpaceAuth

            values["auth"] = ThingSpaceAuth.from_env(
                client_id=self.client_id,
                client_secret=self.client_secret,
                username=self.username,
                password=self.password,
                access_token=self.access_token,
                m2m_token=self.m2m_token,
            )
        return {name: value for name, value in values.items() if value is not None}


class APIFailure(click.ClickException):
    """The API or the network failed: exit code 1, one line on stderr."""

    exit_code = EXIT_API_ERROR


class UsageFailure(click.ClickException):
    """An argument was refused before anything was sent: exit code 2, one line."""

    exit_code = EXIT_USAGE


def get_settings() -> Settings:
    """The current invocation's :class:`Settings` (defaults outside the main group)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return Settings()
    return ctx.ensure_object(Settings)


def _set_json(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(Settings).json = True


json_option = click.option(
    "--json",
    "as_json",
    is_flag=True,
    expose_value=False,
    callback=_set_json,
    help="Print JSON instead of a table (for scripts).",
)
"""``--json`` on a subcommand; same as the top-level ``--json``."""


@asynccontextmanager
async def open_client(settings: Settings | None = None) -> AsyncIterator[AsyncThingSpaceClient]:
    """A client for ``settings``: bound to a fresh in-process sandbox with ``--sandbox``,
    else to ThingSpace (or ``--base-url``) with the credentials given."""
    settings = settings or get_settings()
    client: AsyncThingSpaceClient
    if settings.sandbox:
        try:
            from ..sandbox import Sandbox
        except ModuleNotFoundError as exc:
            raise UsageFailure(
                f"--sandbox needs the {exc.name!r} package; install it with: "
                "pip install 'thingspace-callbacks[sandbox]'"
            ) from None
        options: dict[str, Any] = {}
        if settings.timeout is not None:
            options["timeout"] = settings.timeout
        if settings.max_retries is not None:
            options["max_retries"] = settings.max_retries
        client = Sandbox().client(**options)
    else:
        from .._client import AsyncThingSpaceClient

        client = AsyncThingSpaceClient(**settings.client_kwargs())
    async with client:
        yield client


def run(main: Callable[[], Awaitable[_T]]) -> _T:
    """Run ``main`` on an event loop, turning SDK errors into exit codes and one-line
    messages (and, with ``--json``, an ``{"error": ...}`` object on stdout)."""
    settings = get_settings()
    try:
        return anyio.run(main)
    except RequestValidationError as exc:
        _print_error_json(settings, exc)
        raise UsageFailure(str(exc)) from None
    except APIError as exc:
        _print_error_json(settings, exc)
        raise APIFailure(exc.message) from None
    except ThingSpaceError as exc:
        _print_error_json(settings, exc)
        raise APIFailure(str(exc)) from None


def call(operation: Callable[[AsyncThingSpaceClient], Awaitable[_T]]) -> _T:
    """Open the client the options describe, run ``operation`` with it, close it."""
    settings = get_settings()

    async def main() -> _T:
        async with open_client(settings) as client:
            return await operation(client)

    return run(main)


def error_data(exc: ThingSpaceError) -> dict[str, Any]:
    """What ``--json`` prints for an error."""
    data: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)}
    if isinstance(exc, APIStatusError):
        data.update(
            status=exc.status_code,
            errorCode=exc.error_code,
            errorMessage=exc.error_message,
            requestId=exc.request_id,
        )
    return data


def _print_error_json(settings: Settings, exc: ThingSpaceError) -> None:
    if settings.json:
        click.echo(json.dumps({"error": error_data(exc)}, indent=2))


def to_data(value: object) -> Any:
    """Models as the JSON ThingSpace uses (camelCase); lists and dicts recursively."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(value, Mapping):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_data(v) for v in value]
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    return value


def mask_secrets(data: Any) -> Any:
    """``data`` as output may show it: the non-empty values of credential-like fields
    (passwords, shared secrets, tokens ...) and the userinfo of URLs hidden, by the
    SDK's one redactor (:func:`thingspace_callbacks._redact.redact`)."""
    return redact(data)


def output(
    value: object,
    *,
    title: str | None = None,
    empty: str = "Nothing to show.",
    show_secrets: bool = False,
    columns: Sequence[str] | None = None,
) -> None:
    """Print ``value`` as a table, or as JSON with ``--json``.

    A list becomes one row per item, a mapping or model a field/value table. Passwords
    and shared secrets are masked unless ``show_secrets``.
    """
    data = to_data(value)
    if not show_secrets:
        data = mask_secrets(data)
    if get_settings().json:
        click.echo(json.dumps(data, indent=2))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=sys.stdout, highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console.width = 200  # keep rows on one line when piped
    if isinstance(data, list):
        if not data:
            console.print(Text(empty))
            return
        names = list(columns or _union_keys(data))
        table = Table(*names, title=title)
        for item in data:
            row = item if isinstance(item, Mapping) else {"value": item}
            table.add_row(*(Text(_cell(row.get(name))) for name in names))
    elif isinstance(data, Mapping):
        table = Table("field", "value", title=title)
        for name, item in data.items():
            table.add_row(Text(str(name)), Text(_cell(item)))
    else:
        console.print(Text(_cell(data)))
        return
    console.print(table)


def _union_keys(rows: Sequence[object]) -> list[str]:
    names: dict[str, None] = {}
    for row in rows:
        if isinstance(row, Mapping):
            names.update(dict.fromkeys(str(k) for k in row))
        else:
            names["value"] = None
    return list(names)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
