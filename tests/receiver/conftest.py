"""The suite's real server (:func:`tests._servers.serve_here`) for end-to-end receiver
tests: in the test's own event loop, so a handler may wait on the test's events."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
import uvicorn

from .._servers import serve_here

ServeApp = Callable[..., contextlib.AbstractAsyncContextManager[str]]
ServeConfig = Callable[[uvicorn.Config], contextlib.AbstractAsyncContextManager[str]]


def _serve(app: Any, **options: Any) -> contextlib.AbstractAsyncContextManager[str]:
    return serve_here(app, **{"lifespan": "on", **options})


@pytest.fixture
def serve_app() -> ServeApp:
    """``async with serve_app(asgi_app, **uvicorn_options) as base_url:`` runs the app on
    a real socket."""
    return _serve


@pytest.fixture
def serve_config() -> ServeConfig:
    """``async with serve_config(uvicorn_config) as base_url:`` serves that configuration
    (its host and port aside) on a real socket."""
    return serve_here
