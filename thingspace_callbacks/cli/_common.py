"""Helpers every command shares: the client from flags and environment, output as a
table or JSON, and errors turned into one-line messages and exit codes.

Exit codes: 0 success, 1 the API or the network failed, 2 bad usage or arguments, 3 a
package extra is missing.

Messages are for someone at a shell, not in Python: the SDK's advice to call a method
is replaced by what to do on the command line, credential keywords are named by their
options, and a 401 to a command run without any credentials says where they come from.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import click
from pydantic import SecretStr

from .._error_data import error_data
from .._errors import APIError, APIStatusError, InvalidArgumentError, ThingSpaceError
from .._redact import redact
from ..models._base import plain_data
from . import EXIT_MISSING_EXTRA, missing_extra

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from .._auth import ThingSpaceAuth, TokenStore
    from .._client import AsyncThingSpaceClient

__all__ = [
    "CREDENTIALS_HINT",
    "EXIT_API_ERROR",
    "EXIT_USAGE",
    "APIFailure",
    "MissingExtra",
    "Settings",
    "UsageFailure",
    "call",
    "credentials_refused",
    "error_message",
    "get_settings",
    "json_option",
    "make_console",
    "one_line",
    "open_client",
    "output",
    "run",
]

_T = TypeVar("_T")

EXIT_API_ERROR = 1
EXIT_USAGE = 2

CREDENTIALS_HINT = (
    "no credentials were given: pass --client-id/--client-secret and "
    "--username/--password (or --access-token/--m2m-token) before the command, or set "
    "THINGSPACE_CLIENT_ID, THINGSPACE_CLIENT_SECRET, THINGSPACE_USERNAME and "
    "THINGSPACE_PASSWORD"
)
"""Appended to a 401 answering a command that sent no credentials at all."""

_OPTIONS = {
    "client_id": "--client-id",
    "client_secret": "--client-secret",
    "username": "--username",
    "password": "--password",
    "access_token": "--access-token",
    "m2m_token": "--m2m-token",
}
"""The option for each of the SDK's credential keywords."""

_KEYWORD = re.compile(r"'(" + "|".join(_OPTIONS) + r")'")

_SDK_ADVICE = (
    # The SDK's refused login: a CLI user has no client object, and each run is a new
    # process that logs in afresh.
    (re.compile(r"call client\.auth\.reset\(\)"), "run the command again"),
    (re.compile(r"client\.auth\.reset\(\)"), "running the command again"),
)

_UNWRAPPED_WIDTH = 100_000
"""Console width when output is not a terminal: tables keep each row on one line."""


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
    without_credentials: bool = field(default=False, compare=False)
    """Set by :func:`open_client`: the client it opened sends no credentials at all
    (neither options nor variables gave any), which a 401 then explains."""

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
            values["auth"] = self.auth()
        return {name: value for name, value in values.items() if value is not None}

    def auth(
        self, token_store: TokenStore | None = None, *, refusal_ttl: float | None = None
    ) -> ThingSpaceAuth:
        """The credentials of the options, completed from the ``THINGSPACE_*``
        variables, keeping renewed tokens in ``token_store`` when given, and refused
        credentials for ``refusal_ttl`` seconds (``ThingSpaceAuth``'s default when
        ``None``)."""
        from .._auth import ThingSpaceAuth
        from .._auth.refusals import DEFAULT_REFUSAL_TTL

        return ThingSpaceAuth.from_env(
            client_id=self.client_id,
            client_secret=self.client_secret,
            username=self.username,
            password=self.password,
            access_token=self.access_token,
            m2m_token=self.m2m_token,
            token_store=token_store,
            refusal_ttl=DEFAULT_REFUSAL_TTL if refusal_ttl is None else refusal_ttl,
        )


class APIFailure(click.ClickException):
    """The API or the network failed: exit code 1, one line on stderr."""

    exit_code = EXIT_API_ERROR


class UsageFailure(click.ClickException):
    """An argument was refused before anything was sent: exit code 2, one line."""

    exit_code = EXIT_USAGE


class MissingExtra(click.ClickException):
    """A package a command needs is not installed: exit code 3, one line naming the
    ``pip install`` that adds it."""

    exit_code = EXIT_MISSING_EXTRA

    def __init__(self, command: str, package: str, extra: str | None) -> None:
        super().__init__(missing_extra(command, package, extra))
        self.package = package
        self.extra = extra

    @classmethod
    def of(cls, command: str, exc: ModuleNotFoundError, extra: str) -> MissingExtra:
        """The error for ``exc``, a failed import of one of ``extra``'s packages (named
        by its top-level package, the extra's name when the import did not say)."""
        return cls(command, (exc.name or extra).partition(".")[0], extra)


_NO_ARGS_IS_HELP: type[click.UsageError] | tuple[()] = getattr(
    click.exceptions, "NoArgsIsHelpError", ()
)
"""What click (8.2 on) raises to show a group's help when it is run without a command."""


def one_line(error: click.UsageError) -> click.ClickException:
    """click's own usage error (a bad option value, a missing argument, an unknown
    command) as the CLI's other refusals are shown: its message on one line, without
    click's usage and "Try --help" lines, and with its exit code (2, or 1 where a
    command gives 2 another meaning). A group's help shown for want of a command stays
    as click shows it."""
    if isinstance(error, _NO_ARGS_IS_HELP):
        return error
    message = error.format_message()  # with its context: it names the option
    for failure in (UsageFailure, APIFailure):
        if error.exit_code == failure.exit_code:
            return failure(message)
    return error


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
    client = _sandbox_client(settings) if settings.sandbox else _client(settings)
    from .._auth import NoAuth

    settings.without_credentials = isinstance(client.auth, NoAuth)
    async with client:
        yield client


def _sandbox_client(settings: Settings) -> AsyncThingSpaceClient:
    try:
        from ..sandbox import Sandbox
    except ModuleNotFoundError as exc:
        raise MissingExtra.of("--sandbox", exc, "sandbox") from None
    options: dict[str, Any] = {}
    if settings.timeout is not None:
        options["timeout"] = settings.timeout
    if settings.max_retries is not None:
        options["max_retries"] = settings.max_retries
    return Sandbox().client(**options)


def _client(settings: Settings) -> AsyncThingSpaceClient:
    from .._client import AsyncThingSpaceClient
    from .._transport import fast_transport_available

    try:
        # The command owns its event loop (asyncio), so aiohttp's transport, several
        # times cheaper per request under bulk fan-out, is safe to use when installed.
        return AsyncThingSpaceClient(
            **settings.client_kwargs(), speedups=fast_transport_available()
        )
    except InvalidArgumentError as exc:
        # Only credentials are checked here, and the SDK names them by keyword.
        raise credentials_refused(exc) from None


def credentials_refused(exc: InvalidArgumentError) -> UsageFailure:
    """The SDK's refusal of the credentials given, naming their options (``--client-id``)
    where it names keywords (``'client_id'``)."""
    return UsageFailure(_KEYWORD.sub(lambda m: _OPTIONS[m[1]], str(exc)))


def error_message(exc: ThingSpaceError, *, without_credentials: bool = False) -> str:
    """``exc`` as one line for someone at a shell: no advice meant for Python code, and
    for a 401 to a command that sent no credentials, where they come from."""
    message = exc.message if isinstance(exc, APIError) else str(exc)
    for pattern, replacement in _SDK_ADVICE:
        message = pattern.sub(replacement, message)
    if without_credentials and isinstance(exc, APIStatusError) and exc.status_code == 401:
        message = f"{message}; {CREDENTIALS_HINT}"
    return message


def run(main: Callable[[], Awaitable[_T]]) -> _T:
    """Run ``main`` on an event loop, turning SDK errors into exit codes and one-line
    messages (and, with ``--json``, an ``{"error": ...}`` object on stdout)."""
    settings = get_settings()
    try:
        return anyio.run(main)
    except ThingSpaceError as exc:
        message = error_message(exc, without_credentials=settings.without_credentials)
        if settings.json:
            click.echo(json.dumps({"error": error_data(exc, message=message)}, indent=2))
        if isinstance(exc, InvalidArgumentError):
            raise UsageFailure(message) from None
        raise APIFailure(message) from None


def call(operation: Callable[[AsyncThingSpaceClient], Awaitable[_T]]) -> _T:
    """Open the client the options describe, run ``operation`` with it, close it."""
    settings = get_settings()

    async def main() -> _T:
        async with open_client(settings) as client:
            return await operation(client)

    return run(main)


def make_console(*, stderr: bool = False) -> Console:
    """A rich console for stdout (or stderr) that never hard-wraps output that is not a
    terminal: one line per event, so logs grep. Tables then take ``$COLUMNS`` when it
    is set, else as much width as their rows need; on a terminal, its width."""
    from rich.console import Console

    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console.soft_wrap = True
        if not os.environ.get("COLUMNS", "").isdigit():
            console.width = _UNWRAPPED_WIDTH
    return console


def output(
    value: object,
    *,
    title: str | None = None,
    empty: str = "Nothing to show.",
    show_secrets: bool = False,
    columns: Sequence[str] | None = None,
    wrap: str | None = None,
) -> None:
    """Print ``value`` as a table, or as JSON with ``--json``.

    A list becomes one row per item, a mapping or model a field/value table. Passwords
    and shared secrets are masked unless ``show_secrets``. Cells too wide for the
    terminal fold rather than being cut; ``wrap`` names the one column of a list that
    gives way, the others keeping their width.
    """
    data = plain_data(value)
    if not show_secrets:
        data = redact(data)
    if get_settings().json:
        click.echo(json.dumps(data, indent=2))
        return
    console = make_console()
    if isinstance(data, list) and not data:
        console.print(_text(empty))
    elif isinstance(data, (list, Mapping)):
        console.print(_table(data, title=title, columns=columns, wrap=wrap))
    else:
        console.print(_text(data))


def _table(
    data: list[Any] | Mapping[str, Any],
    *,
    title: str | None,
    columns: Sequence[str] | None,
    wrap: str | None,
) -> Table:
    from rich.table import Table

    if isinstance(data, Mapping):
        table = Table("field", "value", title=title)
        for name, item in data.items():
            table.add_row(_text(name), _text(item))
        return table
    names = list(columns or _union_keys(data))
    table = Table(title=title)
    for name in names:
        table.add_column(name, no_wrap=wrap is not None and name != wrap)
    for item in data:
        row = item if isinstance(item, Mapping) else {"value": item}
        table.add_row(*(_text(row.get(name)) for name in names))
    return table


def _text(value: object) -> Text:
    from rich.text import Text

    return Text(_cell(value), overflow="fold")


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
