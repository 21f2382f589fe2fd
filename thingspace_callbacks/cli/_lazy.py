"""A click group whose subcommands are imported only when invoked.

``thingspace-callbacks --help`` lists every command from a table of import paths and
one-line summaries without importing any of them, so it stays fast however many
commands (and optional dependencies) there are.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click

__all__ = ["LazyGroup"]


class LazyGroup(click.Group):
    """A :class:`click.Group` with lazily imported subcommands.

    :param lazy_commands: Command name to ``"package.module:attribute"``.
    :param summaries: Command name to the one-line help shown by ``--help``.
    :param extras: Command name to the package extra its module needs, named in the
        error when that extra is missing.
    """

    def __init__(
        self,
        *args: Any,
        lazy_commands: Mapping[str, str] | None = None,
        summaries: Mapping[str, str] | None = None,
        extras: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})
        self.summaries = dict(summaries or {})
        self.extras = dict(extras or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            return self._load(cmd_name)
        return super().get_command(ctx, cmd_name)

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
        module_name, _, attribute = self.lazy_commands[name].partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return _unavailable(name, "it is not part of this installation")
            missing = (exc.name or "").partition(".")[0]
            extra = self.extras.get(name)
            hint = (
                f"; install it with: pip install 'thingspace-callbacks[{extra}]'" if extra else ""
            )
            return _unavailable(name, f"it needs the {missing!r} package{hint}")
        command = getattr(module, attribute, None)
        if not isinstance(command, click.Command):
            return _unavailable(name, f"{self.lazy_commands[name]} is not a click command")
        return command


def _unavailable(name: str, reason: str) -> click.Command:
    """A stand-in that fails with a one-line usage error when invoked."""

    def fail() -> None:
        raise click.UsageError(f"the {name!r} command is unavailable: {reason}.")

    return click.Command(
        name,
        callback=fail,
        help=f"(unavailable: {reason})",
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
