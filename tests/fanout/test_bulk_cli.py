"""``thingspace-callbacks bulk`` against a served sandbox: results files, resume after a
crash, Ctrl-C, failures and exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from thingspace_callbacks.cli import main
from thingspace_callbacks.sandbox import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_PASSWORD,
    SANDBOX_USERNAME,
    Faults,
    Sandbox,
    SandboxServer,
)

HOOK = "https://listener.example.com/hooks/location"


@pytest.fixture(scope="module")
def _served() -> Iterator[SandboxServer]:
    with Sandbox().serve() as server:
        yield server


@pytest.fixture
def server(_served: SandboxServer) -> SandboxServer:
    _served.sandbox.reset()
    _served.sandbox.faults = Faults()
    return _served


def environment(server: SandboxServer) -> dict[str, str]:
    return {
        "THINGSPACE_BASE_URL": server.base_url,
        "THINGSPACE_CLIENT_ID": SANDBOX_CLIENT_ID,
        "THINGSPACE_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
        "THINGSPACE_USERNAME": SANDBOX_USERNAME,
        "THINGSPACE_PASSWORD": SANDBOX_PASSWORD,
    }


def bulk(server: SandboxServer, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(
        main, ["bulk", *args], env=environment(server), input=stdin, catch_exceptions=False
    )


def accounts_file(tmp_path: Path, count: int, name: str = "accounts.txt") -> Path:
    path = tmp_path / name
    path.write_text("".join(f"0000{n:06d}-00001\n" for n in range(count)))
    return path


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def register_args(accounts: Path | str, results: Path | str, *extra: str) -> list[str]:
    return [
        "register",
        "location",
        str(accounts),
        "--service",
        "Location",
        "--url",
        HOOK,
        "--results",
        str(results),
        *extra,
    ]


def test_register_writes_one_line_per_account(server: SandboxServer, tmp_path: Path) -> None:
    accounts = accounts_file(tmp_path, 30)
    results = tmp_path / "run.jsonl"
    outcome = bulk(server, *register_args(accounts, results, "-c", "5", "--json"))
    assert outcome.exit_code == 0, outcome.stderr
    summary = json.loads(outcome.stdout)
    assert summary["accounts"] == summary["succeeded"] == 30
    assert summary["failed"] == 0
    written = lines(results)
    assert sorted(line["account"] for line in written) == accounts.read_text().split()
    assert all(line["ok"] and line["attempts"] == 1 for line in written)
    assert written[0]["value"]["serviceName"] == "Location"
    assert len(server.sandbox.registrations("location")) == 30


def test_csv_with_a_header_and_a_named_column(server: SandboxServer, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.csv"
    accounts.write_text(
        "region,accountName\neast,0000000001-00001\n# paused for now\n\nwest,0000000002-00001\n"
    )
    results = tmp_path / "run.jsonl"
    outcome = bulk(server, *register_args(accounts, results, "--column", "account_name"))
    assert outcome.exit_code == 0, outcome.stderr
    assert sorted(line["account"] for line in lines(results)) == [
        "0000000001-00001",
        "0000000002-00001",
    ]
    missing = bulk(server, *register_args(accounts, tmp_path / "b.jsonl", "--column", "acct"))
    assert missing.exit_code == 2
    assert "no column 'acct'" in missing.stderr


def test_accounts_from_stdin_and_results_to_stdout(server: SandboxServer) -> None:
    outcome = bulk(
        server,
        "list",
        "location",
        "-",
        "--results",
        "-",
        stdin="0000000001-00001\n0000000002-00001\n",
    )
    assert outcome.exit_code == 0, outcome.stderr
    *results, summary = [json.loads(line) for line in outcome.stdout.splitlines()]
    assert sorted(r["account"] for r in results) == ["0000000001-00001", "0000000002-00001"]
    assert all(r["ok"] and r["value"] == [] for r in results)
    assert summary["summary"]["succeeded"] == 2


def test_failures_are_recorded_and_exit_1(server: SandboxServer, tmp_path: Path) -> None:
    accounts = accounts_file(tmp_path, 4)
    results = tmp_path / "run.jsonl"
    outcome = bulk(
        server,
        "unregister",
        "location",
        str(accounts),
        "--service",
        "Location",
        "--results",
        str(results),
    )
    assert outcome.exit_code == 1
    assert "4 of 4 accounts failed" in outcome.stderr
    for line in lines(results):
        assert not line["ok"]
        assert line["error"]["status"] == 400
        assert line["error"]["errorCode"] == "INVALID_PARAMETER"


def test_fail_fast_stops_early(server: SandboxServer, tmp_path: Path) -> None:
    server.sandbox.faults = Faults(error_rate=1.0, error_status=500)
    accounts = accounts_file(tmp_path, 200)
    results = tmp_path / "run.jsonl"
    outcome = CliRunner().invoke(
        main,
        [
            "--max-retries",
            "0",
            "bulk",
            *register_args(accounts, results, "--fail-fast", "-c", "2", "--json"),
        ],
        env=environment(server),
        catch_exceptions=False,
    )
    assert outcome.exit_code == 1
    summary = json.loads(outcome.stdout)
    assert summary["stoppedAtFirstFailure"] is True
    assert summary["accounts"] < 10
    assert len(lines(results)) == summary["accounts"]


def test_resume_after_a_crash_repeats_nothing_that_succeeded(
    server: SandboxServer, tmp_path: Path
) -> None:
    accounts = accounts_file(tmp_path, 20)
    names = accounts.read_text().split()
    results = tmp_path / "run.jsonl"
    # What a crashed run leaves: some successes, a failure, and a line cut short.
    done = names[:8]
    crashed = [
        {
            "account": a,
            "ok": True,
            "operation": "register",
            "family": "location",
            "service": "Location",
            "attempts": 1,
            "elapsed": 0.01,
            "value": {},
        }
        for a in done
    ]
    crashed.append(
        {
            "account": names[8],
            "ok": False,
            "operation": "register",
            "family": "location",
            "service": "Location",
            "attempts": 1,
            "elapsed": 0.01,
            "error": {"type": "X"},
        }
    )
    # A success of another command does not count for this one.
    crashed.append(
        {
            "account": names[9],
            "ok": True,
            "operation": "unregister",
            "family": "location",
            "service": "Location",
            "attempts": 1,
            "elapsed": 0.01,
            "value": {},
        }
    )
    results.write_text("".join(json.dumps(line) + "\n" for line in crashed) + '{"account": "00000')

    outcome = bulk(server, *register_args(accounts, results, "--resume", "--json"))

    assert outcome.exit_code == 0, outcome.stderr
    summary = json.loads(outcome.stdout)
    assert summary["skipped"] == 8
    assert summary["accounts"] == 12
    assert server.sandbox.calls["location.register"] == 12
    registered = {r.account for r in server.sandbox.registrations("location")}
    assert registered == set(names) - set(done)
    text = results.read_text().splitlines()
    assert text[len(crashed)] == '{"account": "00000'  # the torn line stays on its own
    parsed = [json.loads(line) for i, line in enumerate(text) if i != len(crashed)]
    succeeded = [p["account"] for p in parsed if p["ok"] and p["operation"] == "register"]
    assert sorted(succeeded) == names  # every account succeeded exactly once


def test_an_existing_results_file_needs_resume(server: SandboxServer, tmp_path: Path) -> None:
    accounts = accounts_file(tmp_path, 2)
    results = tmp_path / "run.jsonl"
    results.write_text("")
    refused = bulk(server, *register_args(accounts, results))
    assert refused.exit_code == 2
    assert "--resume" in refused.stderr
    no_file = bulk(server, "list", "location", str(accounts), "--resume")
    assert no_file.exit_code == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["register", "firmware", "ACCTS", "--service", "X", "--url", HOOK], "drop --service"),
        (["register", "location", "ACCTS", "--service", "Location"], "needs --url"),
        (["unregister", "account-name", "ACCTS"], "needs --service"),
        (["list", "location", "no-such-file.txt"], "does not exist"),
    ],
)
def test_bad_usage_exits_2(
    server: SandboxServer, tmp_path: Path, args: list[str], message: str
) -> None:
    accounts = accounts_file(tmp_path, 1)
    outcome = bulk(server, *[str(accounts) if a == "ACCTS" else a for a in args])
    assert outcome.exit_code == 2
    assert message in outcome.stderr
    assert server.sandbox.calls["location.register"] == 0


def test_every_family_and_operation(server: SandboxServer, tmp_path: Path) -> None:
    accounts = accounts_file(tmp_path, 3)
    services = {
        "location": "Location",
        "diagnostics": "DiagnosticsService",
        "account-name": "CarrierService",
        "account-number": "HyperPreciseLocation",
    }
    for family in (
        "location",
        "diagnostics",
        "firmware",
        "firmware-v3",
        "account-name",
        "account-number",
    ):
        service = ["--service", services[family]] if family in services else []
        steps = [
            ["register", family, str(accounts), *service, "--url", HOOK],
            ["list", family, str(accounts)],
            ["unregister", family, str(accounts), *service],
        ]
        for step in steps:
            results = tmp_path / f"{family}-{step[0]}.jsonl"
            outcome = bulk(server, *step, "--results", str(results))
            assert outcome.exit_code == 0, (family, step[0], outcome.stderr)
            assert len(lines(results)) == 3
    assert server.sandbox.registrations() == []


def test_listener_passwords_are_masked_in_results(server: SandboxServer, tmp_path: Path) -> None:
    accounts = accounts_file(tmp_path, 2)
    registered = CliRunner().invoke(
        main,
        [
            "bulk",
            "register",
            "account-name",
            str(accounts),
            "--service",
            "CarrierService",
            "--url",
            HOOK,
            "--callback-username",
            "hook-user",
        ],
        env={**environment(server), "THINGSPACE_CALLBACK_PASSWORD": "hook-pass-123"},
        catch_exceptions=False,
    )
    assert registered.exit_code == 0, registered.stderr
    results = tmp_path / "list.jsonl"
    listed = bulk(server, "list", "account-name", str(accounts), "--results", str(results))
    assert listed.exit_code == 0
    assert "hook-pass-123" not in results.read_text()
    assert lines(results)[0]["value"][0]["password"] == "********"


@pytest.mark.integration
def test_ctrl_c_flushes_what_is_done_and_resume_finishes(
    server: SandboxServer, tmp_path: Path
) -> None:
    server.sandbox.faults = Faults(latency=0.05)
    accounts = accounts_file(tmp_path, 300)
    results = tmp_path / "run.jsonl"
    command = [
        sys.executable,
        "-m",
        "thingspace_callbacks",
        "bulk",
        *register_args(accounts, results, "-c", "4", "--no-progress"),
    ]
    env = {**os.environ, **environment(server)}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not results.exists() or len(results.read_text().splitlines()) < 8:
            assert time.monotonic() < deadline, "the run never got going"
            assert process.poll() is None, process.communicate()
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr.decode()
    assert b"rerun with --resume" in stderr
    first = lines(results)  # every line is whole JSON
    assert len(first) < 300
    succeeded = {line["account"] for line in first if line["ok"]}
    cancelled = [line for line in first if not line["ok"]]
    assert all(line["error"]["type"] == "FanOutCancelledError" for line in cancelled)
    calls_before = server.sandbox.calls["location.register"]

    server.sandbox.faults = Faults()
    resumed = subprocess.run([*command, "--resume"], env=env, capture_output=True, timeout=60)

    assert resumed.returncode == 0, resumed.stderr.decode()
    assert server.sandbox.calls["location.register"] - calls_before == 300 - len(succeeded)
    final = [line["account"] for line in lines(results) if line["ok"]]
    assert sorted(final) == accounts.read_text().split()
