"""What every synchronous twin of an async object shares: where to find the async one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Twin"]

_R = TypeVar("_R")


class Twin(Generic[_R]):
    """Base of the sync sub-clients: :attr:`_async` is their async twin, looked up on
    each call rather than kept, so that one made before ``fork()`` uses, in the child,
    the child's client and never the parent's connections."""

    __slots__ = ("_resolve",)

    def __init__(self, resolve: Callable[[], _R]) -> None:
        self._resolve = resolve

    @property
    def _async(self) -> _R:
        return self._resolve()
