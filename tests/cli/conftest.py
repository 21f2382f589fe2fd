"""CLI test fixtures: a sandbox served for the whole module, and a runner whose
environment holds the sandbox's credentials and root."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import pytest
from click.testing import CliRunner, Result

from thingspace_callbacks.cli import main
from thingspace_callbacks.sandbox import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_PASSWORD,
    SANDBOX_USERNAME,
    Sandbox,
    SandboxServer,
)


class Cli:
    """Runs ``thingspace-callbacks`` in process against a served sandbox."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.env: dict[str, str | None] = {
            "THINGSPACE_BASE_URL": server.base_url,
            "THINGSPACE_CLIENT_ID": SANDBOX_CLIENT_ID,
            "THINGSPACE_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            "THINGSPACE_USERNAME": SANDBOX_USERNAME,
            "THINGSPACE_PASSWORD": SANDBOX_PASSWORD,
        }

    def __call__(self, *args: str, env: Mapping[str, str | None] | None = None) -> Result:
        return invoke(args, env={**self.env, **(env or {})})


def invoke(args: Sequence[str], env: Mapping[str, str | None] | None = None) -> Result:
    """Run the command line in process; stdout and stderr are kept apart. A variable
    set to ``None`` in ``env`` is removed for the run."""
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture(scope="module")
def _served() -> Iterator[SandboxServer]:
    with Sandbox().serve() as server:
        yield server


@pytest.fixture
def cli(_served: SandboxServer) -> Cli:
    """The command line, pointed at a served sandbox that is reset for each test."""
    _served.sandbox.reset()
    return Cli(_served)
