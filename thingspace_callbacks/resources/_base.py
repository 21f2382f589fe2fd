"""What every family's sub-client shares: one call into the client's pipeline."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from .._options import RequestOptions
from .._response import APIResponse
from ..models._base import ThingSpaceModel

if TYPE_CHECKING:
    from .._pipeline import Endpoint, Pipeline

__all__ = ["Resource", "raw"]

_T = TypeVar("_T")
_P = ParamSpec("_P")


class Resource:
    """Base of the per-family sub-clients.

    A sub-client made with ``raw=True`` returns :class:`APIResponse` objects instead of
    parsed models; users reach it through ``with_raw_response``.
    """

    def __init__(self, pipeline: Pipeline, *, raw: bool = False) -> None:
        self._pipeline = pipeline
        self._raw = raw

    def _call(
        self,
        endpoint: Endpoint[_T],
        options: RequestOptions,
        *,
        path: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        body: ThingSpaceModel | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Awaitable[_T]:
        # Not a coroutine of its own: the operation awaits the pipeline's directly, one
        # layer fewer for the request's task to pass through at every resumption. The
        # raw view's methods are typed to return APIResponse[_T] (see `raw`).
        return cast(
            Awaitable[_T],
            self._pipeline.request(
                endpoint,
                path=path,
                params=params,
                body=body,
                headers=headers,
                options=options,
                raw=self._raw,
            ),
        )


def raw(method: Callable[_P, Awaitable[_T]]) -> Callable[_P, Awaitable[APIResponse[_T]]]:
    """Type a method of a ``raw=True`` sub-client as returning :class:`APIResponse`."""
    return cast(Callable[_P, Awaitable[APIResponse[Any]]], method)
