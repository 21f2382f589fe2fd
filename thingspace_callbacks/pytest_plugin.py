"""pytest fixtures for testing code that uses thingspace-callbacks (loaded through the
``pytest11`` entry point, so installing the package makes them available).

Fixtures (they need the ``[sandbox]`` extra; nothing is imported until one is used):

- ``thingspace_sandbox``: a fresh :class:`~thingspace_callbacks.sandbox.Sandbox` per test.
- ``thingspace_client``: an :class:`~thingspace_callbacks.AsyncThingSpaceClient` bound to
  it in process (no socket), authenticated with the sandbox's credentials.
- ``thingspace_sandbox_server``: the same sandbox served on 127.0.0.1 (a free port) for
  code that needs a URL; ``.base_url`` is the API root, ``.client()`` a client for it.

Configure the sandbox per test with the ``thingspace_sandbox`` marker, whose keyword
arguments go to ``Sandbox(...)``::

    @pytest.mark.thingspace_sandbox(session_idle_ttl=1, require_auth=False)
    async def test_something(thingspace_client): ...

The fixtures are synchronous, so they work with any async test runner (pytest-asyncio,
anyio, trio).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from thingspace_callbacks import AsyncThingSpaceClient
    from thingspace_callbacks.sandbox import Sandbox, SandboxServer

__all__ = ["thingspace_client", "thingspace_sandbox", "thingspace_sandbox_server"]

_MARKER = "thingspace_sandbox"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(**options): keyword arguments for the thingspace_sandbox fixture's "
        "Sandbox(...)",
    )


@pytest.fixture
def thingspace_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """A fresh in-memory fake ThingSpace; options from the ``thingspace_sandbox`` marker."""
    from thingspace_callbacks.sandbox import Sandbox

    marker = request.node.get_closest_marker(_MARKER)
    options = dict(marker.kwargs) if marker is not None else {}
    return Sandbox(**options)


@pytest.fixture
def thingspace_client(thingspace_sandbox: Sandbox) -> AsyncThingSpaceClient:
    """A client bound to ``thingspace_sandbox`` in process. Nothing needs closing, but
    ``async with thingspace_client:`` logs its session out like a real one."""
    return thingspace_sandbox.client()


@pytest.fixture
def thingspace_sandbox_server(thingspace_sandbox: Sandbox) -> Iterator[SandboxServer]:
    """``thingspace_sandbox`` on a real socket on 127.0.0.1, stopped after the test."""
    with thingspace_sandbox.serve() as server:
        yield server
