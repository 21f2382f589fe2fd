"""Authentication tests run under asyncio and trio: anyio's pytest plugin, the suite's
only async plugin, runs each on the backend ``anyio_backend`` names."""

from __future__ import annotations

import pytest
import respx

from ._support import FakeClock, ThingSpace


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def thingspace(mock_api: respx.MockRouter) -> ThingSpace:
    """respx routes for the token, login, logout and list endpoints."""
    return ThingSpace(mock_api)
