"""``thingspace-callbacks plan`` and ``apply`` against a served sandbox: exit codes,
the plan's text and JSON, saved plans, confirmation, refusals before any request,
conflicts, an interrupted apply resumed, and no secret anywhere."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from thingspace_callbacks.cli import main
from thingspace_callbacks.sandbox import Faults

from .conftest import BROKEN, FLEET, HOOK, SECRET, Served, accounts, write_state

pytestmark = pytest.mark.integration


def cli(
    served: Served, *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> Result:
    return CliRunner().invoke(
        main,
        list(args),
        env={**served.environment(), **(env or {})},
        input=stdin,
        catch_exceptions=False,
    )


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_plan_exit_codes_follow_terraform(served: Served, tmp_path: Path) -> None:
    state = write_state(tmp_path, FLEET, accounts(3))

    pending = cli(served, "plan", str(state))
    assert pending.exit_code == 2, pending.output
    assert "to add (9):" in pending.stdout
    assert "Plan: 9 to add, 0 to change, 0 to remove, 0 unchanged, 0 unreadable." in pending.stdout
    assert "password=(sensitive)" in pending.stdout

    applied = cli(served, "apply", str(state), "--yes")
    assert applied.exit_code == 0, applied.output
    converged = cli(served, "plan", str(state))
    assert converged.exit_code == 0, converged.output
    assert "9 unchanged" in converged.stdout

    write_state(tmp_path, FLEET, [*accounts(3), BROKEN])
    unreadable = cli(served, "plan", str(state))
    assert unreadable.exit_code == 1
    assert f"? {BROKEN} location Location: BadRequestError" in unreadable.stdout


@pytest.mark.parametrize(
    "args",
    [["plan", "missing.toml"], ["plan", "STATE", "--no-such-option"], ["plan"]],
)
def test_plan_errors_exit_1_not_2(served: Served, tmp_path: Path, args: list[str]) -> None:
    state = write_state(tmp_path, FLEET.replace("firmware", "firmwar"), accounts(1))
    args = [str(state) if a == "STATE" else a for a in args]
    result = cli(served, *args)
    assert result.exit_code == 1, result.output
    assert not served.sandbox.calls


def test_a_refused_state_file_names_the_place(served: Served, tmp_path: Path) -> None:
    state = write_state(tmp_path, FLEET.replace("firmware", "firmwar"), accounts(1))
    result = cli(served, "plan", str(state))
    assert result.exit_code == 1
    assert "line 9, listener 2: unknown family 'firmwar'" in result.stderr


def test_json_out_and_results_hold_no_secret(served: Served, tmp_path: Path) -> None:
    state = write_state(tmp_path, FLEET, accounts(2))
    saved = tmp_path / "plan.json"
    planned = cli(served, "plan", str(state), "--json", "--out", str(saved))
    assert planned.exit_code == 2
    objects = [json.loads(line) for line in planned.stdout.splitlines()]
    *entries, summary = objects
    assert len(entries) == 6
    assert summary["summary"]["counts"]["add"] == 6
    carrier = next(e for e in entries if e["family"] == "connectivity")
    assert carrier["before"] is None
    assert carrier["after"]["password"].startswith("pbkdf2_sha256$")
    assert carrier["after"]["passwordFrom"] == "${HOOK_PASSWORD}"

    results = tmp_path / "results.jsonl"
    applied = cli(served, "apply", str(saved), "--results", str(results))
    assert applied.exit_code == 0, applied.output
    assert len(lines(results)) == 6
    assert all(line["outcome"] == "applied" for line in lines(results))
    for text in (planned.stdout, saved.read_text(), results.read_text(), applied.output):
        assert SECRET not in text


def test_apply_asks_and_refuses_without_a_terminal(served: Served, tmp_path: Path) -> None:
    state = write_state(tmp_path, FLEET, accounts(2))
    refused = cli(served, "apply", str(state))
    assert refused.exit_code == 2
    assert "pass --yes when stdin is not a terminal" in refused.stderr
    assert not served.sandbox.calls


@pytest.mark.parametrize(("answer", "code"), [("n\n", 1), ("y\n", 0)])
def test_apply_asks_on_a_terminal(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: str, code: int
) -> None:
    monkeypatch.setattr("thingspace_callbacks.cli.state._run._interactive", lambda: True)
    state = write_state(tmp_path, FLEET, accounts(2))
    result = cli(served, "apply", str(state), stdin=answer)
    assert "Apply 6 changes? [y/N]" in result.stdout
    assert result.exit_code == code, result.output
    assert len(served.sandbox.registrations()) == (6 if code == 0 else 0)


def test_a_saved_plan_with_another_secret_is_refused(served: Served, tmp_path: Path) -> None:
    state = write_state(tmp_path, FLEET, accounts(2))
    saved = tmp_path / "plan.json"
    assert cli(served, "plan", str(state), "--out", str(saved)).exit_code == 2
    served.sandbox.calls.clear()
    refused = cli(served, "apply", str(saved), env={"HOOK_PASSWORD": "rotated"})
    assert refused.exit_code == 2
    assert "no longer holds the password the plan was made with" in refused.stderr
    assert not served.sandbox.registrations()


def test_a_large_prune_is_refused_without_the_flag(served: Served, tmp_path: Path) -> None:
    names = accounts(2)
    state = write_state(tmp_path, FLEET, names)
    assert cli(served, "apply", str(state), "--yes").exit_code == 0
    served.sandbox.drift("location", names, "extra", service="DeviceLocation")
    # Half the fleet's location listeners: more than a quarter.
    refused = cli(served, "apply", str(state), "--yes", "--max-prune-share", "0.25")
    assert refused.exit_code == 2
    assert "location: removes 2 of the 4 listeners read (more than 25%)" in refused.stderr
    assert "--allow-large-prune" in refused.stderr
    assert len(served.sandbox.registrations("location")) == 4
    allowed = cli(
        served, "apply", str(state), "--yes", "--max-prune-share", "0.25", "--allow-large-prune"
    )
    assert allowed.exit_code == 0, allowed.output
    assert len(served.sandbox.registrations("location")) == 2


def test_a_saved_plan_keeps_its_prune_share_unless_given(served: Served, tmp_path: Path) -> None:
    names = accounts(2)
    state = write_state(tmp_path, FLEET, names)
    assert cli(served, "apply", str(state), "--yes").exit_code == 0
    served.sandbox.drift("location", names, "extra", service="DeviceLocation")
    saved = tmp_path / "plan.json"
    assert cli(served, "plan", str(state), "--out", str(saved)).exit_code == 2
    stricter = cli(served, "apply", str(saved), "--max-prune-share", "0.25")
    assert stricter.exit_code == 2
    assert "more than 25%" in stricter.stderr
    assert len(served.sandbox.registrations("location")) == 4
    assert cli(served, "apply", str(saved)).exit_code == 0  # 50%, as planned
    assert len(served.sandbox.registrations("location")) == 2


def test_a_conflict_is_reported_and_left_alone(served: Served, tmp_path: Path) -> None:
    names = accounts(2)
    state = write_state(tmp_path, FLEET, names)
    assert cli(served, "apply", str(state), "--yes").exit_code == 0
    served.sandbox.drift("firmware", names, "url")
    saved = tmp_path / "plan.json"
    assert cli(served, "plan", str(state), "--out", str(saved)).exit_code == 2
    served.sandbox.drift("firmware", [names[0]], "url", url="https://someone.example/fw")
    results = tmp_path / "results.jsonl"
    applied = cli(served, "apply", str(saved), "--results", str(results))
    assert applied.exit_code == 1
    assert "1 in conflict (left alone)" in applied.stderr
    outcomes = {line["account"]: line["outcome"] for line in lines(results)}
    assert outcomes == {names[0]: "conflict", names[1]: "applied"}
    assert served.urls("firmware")[(names[0], "")] == "https://someone.example/fw"


def test_resume_refuses_the_results_of_another_state(served: Served, tmp_path: Path) -> None:
    state = write_state(tmp_path, FLEET, accounts(2))
    results = tmp_path / "results.jsonl"
    assert cli(served, "apply", str(state), "--yes", "--results", str(results)).exit_code == 0
    again = cli(served, "apply", str(state), "--yes", "--results", str(results))
    assert again.exit_code == 2
    assert "exists: pass --resume" in again.stderr
    other = write_state(tmp_path, FLEET.replace("/firmware", "/firmware-v2"), accounts(2))
    refused = cli(served, "apply", str(other), "--yes", "--results", str(results), "--resume")
    assert refused.exit_code == 2
    assert "records an apply of another state" in refused.stderr
    assert served.urls("firmware")[(accounts(1)[0], "")] == f"{HOOK}/firmware"


def test_the_drift_admin_route(served: Served) -> None:
    root = served.base_url.removesuffix("/api")
    served.sandbox.drift("location", ["0000000001-00001"], "extra", service="Location")
    answer = httpx.post(
        f"{root}/sandbox/drift",
        json={"family": "location", "accounts": ["0000000001-00001"], "how": "url"},
    )
    assert answer.status_code == 200
    assert answer.json() == {
        "changed": [{"family": "location", "account": "0000000001-00001", "service": "Location"}]
    }
    assert served.urls("location")[("0000000001-00001", "Location")].startswith(
        "https://drift.example.com/drifted/"
    )
    refused = httpx.post(f"{root}/sandbox/drift", json={"family": "weather", "accounts": []})
    assert refused.status_code == 400


def line_count(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_an_interrupted_apply_resumed_ends_with_one_line_per_change(
    served: Served, tmp_path: Path
) -> None:
    names = accounts(300)
    state = write_state(tmp_path, FLEET, names)
    saved = tmp_path / "plan.json"
    assert cli(served, "plan", str(state), "--out", str(saved)).exit_code == 2
    served.sandbox.faults = Faults(latency=(0.002, 0.01))
    results = tmp_path / "results.jsonl"
    command = [sys.executable, "-m", "thingspace_callbacks", "apply", str(saved)]
    command += ["--results", str(results), "-c", "8"]
    env = {**os.environ, **served.environment()}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while line_count(results) < 100:
            assert time.monotonic() < deadline, "the apply never got going"
            assert process.poll() is None, process.communicate()
            time.sleep(0.01)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert "rerun with --resume" in stderr
    done = line_count(results)
    assert 100 <= done < 900

    resumed = subprocess.run(
        [*command, "--resume"], env=env, capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr
    recorded = lines(results)
    keys = [(line["account"], line["family"], line["service"]) for line in recorded]
    assert len(keys) == len(set(keys)) == 900
    assert all(line["ok"] for line in recorded)
    served.sandbox.faults = Faults()
    assert cli(served, "plan", str(state)).exit_code == 0
