"""Telemetry, when OpenTelemetry's API is installed: :func:`instruments_for` gives the
:class:`~._otel.Instruments` a client or receiver reports through, or ``None``.

Nothing here imports OpenTelemetry until a client or receiver is built with the API
installed; without it, :func:`instruments_for` answers ``None`` and every code path
stays as it was.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.util.types import AttributeValue

    from ..telemetry import Telemetry
    from ._otel import Instruments

__all__ = ["Run", "api_installed", "instruments_for", "instruments_of", "traced_run"]


@functools.lru_cache(maxsize=1)
def api_installed() -> bool:
    """Whether ``opentelemetry-api`` can be imported (looked up once, importing nothing)."""
    try:
        return importlib.util.find_spec("opentelemetry.trace") is not None
    except ModuleNotFoundError:  # no `opentelemetry` namespace at all
        return False


def instruments_for(config: Telemetry | None) -> Instruments | None:
    """What to report through for ``config`` (``None``: the global providers), or
    ``None`` when nothing is to be reported (disabled, or the API is not installed)."""
    if (config is not None and not config.enabled) or not api_installed():
        return None
    from ._otel import instruments

    if config is None:
        return instruments(None, None, record_accounts=False)
    return instruments(
        config.tracer_provider, config.meter_provider, record_accounts=config.record_accounts
    )


def instruments_of(client: Any) -> Instruments | None:
    """The instruments an ``AsyncThingSpaceClient`` reports through (``None`` for
    none, or for an object that is not one)."""
    pipeline = getattr(client, "_pipeline", None)
    return getattr(pipeline, "telemetry", None)


class Run:
    """What :func:`traced_run` reports when its block ends: set :attr:`counts`."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        """Reported as the span's ``{prefix}.{name}`` attributes."""


@contextmanager
def traced_run(
    instruments: Instruments | None,
    name: str,
    prefix: str,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> Iterator[Run]:
    """A span named ``name`` around a run over many accounts (a plan, an apply),
    current within the block, ended with the :attr:`Run.counts` the block set; nothing
    at all when nothing records telemetry."""
    run = Run()
    if instruments is None or not instruments.active():
        yield run
        return
    span = instruments.run_started(name, attributes or {})
    error: BaseException | None = None
    try:
        with instruments.current(span):
            yield run
    except BaseException as exc:
        error = exc
        raise
    finally:
        instruments.run_finished(span, prefix, run.counts, error)
