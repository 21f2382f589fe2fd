"""The options ``plan`` and ``apply`` share, and what turns their failures into exit
codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .._common import APIFailure
from .._run_options import concurrency_option, progress_option, rate_limit_option

__all__ = ["ExitOneOnUsage", "planning_options", "refused"]


class _UsageError(click.UsageError):
    exit_code = 1


class ExitOneOnUsage(click.Command):
    """A command whose usage errors exit 1, not 2: its exit code 2 means "changes
    pending" (``terraform plan -detailed-exitcode``), which a typo must not look like."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise _UsageError(exc.format_message(), exc.ctx) from None


def refused(message: str) -> APIFailure:
    """A state or plan refused before anything was sent: one line, exit 1."""
    return APIFailure(message)


def planning_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options of reading every account: as ``bulk``'s."""
    decorators = [
        concurrency_option("Accounts read (and changed)"),
        rate_limit_option("reads (and changes)"),
        progress_option,
        click.option(
            "--resend-secrets",
            is_flag=True,
            help="When planning, count each password ThingSpace's read does not return "
            "as changed, so that it is sent again.",
        ),
        click.option(
            "--max-prune-share",
            type=click.FloatRange(min=0, max=1),
            default=0.5,
            show_default=True,
            metavar="SHARE",
            help="The share of a family's listeners an apply removes without "
            "--allow-large-prune (a saved plan keeps its own unless given).",
        ),
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def fan_out_options(values: dict[str, Any]) -> dict[str, Any]:
    """The fan-out options of ``values`` (``concurrency``, ``rate_limit``)."""
    return {"concurrency": values["concurrency"], "rate_limit": values["rate_limit"]}
