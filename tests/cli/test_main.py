"""The command group itself: lazy help, usage errors, exit codes, sandbox server,
``python -m thingspace_callbacks`` (the demo: ``test_demo.py``; missing extras:
``test_extras.py``)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import click
import httpx
import pytest
from click.testing import CliRunner

from thingspace_callbacks.cli import COMMANDS, SUMMARIES
from thingspace_callbacks.cli._lazy import LazyGroup

from .conftest import Cli, invoke

ACCOUNT = "0000123456-00001"
HOOK = "https://listener.example.com/hooks"


def test_help_lists_every_command_with_its_summary() -> None:
    result = invoke(["--help"])

    assert result.exit_code == 0
    for name, summary in SUMMARIES.items():
        assert name in result.stdout
        assert summary.split()[0] in result.stdout
    assert set(SUMMARIES) == set(COMMANDS)


def test_listen_and_bulk_are_registered_for_the_other_commands() -> None:
    assert COMMANDS["listen"] == "thingspace_callbacks.cli.listen:listen"
    assert COMMANDS["bulk"] == "thingspace_callbacks.cli.bulk:bulk"


def test_help_imports_no_subcommand() -> None:
    code = (
        "import sys\n"
        "from thingspace_callbacks.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = [m for m in sys.modules if m.startswith('thingspace_callbacks.cli.')"
        " and not m.split('.')[-1].startswith('_')]\n"
        "heavy = [m for m in ('starlette', 'uvicorn') if m in sys.modules]\n"
        "print(loaded, heavy, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stderr.strip().splitlines()[-1] == "[] []"


def test_version() -> None:
    from thingspace_callbacks import __version__

    assert invoke(["--version"]).stdout.strip() == f"thingspace-callbacks, version {__version__}"


def test_unavailable_command_fails_with_a_one_line_usage_error() -> None:
    @click.group(cls=LazyGroup, lazy_commands={"ghost": "thingspace_callbacks.cli.ghost:ghost"})
    def group() -> None:
        pass

    listed = CliRunner().invoke(group, ["--help"])
    result = CliRunner().invoke(group, ["ghost", "--anything"])

    assert "ghost" in listed.stdout
    assert result.exit_code == 2
    assert "the 'ghost' command is unavailable: it is not part of this installation" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["location", "list"], "Missing argument 'ACCOUNT'"),
        (["location", "register", ACCOUNT, "Location", "ftp://nowhere"], "must be an absolute"),
        (["location", "list", ""], "'account' must not be empty"),
        (
            ["diagnostics", "register", ACCOUNT, "Diagnostics", HOOK, "--header", "oops"],
            "NAME=VALUE",
        ),
        (["--sandbox", "--base-url", "http://x/api", "location", "list", ACCOUNT], "cannot be"),
        (["nonsense"], "No such command"),
    ],
)
def test_usage_errors_exit_2_without_traceback(args: list[str], message: str) -> None:
    result = invoke(["--sandbox", *args] if args[0] != "--sandbox" else args)

    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_validation_error_is_one_line() -> None:
    # Refused before any request: no server, and the socket guard fails any attempt.
    result = invoke(["location", "register", ACCOUNT, "Location", "not a url"])

    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: 'url' must be an absolute http:// or https:// URL")


@pytest.mark.integration
def test_connection_error_exits_1() -> None:
    result = invoke(
        ["--base-url", "http://127.0.0.1:9/api", "--max-retries", "0", "location", "list", ACCOUNT]
    )

    assert result.exit_code == 1
    assert result.stderr.startswith("Error: Connection error")


@pytest.mark.integration
def test_api_error_with_json_prints_an_error_object(cli: Cli) -> None:
    result = cli("--json", "firmware", "unregister", ACCOUNT)

    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert (error["status"], error["errorCode"]) == (400, "INVALID_PARAMETER")


@pytest.fixture
def sandbox_process() -> Iterator[str]:
    """``python -m thingspace_callbacks sandbox`` on a free port; yields its API root."""
    command = [sys.executable, "-m", "thingspace_callbacks", "sandbox", "--port", "0"]
    command += ["--no-auth", "--error-rate", "1", "--error-status", "502"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        try:
            assert process.stdout is not None
            yield process.stdout.readline().split()[3]
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.mark.integration
def test_sandbox_command_serves_with_faults(sandbox_process: str) -> None:
    base_url = sandbox_process

    answer = httpx.get(f"{base_url}/loc/v1/callbacks/{ACCOUNT}")
    admin = httpx.get(base_url.removesuffix("/api") + "/sandbox/faults")

    assert answer.status_code == 502
    assert admin.json()["error_rate"] == 1.0


def test_sandbox_command_refuses_bad_latency() -> None:
    result = invoke(["sandbox", "--latency", "soon"])

    assert result.exit_code == 2
    assert "SECONDS or LOW:HIGH" in result.stderr
