"""Module attributes imported on first use (PEP 562), for the package and its
``models`` and ``resources`` subpackages: ``import thingspace_callbacks`` stays nearly
free, and a program pays only for the families it uses."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]

Home = str | tuple[str, str]
"""Where a name lives: a submodule defining it, or (submodule, attribute) for an alias."""


def lazy_exports(
    namespace: dict[str, Any], homes: Mapping[str, Home]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose names live in ``homes``.

    A name is imported at its first lookup and then stored in the package, so later
    lookups are plain attribute reads.
    """
    package = namespace["__name__"]

    def getattr_(name: str) -> object:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attribute = (home, name) if isinstance(home, str) else home
        value = getattr(importlib.import_module(f"{package}.{module}"), attribute)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        # The public names only: the implementation's helpers are not the API.
        return sorted(namespace["__all__"])

    return getattr_, dir_
