"""The sandbox on a real socket, and sync clients for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from thingspace_callbacks import ThingSpaceClient
from thingspace_callbacks.sandbox import Sandbox, SandboxServer

ACCOUNT = "0000123456-00001"
HOOK = "https://listener.example.com/hooks"


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    """A fresh sandbox on 127.0.0.1 per test, so that its counts are the test's."""
    with Sandbox().serve() as running:
        yield running


@pytest.fixture
def client(server: SandboxServer) -> Iterator[ThingSpaceClient]:
    with ThingSpaceClient(
        base_url=server.base_url, max_retries=0, **server.sandbox.credential_kwargs()
    ) as client:
        yield client
