"""Checks of configuration values (durations, counts, secrets), shared by every
constructor that takes them, so each kind of value is refused with the same words.

Each check returns the value in its canonical form or raises
:class:`InvalidArgumentError` naming the argument. A secret's value never appears in
a message.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ._errors import InvalidArgumentError

if TYPE_CHECKING:
    from pydantic import SecretStr

__all__ = ["count", "optional_seconds", "seconds", "secret", "text"]


def seconds(value: object, argument: str, *, positive: bool = False) -> float:
    """A finite duration in seconds: ``> 0`` when ``positive``, else ``>= 0``."""
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value > 0 if positive else value >= 0)
    ):
        return float(value)
    bound = "> 0" if positive else ">= 0"
    raise InvalidArgumentError(
        f"{argument!r} must be a finite number of seconds {bound}, got {value!r}"
    )


def optional_seconds(value: object, argument: str, *, positive: bool = False) -> float | None:
    """:func:`seconds`, or ``None`` for "no limit"."""
    return None if value is None else seconds(value, argument, positive=positive)


def count(value: object, argument: str, *, minimum: int = 0) -> int:
    """A whole number ``>= minimum`` (``bool`` is refused)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
        return value
    raise InvalidArgumentError(f"{argument!r} must be an int >= {minimum}, got {value!r}")


def text(value: object, argument: str) -> str:
    """A non-blank string that is not a secret (a client id, a user name)."""
    if isinstance(value, str) and value.strip():
        return value
    raise InvalidArgumentError(f"{argument!r} must be a non-empty string")


def secret(value: object, argument: str) -> SecretStr:
    """A non-empty secret, as a ``SecretStr`` (given as ``str`` or ``SecretStr``)."""
    # Imported here: pydantic's types module takes tens of milliseconds to import, and
    # only clients given secrets need it.
    from pydantic import SecretStr

    wrapped = SecretStr(value) if isinstance(value, str) else value
    if isinstance(wrapped, SecretStr) and wrapped.get_secret_value():
        return wrapped
    raise InvalidArgumentError(f"{argument!r} must be a non-empty string")
