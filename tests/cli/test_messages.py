"""What the command line says when something fails: where credentials come from, advice
for a shell rather than for Python code, and one line per message when the output is
not a terminal (piped, logged), in process and in a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from thingspace_callbacks._auth.settings import VARIABLES

from .conftest import Cli, invoke

ACCOUNT = "0000123456-00001"
LONG_ACCOUNT = "0000123456-" + "7" * 180
LONG_URL = "https://hooks.example.com/" + "x" * 250
NO_CREDENTIALS: dict[str, str | None] = dict.fromkeys(VARIABLES.values())
"""The THINGSPACE_* credential variables, removed."""


def anonymous(cli: Cli, *args: str) -> tuple[int, str, str]:
    result = invoke(
        ["--base-url", cli.server.base_url, *args], env={**NO_CREDENTIALS, "COLUMNS": None}
    )
    return result.exit_code, result.stdout, result.stderr


# -- credentials -----------------------------------------------------------------------


@pytest.mark.integration
def test_a_401_without_any_credentials_says_where_they_come_from(cli: Cli) -> None:
    code, stdout, stderr = anonymous(cli, "location", "list", ACCOUNT)

    assert code == 1
    assert stdout == ""
    (line,) = stderr.splitlines()
    assert line.startswith("Error: 401 Unauthorized")
    for source in ("--client-id/--client-secret", "--username/--password", "--access-token"):
        assert source in line
    for variable in ("THINGSPACE_CLIENT_ID", "THINGSPACE_CLIENT_SECRET", "THINGSPACE_PASSWORD"):
        assert variable in line


@pytest.mark.integration
def test_with_json_the_error_object_says_the_same(cli: Cli) -> None:
    code, stdout, stderr = anonymous(cli, "--json", "diagnostics", "get", ACCOUNT)

    assert code == 1
    error = json.loads(stdout)["error"]
    assert error["status"] == 401
    assert error["message"] == stderr.strip().removeprefix("Error: ")
    assert "THINGSPACE_CLIENT_ID" in error["message"]


@pytest.mark.integration
def test_a_401_to_given_credentials_has_no_such_hint(cli: Cli) -> None:
    result = cli("location", "list", ACCOUNT, env={"THINGSPACE_CLIENT_SECRET": "wrong"})

    assert result.exit_code == 1
    assert "401" in result.stderr
    assert "no credentials were given" not in result.stderr


@pytest.mark.integration
def test_a_refused_login_says_what_to_do_at_a_shell(cli: Cli) -> None:
    result = cli("location", "list", ACCOUNT, env={"THINGSPACE_PASSWORD": "wrong"})

    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert "login refused" in line
    assert "fix the credentials, then run the command again" in line
    assert "client." not in line
    assert "reset()" not in line


@pytest.mark.integration
def test_bulk_failures_carry_the_cli_messages(cli: Cli, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.txt"
    accounts.write_text(f"{ACCOUNT}\n")
    results = tmp_path / "run.jsonl"

    refused = cli(
        "bulk", "list", "location", str(accounts), "--results", str(results),
        env={"THINGSPACE_PASSWORD": "wrong"},
    )  # fmt: skip
    anonymous_code, _, anonymous_stderr = anonymous(cli, "bulk", "list", "location", str(accounts))

    assert refused.exit_code == 1
    assert "run the command again" in refused.stderr
    assert "client.auth" not in refused.stderr + results.read_text()
    (line,) = results.read_text().splitlines()
    assert "run the command again" in json.loads(line)["error"]["message"]
    assert anonymous_code == 1
    assert "THINGSPACE_CLIENT_ID" in anonymous_stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--client-id", "x"], "--client-secret is required with --client-id"),
        (["--password", "p"], "--username is required with --password"),
        (
            ["--access-token", "t", "--client-id", "x", "--client-secret", "y"],
            "use either --access-token or --client-id/--client-secret, not both",
        ),
    ],
)
def test_credential_errors_name_the_options(options: list[str], message: str) -> None:
    result = invoke(
        ["--base-url", "http://127.0.0.1:9/api", *options, "location", "list", ACCOUNT],
        env=NO_CREDENTIALS,
    )

    assert result.exit_code == 2
    assert result.stderr == f"Error: {message}\n"


# -- no hard wrapping without a terminal -------------------------------------------------


def _failure_note(stderr: str) -> str:
    (note,) = [line for line in stderr.splitlines() if line.startswith("failed ")]
    return note


EXPECTED_NOTE = (
    f"failed {LONG_ACCOUNT}: 400 Bad Request - INVALID_PARAMETER: "
    f"No callback registered for service Location on account {LONG_ACCOUNT}"
)


@pytest.mark.integration
def test_a_long_failure_note_is_one_line(cli: Cli, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.txt"
    accounts.write_text(f"{LONG_ACCOUNT}\n")

    result = cli(
        "bulk", "unregister", "location", str(accounts), "--service", "Location",
        "--progress", env={"COLUMNS": None},
    )  # fmt: skip

    assert result.exit_code == 1
    assert _failure_note(result.stderr) == EXPECTED_NOTE


@pytest.mark.integration
def test_a_long_table_row_is_one_line(cli: Cli) -> None:
    assert cli("location", "register", ACCOUNT, "Location", LONG_URL).exit_code == 0

    result = cli("location", "list", ACCOUNT, env={"COLUMNS": None})

    assert result.exit_code == 0
    (row,) = [line for line in result.stdout.splitlines() if LONG_URL in line]
    assert row.startswith("│ Location")


@pytest.mark.integration
def test_piped_output_of_a_real_process_is_one_line_per_event(cli: Cli, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.txt"
    accounts.write_text(f"{LONG_ACCOUNT}\n")
    assert cli("location", "register", ACCOUNT, "Location", LONG_URL).exit_code == 0
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    env.update({k: v for k, v in cli.env.items() if v is not None})
    command = [sys.executable, "-m", "thingspace_callbacks"]

    bulk = subprocess.run(
        [*command, "bulk", "unregister", "location", str(accounts), "--service", "Location"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    listed = subprocess.run(
        [*command, "location", "list", ACCOUNT],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip

    assert bulk.returncode == 1
    assert _failure_note(bulk.stderr) == EXPECTED_NOTE
    assert listed.returncode == 0
    assert any(LONG_URL in line for line in listed.stdout.splitlines())


# -- click's own refusals ------------------------------------------------------------------

UNSENT = ["--base-url", "http://127.0.0.1:9/api"]
"""A root nothing answers: unmarked, a test fails if anything connects (tests/conftest.py)."""


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["bulk", "list", "location", "ACCOUNTS", "-c", "0"],
            2,
            "Invalid value for '--concurrency' / '-c': 0 is not in the range x>=1.",
        ),
        (
            ["bulk", "list", "location", "ACCOUNTS", "-c", "abc"],
            2,
            "Invalid value for '--concurrency' / '-c': 'abc' is not a valid integer range.",
        ),
        (
            ["bulk", "list", "location-v9", "ACCOUNTS"],
            2,
            "Invalid value for 'FAMILY': 'location-v9' is not one of 'diagnostics', "
            "'location', 'firmware', 'firmware-v3', 'connectivity', 'hyper-precise'.",
        ),
        (
            ["bulk", "register", "location", "ACCOUNTS", "--service", "Location"],
            2,
            "register needs --url URL",
        ),
        (["bulk", "list", "location"], 2, "Missing argument 'ACCOUNTS_FILE'."),
        (["bulk", "lst"], 2, "No such command 'lst'. Did you mean 'list'?"),
        (
            ["--timeout", "0", "location", "list", ACCOUNT],
            2,
            "Invalid value for '--timeout': 0.0 is not in the range x>0.",
        ),
        (["location", "list"], 2, "Missing argument 'ACCOUNT'."),
        (["nonsense"], 2, "No such command 'nonsense'."),
        (
            ["sandbox", "--port", "99999"],
            2,
            "Invalid value for '--port': 99999 is not in the range 0<=x<=65535.",
        ),
        # plan's exit code 2 means "changes pending": its usage errors exit 1.
        (
            ["plan", "ACCOUNTS", "-c", "0"],
            1,
            "Invalid value for '--concurrency' / '-c': 0 is not in the range x>=1.",
        ),
    ],
    ids=[
        "bulk-concurrency-0",
        "bulk-concurrency-text",
        "bulk-family",
        "bulk-own-check",
        "bulk-missing-argument",
        "bulk-command",
        "group-option",
        "missing-argument",
        "command",
        "sandbox-port",
        "plan-exit-1",
    ],
)
def test_a_usage_error_is_one_line_without_the_usage_block(
    tmp_path: Path, args: list[str], code: int, message: str
) -> None:
    accounts = tmp_path / "accounts.txt"
    accounts.write_text(f"{ACCOUNT}\n")
    args = [str(accounts) if arg == "ACCOUNTS" else arg for arg in args]

    result = invoke([*UNSENT, *args], env=NO_CREDENTIALS)

    assert result.exit_code == code
    assert result.stderr == f"Error: {message}\n"
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--latency", "2:1"], "--latency range must have low <= high, got [2.0, 1.0]"),
        (["--latency", "-1"], "--latency must be a finite number of seconds >= 0, got -1.0"),
        (
            ["--error-rate", ".6", "--drop-rate", ".6"],
            "--error-rate + --rate-limit-rate + --drop-rate must not exceed 1",
        ),
        (
            ["--latency", "soon"],
            "Invalid value for --latency: expected SECONDS or LOW:HIGH, got 'soon'",
        ),
    ],
    ids=["latency-range", "latency-negative", "rates-above-1", "latency-text"],
)
def test_bad_sandbox_faults_are_one_line_naming_the_options(args: list[str], message: str) -> None:
    # Refused before a socket is bound (unmarked: binding one would fail the test).
    result = invoke(["sandbox", "--port", "0", *args])

    assert result.exit_code == 2
    assert result.stderr == f"Error: {message}\n"


def test_help_is_still_shown_in_full() -> None:
    for args in (["--help"], ["bulk", "--help"], ["bulk", "list", "-h"]):
        result = invoke(args)
        assert result.exit_code == 0, args
        assert result.stdout.startswith("Usage: ")
        assert "Options:" in result.stdout
    # A group run without a command shows its help, as click does.
    bare = invoke(["bulk"])
    assert "bulk [OPTIONS] COMMAND [ARGS]..." in bare.output
    assert "Commands:" in bare.output
