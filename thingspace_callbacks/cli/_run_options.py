"""The options of the commands that run over many accounts (``bulk``, ``plan``,
``apply``): declared once, so that they cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

__all__ = ["concurrency_option", "progress_option", "queue_name_option", "rate_limit_option"]

_F = TypeVar("_F", bound=Callable[..., Any])


def concurrency_option(what: str) -> Callable[[_F], _F]:
    """``--concurrency`` / ``-c`` (default 20): ``what`` is done this many at once."""
    return click.option(
        "--concurrency",
        "-c",
        type=click.IntRange(min=1),
        default=20,
        show_default=True,
        help=f"{what} at once.",
    )


def rate_limit_option(what: str) -> Callable[[_F], _F]:
    """``--rate-limit PER_SECOND``: at most this many of ``what`` started a second."""
    return click.option(
        "--rate-limit",
        type=click.FloatRange(min=0, min_open=True),
        metavar="PER_SECOND",
        help=f"Start at most this many {what} per second.",
    )


progress_option = click.option(
    "--progress/--no-progress",
    default=None,
    help="Show a live progress bar on stderr (default: when it is a terminal).",
)
"""``--progress/--no-progress`` (default: when stderr is a terminal)."""

queue_name_option = click.option(
    "--queue-name",
    metavar="NAME",
    help="With --queue: the arq queue the workers read (default: thingspace:queue).",
)
"""``--queue-name NAME``: the arq queue of the workers, with ``--queue``."""
