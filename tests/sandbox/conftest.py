"""Sandbox test fixtures: a fake clock, a recording listener, raw HTTP to a sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from thingspace_callbacks.sandbox import IN_PROCESS_BASE_URL, Sandbox

from ._support import FakeClock, Listener


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def listener() -> Listener:
    return Listener()


@pytest.fixture
def sandbox(clock: FakeClock, listener: Listener) -> Sandbox:
    """A sandbox on a fake clock that delivers to ``listener`` in process."""
    return Sandbox(clock=clock, delivery_transport=httpx.ASGITransport(listener.app()))


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """Raw HTTP to ``sandbox`` in process, rooted at its API root."""
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url=IN_PROCESS_BASE_URL + "/"
    ) as client:
        yield client
