"""A click group whose subcommands are imported only when invoked.

``thingspace-callbacks --help`` lists every command from a table of import paths and
one-line summaries without importing any of them, so it stays fast however many
commands (and optional dependencies) there are.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Mapping
from typing import Any

import click

from ._common import MissingExtra, one_line

__all__ = ["LazyGroup"]


class LazyGroup(click.Group):
    """A :class:`click.Group` with lazily imported subcommands.

    :param lazy_commands: Command name to ``"package.module:attribute"``.
    :param summaries: Command name to the one-line help shown by ``--help``.
    :param extras: Command name to the package extra its module needs, named in the
        error when that extra is missing.
    :param requires: Command name to the packages checked before its module is
        imported; a missing one makes the command fail with :class:`MissingExtra`.
    """

    def __init__(
        self,
        *args: Any,
        lazy_commands: Mapping[str, str] | None = None,
        summaries: Mapping[str, str] | None = None,
        extras: Mapping[str, str] | None = None,
        requires: Mapping[str, tuple[str, ...]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})
        self.summaries = dict(summaries or {})
        self.extras = dict(extras or {})
        self.requires = dict(requires or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            return self._load(cmd_name)
        return super().get_command(ctx, cmd_name)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # The group's own options: refused in one line, as the subcommands' are.
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            raise one_line(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        # A command that imports an optional package late (a table needing rich, the
        # sandbox behind --sandbox) fails in the same one line as one refused at load.
        # Every usage error of a subcommand, click's included, is one line too: it is
        # raised while this group invokes it.
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            raise one_line(exc) from None
        except ModuleNotFoundError as exc:
            command = ctx.invoked_subcommand or ""
            package = (exc.name or "").partition(".")[0] or "?"
            raise MissingExtra(command, package, self.extras.get(command)) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        if not names:
            return
        rows = []
        for name in names:
            summary = self.summaries.get(name)
            if summary is None and name not in self.lazy_commands:
                command = super().get_command(ctx, name)
                if command is None or command.hidden:
                    continue
                summary = command.get_short_help_str(formatter.width - 6 - len(name))
            rows.append((name, summary or ""))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _load(self, name: str) -> click.Command:
        extra = self.extras.get(name)
        for package in self.requires.get(name, ()):
            if not _importable(package):
                return _unavailable(name, MissingExtra(name, package, extra))
        module_name, _, attribute = self.lazy_commands[name].partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return _unavailable(
                    name,
                    click.UsageError(
                        _unavailable_reason(name, "it is not part of this installation")
                    ),
                )
            missing = (exc.name or "").partition(".")[0] or "?"
            return _unavailable(name, MissingExtra(name, missing, extra))
        command = getattr(module, attribute, None)
        if not isinstance(command, click.Command):
            reason = f"{self.lazy_commands[name]} is not a click command"
            return _unavailable(name, click.UsageError(_unavailable_reason(name, reason)))
        return command


def _importable(package: str) -> bool:
    """Whether ``package`` can be found, without importing it."""
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def _unavailable_reason(name: str, reason: str) -> str:
    return f"the {name!r} command is unavailable: {reason}."


def _unavailable(name: str, error: click.ClickException) -> click.Command:
    """A stand-in that fails with ``error``, in one line, whatever it is given."""

    def fail() -> None:
        raise error

    return click.Command(
        name,
        callback=fail,
        help=f"(unavailable: {error.format_message()})",
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
