"""``thingspace-callbacks bulk`` against a served sandbox: results files and the work
they record, resume after a crash (and its refusals), Ctrl-C again and again, failures
and exit codes."""

from __future__ import annotations

import json
import os
import re
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

# Every test here talks to a served sandbox.
pytestmark = pytest.mark.integration

HOOK = "https://listener.example.com/hooks/location"
WORK = ("operation", "family", "service", "url", "callbackUsername", "baseUrl")


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
    # Each line records the work it did, not only the account.
    assert {key: written[0][key] for key in WORK} == {
        "operation": "register",
        "family": "location",
        "service": "Location",
        "url": HOOK,
        "callbackUsername": None,
        "baseUrl": server.base_url,
    }
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
    assert summary["accounts"] == summary["succeeded"] + summary["failed"] + summary["cancelled"]
    # Accounts cancelled in flight have no outcome, so no line.
    written = lines(results)
    assert len(written) == summary["succeeded"] + summary["failed"]
    assert all(line["error"]["type"] == "InternalServerError" for line in written)


def work_line(server: SandboxServer, account: str, ok: bool, **changes: Any) -> dict[str, Any]:
    """A results line as a run of ``register_args`` writes it."""
    line: dict[str, Any] = {
        "account": account,
        "ok": ok,
        "operation": "register",
        "family": "location",
        "service": "Location",
        "url": HOOK,
        "callbackUsername": None,
        "baseUrl": server.base_url,
        "attempts": 1,
        "elapsed": 0.01,
    }
    line.update({"value": {}} if ok else {"error": {"type": "X"}})
    line.update(changes)
    return line


def one_line_per_account(path: Path) -> dict[str, dict[str, Any]]:
    written = lines(path)
    by_account = {line["account"]: line for line in written}
    assert len(by_account) == len(written), "an account has more than one line"
    return by_account


def assert_all_done(path: Path, names: list[str]) -> None:
    """``path`` holds exactly one line per account of ``names``, each a success."""
    final = one_line_per_account(path)
    assert sorted(final) == sorted(names)
    assert all(line["ok"] for line in final.values())


def test_resume_after_a_crash_repeats_nothing_that_succeeded(
    server: SandboxServer, tmp_path: Path
) -> None:
    accounts = accounts_file(tmp_path, 20)
    names = accounts.read_text().split()
    results = tmp_path / "run.jsonl"
    # What a crashed run leaves: some successes, a failure, and a line cut short.
    crashed = [work_line(server, a, True) for a in names[:8]]
    crashed.append(work_line(server, names[8], False))
    results.write_text("".join(json.dumps(line) + "\n" for line in crashed) + '{"account": "00000')

    outcome = bulk(server, *register_args(accounts, results, "--resume", "--json"))

    assert outcome.exit_code == 0, outcome.stderr
    summary = json.loads(outcome.stdout)
    assert (summary["skipped"], summary["accounts"], summary["succeeded"]) == (8, 12, 12)
    assert server.sandbox.calls["location.register"] == 12
    registered = {r.account for r in server.sandbox.registrations("location")}
    assert registered == set(names[8:])
    # Compacted: one line per account, its final outcome; the torn line is gone.
    assert_all_done(results, names)


def test_resume_refuses_a_file_written_for_another_url(
    server: SandboxServer, tmp_path: Path
) -> None:
    accounts = accounts_file(tmp_path, 30)
    results = tmp_path / "run.jsonl"
    first = bulk(server, *register_args(accounts, results, "--url", "https://a.example.com/h"))
    assert first.exit_code == 0, first.stderr
    before = results.read_bytes()

    again = bulk(
        server, *register_args(accounts, results, "--url", "https://b.example.com/h", "--resume")
    )

    assert again.exit_code == 2
    assert "url 'https://a.example.com/h' there, 'https://b.example.com/h' now" in again.stderr
    assert "Nothing was done" in again.stderr
    assert server.sandbox.calls["location.register"] == 30
    assert results.read_bytes() == before
    assert {r.url for r in server.sandbox.registrations("location")} == {"https://a.example.com/h"}


@pytest.mark.parametrize(
    ("recorded", "named"),
    [
        ({"service": "DeviceLocation"}, "service 'DeviceLocation' there, 'Location' now"),
        ({"operation": "unregister"}, "operation 'unregister' there, 'register' now"),
        ({"family": "diagnostics"}, "family 'diagnostics' there, 'location' now"),
        ({"baseUrl": "https://thingspace.verizon.com/api"}, "baseUrl "),
        ({"callbackUsername": "hook-user"}, "callbackUsername 'hook-user' there, None now"),
    ],
)
def test_resume_refuses_other_work_and_names_it(
    server: SandboxServer, tmp_path: Path, recorded: dict[str, Any], named: str
) -> None:
    accounts = accounts_file(tmp_path, 3)
    names = accounts.read_text().split()
    results = tmp_path / "run.jsonl"
    results.write_text(
        json.dumps(work_line(server, names[0], True))
        + "\n"
        + json.dumps(work_line(server, names[1], True, **recorded))
        + "\n"
    )

    outcome = bulk(server, *register_args(accounts, results, "--resume"))

    assert outcome.exit_code == 2
    assert named in outcome.stderr
    assert server.sandbox.calls["location.register"] == 0


def test_resume_refuses_lines_that_do_not_record_their_work(
    server: SandboxServer, tmp_path: Path
) -> None:
    accounts = accounts_file(tmp_path, 2)
    results = tmp_path / "run.jsonl"
    # An earlier version's line: no url, no baseUrl.
    old = {"account": accounts.read_text().split()[0], "ok": True, "operation": "register",
           "family": "location", "service": "Location", "attempts": 1, "value": {}}  # fmt: skip
    results.write_text(json.dumps(old) + "\n")

    outcome = bulk(server, *register_args(accounts, results, "--resume"))

    assert outcome.exit_code == 2
    assert f"url None there, {HOOK!r} now" in outcome.stderr
    assert server.sandbox.calls["location.register"] == 0


def name_args(accounts: Path, results: Path, *extra: str) -> list[str]:
    return [
        "register", "connectivity", str(accounts), "--service", "CarrierService",
        "--url", HOOK, "--callback-username", "hook-user", "--results", str(results), *extra,
    ]  # fmt: skip


PASSWORD = "hook-pass-123"


@pytest.fixture
def registered_with_a_password(server: SandboxServer, tmp_path: Path) -> tuple[Path, Path]:
    """Three connectivity listeners registered with a callback password: the accounts
    file and the results file."""
    accounts = accounts_file(tmp_path, 3)
    results = tmp_path / "run.jsonl"
    first = bulk(server, *name_args(accounts, results, "--callback-password", PASSWORD))
    assert first.exit_code == 0, first.stderr
    return accounts, results


def test_a_callback_password_is_recorded_only_as_a_digest(
    server: SandboxServer, registered_with_a_password: tuple[Path, Path]
) -> None:
    accounts, results = registered_with_a_password
    text = results.read_text()

    same = bulk(
        server, *name_args(accounts, results, "--resume", "--json", "--callback-password", PASSWORD)
    )

    assert PASSWORD not in text
    (digest,) = {line["callbackPassword"] for line in lines(results)}
    assert digest.startswith("pbkdf2_sha256$")
    assert {line["callbackUsername"] for line in lines(results)} == {"hook-user"}
    assert same.exit_code == 0, same.stderr
    assert json.loads(same.stdout)["skipped"] == 3
    assert server.sandbox.calls["connectivity.register"] == 3


@pytest.mark.parametrize("password", [["--callback-password", "hook-pass-456"], []])
def test_resume_refuses_another_callback_password(
    server: SandboxServer, registered_with_a_password: tuple[Path, Path], password: list[str]
) -> None:
    accounts, results = registered_with_a_password

    refused = bulk(server, *name_args(accounts, results, "--resume", *password))

    assert refused.exit_code == 2
    assert "callbackPassword differs" in refused.stderr
    assert "hook-pass" not in refused.stderr
    assert server.sandbox.calls["connectivity.register"] == 3


def test_userinfo_of_a_url_is_masked_and_digested(server: SandboxServer, tmp_path: Path) -> None:
    accounts = accounts_file(tmp_path, 2)
    results = tmp_path / "run.jsonl"
    url = "https://hook:s3cret@hooks.example.com/location"
    first = bulk(server, *register_args(accounts, results, "--url", url))
    assert first.exit_code == 0, first.stderr

    other = bulk(server, *register_args(
        accounts, results, "--url", "https://hook:other@hooks.example.com/location", "--resume"
    ))  # fmt: skip

    assert "s3cret" not in results.read_text()
    line = lines(results)[0]
    assert line["url"] == "https://***@hooks.example.com/location"
    assert line["urlDigest"].startswith("pbkdf2_sha256$")
    assert other.exit_code == 2
    assert "urlDigest differs" in other.stderr


def test_a_retried_failure_ends_with_one_line(server: SandboxServer, tmp_path: Path) -> None:
    server.sandbox.faults = Faults(error_rate=0.5, error_status=500, seed=7)
    accounts = accounts_file(tmp_path, 40)
    results = tmp_path / "run.jsonl"
    first = CliRunner().invoke(
        main,
        ["--max-retries", "0", "bulk", *register_args(accounts, results, "--json")],
        env=environment(server),
        catch_exceptions=False,
    )
    failed = json.loads(first.stdout)["failed"]
    assert first.exit_code == 1
    assert 0 < failed < 40
    server.sandbox.faults = Faults()

    resumed = bulk(server, *register_args(accounts, results, "--resume", "--json"))

    assert resumed.exit_code == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert (summary["skipped"], summary["succeeded"]) == (40 - failed, failed)
    assert_all_done(results, accounts.read_text().split())


def test_an_account_listed_twice_is_done_once(server: SandboxServer, tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("0000000001-00001\n0000000002-00001\n0000000001-00001\n")
    results = tmp_path / "run.jsonl"

    outcome = bulk(server, *register_args(accounts, results, "--json"))

    assert outcome.exit_code == 0, outcome.stderr
    summary = json.loads(outcome.stdout)
    assert (summary["accounts"], summary["duplicates"]) == (2, 1)
    assert sorted(one_line_per_account(results)) == ["0000000001-00001", "0000000002-00001"]
    assert server.sandbox.calls["location.register"] == 2


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
        (["unregister", "connectivity", "ACCTS"], "needs --service"),
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


def assert_refused_up_front(
    outcome: Result, server: SandboxServer, results: Path, message: str
) -> None:
    """Exit 2 with one line naming the problem; nothing sent (not even a login), and
    no results file created or pointed at."""
    assert outcome.exit_code == 2, outcome.output
    assert outcome.stderr.splitlines() == [f"Error: {message}"]
    assert sum(server.sandbox.calls.values()) == 0
    assert not results.exists()
    assert str(results) not in outcome.stderr


@pytest.mark.parametrize("queued", [False, True], ids=["in-process", "queued"])
def test_a_bad_url_is_refused_before_the_first_request(
    server: SandboxServer, tmp_path: Path, queued: bool
) -> None:
    accounts = accounts_file(tmp_path, 50)
    results = tmp_path / "run.jsonl"
    # With --queue, refused before Redis is even asked (nothing listens on port 1).
    queue = ["--queue", "redis://127.0.0.1:1/0"] if queued else []
    args = register_args(accounts, results, *queue)
    outcome = bulk(server, *[("example.com/h" if a == HOOK else a) for a in args])
    expected = "--url must be an absolute http:// or https:// URL, got 'example.com/h'"
    assert_refused_up_front(outcome, server, results, expected)
    # The same check as the single command's, which names the argument, not the option.
    single = CliRunner().invoke(
        main,
        ["location", "register", "0000000001-00001", "Location", "example.com/h"],
        env=environment(server),
    )
    assert single.exit_code == 2
    assert single.stderr.replace("'url'", "--url") == outcome.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["register", "location", "ACCTS", "--service", " ", "--url", HOOK],
            "--service must not be empty or blank",
        ),
        (
            ["unregister", "location", "ACCTS", "--service", ".."],
            "--service must not be '..'",
        ),
        (
            ["register", "hyper-precise", "ACCTS", "--service", "Précis", "--url", HOOK],
            "--service is sent as an HTTP header and must be ASCII without line breaks "
            "(percent-encode other characters)",
        ),
        (
            [
                "register",
                "hyper-precise",
                "ACCTS",
                "--service",
                "HyperPreciseLocation",
                "--url",
                f"{HOOK}/é",
            ],
            "--url is sent as an HTTP header and must be ASCII without line breaks "
            "(percent-encode other characters)",
        ),
        (
            ["list", "location", "ACCTS", "--queue", "redis://127.0.0.1:1/0", "--queue-name", " "],
            "--queue-name must not be empty or blank",
        ),
        (
            ["--client-id", "someone", "bulk", "list", "location", "ACCTS"],
            "--client-secret is required with --client-id",
        ),
        (
            ["--base-url", "api.example.com", "bulk", "list", "location", "ACCTS"],
            "base_url must be an http(s) URL, got 'api.example.com'",
        ),
    ],
    ids=[
        "blank-service",
        "dot-service",
        "header-service",
        "header-url",
        "queue-name",
        "credentials",
        "base-url",
    ],
)
def test_every_bad_argument_is_refused_before_the_first_request(
    server: SandboxServer, tmp_path: Path, args: list[str], message: str
) -> None:
    accounts = accounts_file(tmp_path, 20)
    results = tmp_path / "run.jsonl"
    args = [str(accounts) if a == "ACCTS" else a for a in args]
    if "bulk" not in args:
        args = ["bulk", *args]
    # Without the client secret in the environment, --client-id alone is incomplete.
    env = {k: v for k, v in environment(server).items() if k != "THINGSPACE_CLIENT_SECRET"}
    outcome = CliRunner().invoke(main, [*args, "--results", str(results)], env=env)
    assert_refused_up_front(outcome, server, results, message)


def test_a_results_file_that_cannot_be_written_is_refused_up_front(
    server: SandboxServer, tmp_path: Path
) -> None:
    accounts = accounts_file(tmp_path, 5)
    missing = tmp_path / "no-such-dir" / "run.jsonl"
    directory = tmp_path / "a-directory"
    directory.mkdir()
    gone, here = str(missing), str(directory)
    refusals = {
        (gone,): f"--results {gone!r}: directory {str(missing.parent)!r} does not exist",
        (here,): f"--results {here!r} is a directory: name a file",
        (here, "--resume"): f"--results {here!r} is a directory: name a file",
    }
    for args, message in refusals.items():
        outcome = bulk(server, "list", "location", str(accounts), "--results", *args)
        assert outcome.exit_code == 2, outcome.output
        assert outcome.stderr.splitlines() == [f"Error: {message}"]
    assert not missing.parent.exists()
    assert list(directory.iterdir()) == []
    assert sum(server.sandbox.calls.values()) == 0


def test_an_accounts_file_that_cannot_be_read_is_refused_up_front(
    server: SandboxServer, tmp_path: Path
) -> None:
    results = tmp_path / "run.jsonl"
    binary = tmp_path / "accounts.xlsx"
    binary.write_bytes(b"PK\x03\x04\xff\xfe" + bytes(range(256)))
    outcome = bulk(server, "list", "location", str(binary), "--results", str(results))
    assert_refused_up_front(
        outcome, server, results, f"accounts file {str(binary)!r} is not UTF-8 text"
    )
    outcome = bulk(server, "list", "location", str(tmp_path), "--results", str(results))
    assert_refused_up_front(
        outcome, server, results, f"accounts file {str(tmp_path)!r} is not a file"
    )
    # Stdin's header is read before the run starts, too.
    outcome = bulk(
        server,
        "list",
        "location",
        "-",
        "--column",
        "acct",
        "--results",
        str(results),
        stdin="account\n0000000001-00001\n",
    )
    assert_refused_up_front(outcome, server, results, "no column 'acct' in the header of '-'")


def test_stdin_that_stops_being_text_mid_run_ends_in_one_line(
    server: SandboxServer, tmp_path: Path
) -> None:
    # Past the first read (8 KiB) the bytes stop being UTF-8: what was read is done
    # and recorded, then the run stops in one line, not a group of tracebacks.
    count = 1_000
    text = "".join(f"0000{n:06d}-00001\n" for n in range(count)).encode()
    results = tmp_path / "run.jsonl"
    outcome = CliRunner().invoke(
        main,
        ["bulk", "list", "location", "-", "--results", str(results)],
        env=environment(server),
        input=text + b"\xff\xfe\n",
    )
    assert outcome.exit_code == 2, outcome.output
    assert outcome.stderr.splitlines() == ["Error: accounts file '-' is not UTF-8 text"]
    done = lines(results)
    assert 0 < len(done) <= count
    assert all(line["ok"] for line in done)
    assert server.sandbox.calls["location.list"] == len(done)


def test_an_exported_callback_password_is_left_to_the_families_that_use_it(
    server: SandboxServer, tmp_path: Path
) -> None:
    # The worker guide exports THINGSPACE_CALLBACK_PASSWORD; a run of another family
    # from that shell neither fails nor records it.
    accounts = accounts_file(tmp_path, 2)
    results = tmp_path / "run.jsonl"
    exported = {**environment(server), "THINGSPACE_CALLBACK_PASSWORD": "hook-pass-123"}
    outcome = CliRunner().invoke(
        main, ["bulk", *register_args(accounts, results)], env=exported, catch_exceptions=False
    )
    assert outcome.exit_code == 0, outcome.stderr
    assert all("callbackPassword" not in line for line in lines(results))
    assert server.sandbox.calls["location.register"] == 2
    # Given as flags, they are still refused for a family that has no use for them.
    for flag in (["--callback-password", "hook-pass-123"], ["--callback-username", "hook"]):
        refused = CliRunner().invoke(
            main,
            ["bulk", *register_args(accounts, tmp_path / "refused.jsonl", *flag)],
            env=exported,
        )
        assert refused.exit_code == 2, flag
        assert "are for connectivity" in refused.stderr
    assert server.sandbox.calls["location.register"] == 2


def test_every_family_and_operation(server: SandboxServer, tmp_path: Path) -> None:
    accounts = accounts_file(tmp_path, 3)
    services = {
        "location": "Location",
        "diagnostics": "DiagnosticsService",
        "connectivity": "CarrierService",
        "hyper-precise": "HyperPreciseLocation",
    }
    for family in (
        "location",
        "diagnostics",
        "firmware",
        "firmware-v3",
        "connectivity",
        "hyper-precise",
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
            "connectivity",
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
    listed = bulk(server, "list", "connectivity", str(accounts), "--results", str(results))
    assert listed.exit_code == 0
    assert "hook-pass-123" not in results.read_text()
    assert lines(results)[0]["value"][0]["password"] == "********"


BAR = re.compile(r"(\d+)/(\d+) (\d+) failed (\d+) cancelled")


def line_count(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def run_until(
    command: list[str], env: dict[str, str], results: Path, stop_after: int | None
) -> tuple[int, dict[str, Any], str]:
    """Run ``command``; with ``stop_after``, send SIGINT once that many more lines are in
    ``results``. Returns (exit code, --json summary, stderr)."""
    before = line_count(results)
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        if stop_after is not None:
            deadline = time.monotonic() + 30
            while line_count(results) < before + stop_after:
                assert time.monotonic() < deadline, "the run never got going"
                assert process.poll() is None, process.communicate()
                time.sleep(0.01)
            process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, json.loads(stdout), stderr


def check_counts(summary: dict[str, Any], stderr: str) -> None:
    """The bar, the summary and the closing line say the same."""
    assert summary["accounts"] == summary["succeeded"] + summary["failed"] + summary["cancelled"]
    *_, bar = (m for m in BAR.finditer(stderr))
    done, _, failed, cancelled = (int(n) for n in bar.groups())
    assert (done, failed, cancelled) == (
        summary["succeeded"] + summary["failed"],
        summary["failed"],
        summary["cancelled"],
    )
    if summary["interrupted"]:
        assert (
            f"Interrupted: {done} accounts done ({failed} failed), {cancelled} cancelled" in stderr
        )


def check_run(
    command: list[str], env: dict[str, str], results: Path, stop_after: int | None
) -> int:
    """One run, stopped by Ctrl-C after ``stop_after`` more lines (``None``: not
    stopped), and what it must leave: one line per account, each a success, and counts
    that agree. Returns how many accounts it cancelled."""
    before = one_line_per_account(results) if results.exists() else {}

    code, summary, stderr = run_until(command, env, results, stop_after)

    assert code == (130 if stop_after is not None else 0), stderr
    assert summary["interrupted"] is (stop_after is not None)
    assert (summary["failed"], summary["skipped"]) == (0, len(before))
    check_counts(summary, stderr)
    after = one_line_per_account(results)
    assert len(after) == len(before) + summary["succeeded"]
    assert all(line["ok"] and line["url"] == HOOK for line in after.values())
    return int(summary["cancelled"])


def test_interrupted_and_resumed_runs_end_with_one_line_per_account(tmp_path: Path) -> None:
    accounts = accounts_file(tmp_path, 2000)
    names = accounts.read_text().split()
    results = tmp_path / "run.jsonl"
    with Sandbox(faults=Faults(latency=(0.002, 0.01))).serve() as served:
        command = [
            sys.executable, "-m", "thingspace_callbacks", "bulk",
            *register_args(accounts, results, "-c", "8", "--progress", "--json"),
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
        env.update(environment(served))
        # Ctrl-C early, later, just after starting; then let it finish.
        cancelled = check_run(command, env, results, 300)
        for stop_after in (700, 30, None):
            cancelled += check_run([*command, "--resume"], env, results, stop_after)
        registered = served.sandbox.registrations("location")

    assert cancelled > 0  # Ctrl-C caught calls in flight, which later runs redid
    assert_all_done(results, names)
    assert sorted(r.account for r in registered) == names
    assert {r.url for r in registered} == {HOOK}
