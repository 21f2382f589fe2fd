"""``thingspace-callbacks sandbox`` prints one line that is a complete environment: copied
alone into another shell, it points clients and the CLI at the sandbox, never at
production."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from .conftest import invoke

ACCOUNT = "0000123456-00001"
HOOK = "https://listener.example.com/hooks"


def _printed_environment(*options: str) -> Iterator[tuple[dict[str, str], str]]:
    command = [sys.executable, "-m", "thingspace_callbacks", "sandbox", "--port", "0", *options]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            lines = [process.stdout.readline() for _ in range(4)]
            root = lines[0].split()[3]
            (export,) = [line for line in lines if line.startswith("export ")]
            words = shlex.split(export)
            assert words[0] == "export"
            yield dict(word.split("=", 1) for word in words[1:]), root
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture
def printed() -> Iterator[tuple[dict[str, str], str]]:
    """The variables of the ``export`` line the sandbox printed, and its API root."""
    yield from _printed_environment()


@pytest.mark.integration
def test_the_printed_line_alone_sends_the_cli_to_the_sandbox(
    printed: tuple[dict[str, str], str],
) -> None:
    environment, root = printed
    # Checked first: without it the command below would go to production.
    assert environment.get("THINGSPACE_BASE_URL") == root
    # Nothing from this machine's environment: only what the line sets.
    unset: dict[str, str | None] = {
        name: None for name in os.environ if name.startswith("THINGSPACE_")
    }

    result = invoke(
        ["location", "register", ACCOUNT, "Location", HOOK], env={**unset, **environment}
    )

    assert result.exit_code == 0, result.stderr
    admin = httpx.get(root.removesuffix("/api") + "/sandbox/registrations", timeout=30)
    assert [(r["account"], r["url"]) for r in admin.json()] == [(ACCOUNT, HOOK)]


@pytest.mark.integration
def test_without_authentication_the_line_still_sets_the_base_url() -> None:
    for environment, root in _printed_environment("--no-auth"):
        assert environment == {"THINGSPACE_BASE_URL": root}
