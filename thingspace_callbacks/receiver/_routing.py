"""Routes: which handler a delivery goes to, by its path, and which message models the
handler takes, read once at registration from the annotation of its message parameter
(:func:`declared_models`)."""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from .._errors import InvalidArgumentError
from ._models import CallbackMessage
from ._outcome import Scope
from ._verify import Verifier

__all__ = [
    "Handler",
    "HandlerT",
    "Models",
    "Route",
    "check_async",
    "declared_models",
    "normalise_path",
    "route_path",
]

Handler = Callable[[Any], Awaitable[object]]
"""An async callable taking one :class:`CallbackMessage`; returning means handled."""

HandlerT = TypeVar("HandlerT", bound=Callable[..., Awaitable[Any]])

Models = tuple[type[CallbackMessage], ...]


@dataclass(frozen=True)
class Route:
    """A handler, where it listens, and what it takes."""

    path: str
    service: str | None
    handler: Handler
    verifiers: tuple[Verifier, ...]
    models: Models | None
    """The message models the handler declared; ``None`` when it takes any message."""


def check_async(handler: object) -> None:
    """Raise :class:`InvalidArgumentError` unless ``handler`` is an async callable."""
    # Checked up front: a sync handler would run and then fail at "await", answering 500
    # for work that was done, so ThingSpace would re-send it.
    target = handler
    while isinstance(target, functools.partial):
        target = target.func
    if not (
        inspect.iscoroutinefunction(target)
        or (callable(target) and inspect.iscoroutinefunction(type(target).__call__))
    ):
        raise InvalidArgumentError(f"handler {handler!r} must be an async function (async def)")


_ANY_MESSAGE: tuple[object, ...] = (inspect.Parameter.empty, Any, object, CallbackMessage)
_POSITIONAL = (
    inspect.Parameter.POSITIONAL_ONLY,
    inspect.Parameter.POSITIONAL_OR_KEYWORD,
    inspect.Parameter.VAR_POSITIONAL,
)


def declared_models(handler: object) -> Models | None:
    """The message models ``handler`` declares for its first positional parameter;
    ``None`` when it takes any message. :class:`InvalidArgumentError` when it declares
    something else."""
    # Read once at registration, so a handler whose annotation names no message model
    # fails there instead of answering 500 to every message.
    try:
        signature = inspect.signature(handler, eval_str=True)  # type: ignore[arg-type]
    except ValueError:
        return None  # no signature to read (some builtins): it takes what it gets
    except Exception as exc:
        raise InvalidArgumentError(
            f"cannot read the message type of handler {handler!r}: {exc} (annotations are "
            "evaluated in the handler's module, so the model must be importable there)"
        ) from None
    positional = [p for p in signature.parameters.values() if p.kind in _POSITIONAL]
    if not positional:
        raise InvalidArgumentError(
            f"handler {handler!r} must take the message as a positional argument"
        )
    annotation = positional[0].annotation
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        members = get_args(annotation)
    else:
        members = (annotation,)
    models: list[type[CallbackMessage]] = []
    for member in members:
        if any(member is anything for anything in _ANY_MESSAGE):
            return None
        if member is type(None):
            continue  # "Message | None": nothing is ever delivered as None
        if not (isinstance(member, type) and issubclass(member, CallbackMessage)):
            raise InvalidArgumentError(
                f"handler {handler!r} declares its message as {annotation!r}; annotate it "
                "with a message model (e.g. ConnectivityMessage), a union of models, or "
                "CallbackMessage to take any message"
            )
        models.append(member)
    if not models:
        raise InvalidArgumentError(f"handler {handler!r} declares no message model")
    return tuple(models)


def normalise_path(path: str) -> str:
    """``path`` with one leading slash and no trailing one."""
    if not path.startswith("/"):
        path = "/" + path
    return path.rstrip("/") or "/"


def route_path(scope: Scope) -> str:
    """The path of an ASGI request, relative to where the receiver is mounted."""
    # Mounted (Starlette Mount, uvicorn --root-path), "path" still holds the full path.
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root) :] or "/"
    return path
