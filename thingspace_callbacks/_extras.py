"""A missing package extra is named, with the ``pip install`` that adds it, in one
wording (:func:`missing_extra_message`) wherever it is found missing: on import, by
the CLI, by ``speedups=True``.

``thingspace_callbacks.sandbox`` and ``thingspace_callbacks.redis`` import third-party
packages the base install does not have. Importing them without their extra raises a
:class:`ModuleNotFoundError` whose message names the ``pip install`` that adds it (and
whose ``name`` is still the missing package, so code that catches the plain error, the
CLI included, goes on working).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["install_command", "missing_extra_message", "requires_extra"]


def install_command(extra: str) -> str:
    """The command that installs ``extra``: ``pip install "thingspace-callbacks[EXTRA]"``.

    Double quotes: unquoted, a shell may read the brackets as a file pattern, and
    Windows' ``cmd`` does not take single quotes as quotes.
    """
    return f'pip install "thingspace-callbacks[{extra}]"'


def missing_extra_message(what: str, package: str, extra: str) -> str:
    """The one line saying that ``what`` needs ``extra``, of which ``package`` is missing,
    and how to install it.

    :param what: What needs it, as the user knows it (``thingspace_callbacks.redis``,
        ``thingspace-callbacks worker``).
    :param package: The top-level package found missing.
    :param extra: The package extra that installs it.
    """
    return (
        f"{what} needs the [{extra}] extra (the {package!r} package is missing): "
        f"{install_command(extra)}"
    )


@contextmanager
def requires_extra(module: str, extra: str, packages: tuple[str, ...]) -> Iterator[None]:
    """Turn a missing ``packages`` import inside the block into a
    :class:`ModuleNotFoundError` naming ``extra``; any other missing module (a bug, not
    an installation choice) propagates as it is.

    :param module: What needs the extra, as users import it (``thingspace_callbacks.redis``).
    :param extra: The package extra that installs ``packages``.
    :param packages: The top-level packages of the extra.
    """
    try:
        yield
    except ModuleNotFoundError as exc:
        package = (exc.name or "").partition(".")[0]
        if package not in packages:
            raise
        raise ModuleNotFoundError(
            missing_extra_message(module, package, extra), name=exc.name
        ) from None
