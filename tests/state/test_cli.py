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

import anyio
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
    names = accounts(200)
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
    assert 100 <= done < 600

    resumed = subprocess.run(
        [*command, "--resume"], env=env, capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stderr
    recorded = lines(results)
    keys = [(line["account"], line["family"], line["service"]) for line in recorded]
    assert len(keys) == len(set(keys)) == 600
    assert all(line["ok"] for line in recorded)
    served.sandbox.faults = Faults()
    assert cli(served, "plan", str(state)).exit_code == 0


TOKEN = "tok-9c1e77d2"
"""The header secret the diagnostics state takes from ``$HOOK_TOKEN``."""

DIAGNOSTICS = f"""
accounts = "accounts.txt"

[[listener]]
family = "diagnostics"
service = "Diagnostics"
url = "{HOOK}/diagnostics"
http_headers = {{ Authorization = "Bearer ${{HOOK_TOKEN}}", X-Tenant = "fleet-1" }}

[[listener]]
family = "connectivity"
service = "CarrierService"
url = "{HOOK}/carrier"
username = "hooks"
password = "${{HOOK_PASSWORD}}"
"""


def test_a_header_secret_is_in_no_output(served: Served, tmp_path: Path) -> None:
    names = accounts(2)
    state = write_state(tmp_path, DIAGNOSTICS, names)
    env = {"HOOK_TOKEN": TOKEN}
    seen: list[str] = []

    text = cli(served, "plan", str(state), env=env)
    assert text.exit_code == 2, text.output
    assert '"Authorization":"(sensitive)","X-Tenant":"fleet-1"' in text.stdout
    saved = tmp_path / "plan.json"
    planned = cli(served, "plan", str(state), "--json", "--out", str(saved), env=env)
    assert planned.exit_code == 2, planned.output
    entry = next(json.loads(line) for line in planned.stdout.splitlines() if "diagnostics" in line)
    assert entry["after"]["httpHeaders"]["Authorization"].startswith("pbkdf2_sha256$")
    assert entry["after"]["httpHeadersFrom"] == {"Authorization": "Bearer ${HOOK_TOKEN}"}
    results = tmp_path / "results.jsonl"
    applied = cli(served, "apply", str(saved), "--results", str(results), env=env)
    assert applied.exit_code == 0, applied.output
    (registered,) = served.sandbox.registrations("diagnostics", names[0])
    assert registered.http_headers == {"Authorization": f"Bearer {TOKEN}", "X-Tenant": "fleet-1"}
    converged = cli(served, "plan", str(state), env=env)  # the read-back header matches
    assert converged.exit_code == 0, converged.output
    seen += [text.output, planned.output, saved.read_text(), applied.output, results.read_text()]

    # Someone else's token on one account: a change, shown without either value.
    async def register(account: str, token: str, url: str = f"{HOOK}/diagnostics") -> None:
        async with served.client() as client:
            await client.diagnostics.register(
                account,
                service="Diagnostics",
                url=url,
                http_headers={"Authorization": f"Bearer {token}", "X-Tenant": "fleet-1"},
            )

    anyio.run(register, names[0], "someone-elses-1")
    drifted = cli(served, "plan", str(state), "--out", str(saved), env=env)
    assert drifted.exit_code == 2
    assert f"{names[0]} diagnostics Diagnostics: http_headers (sensitive) change" in drifted.stdout
    # ... and moved again before the apply: a conflict, and what was found is masked.
    # (From one token not the state's to another alone would read the same: see the guide.)
    anyio.run(register, names[0], "someone-elses-2", f"{HOOK}/elsewhere")
    again = tmp_path / "again.jsonl"
    conflicted = cli(served, "apply", str(saved), "--results", str(again), env=env)
    assert conflicted.exit_code == 1
    (line,) = lines(again)
    assert line["outcome"] == "conflict"
    assert line["found"]["httpHeaders"]["Authorization"] == "(sensitive)"
    seen += [drifted.output, saved.read_text(), conflicted.output, again.read_text()]
    for output in seen:
        for secret in (TOKEN, "someone-elses", SECRET):
            assert secret not in output


def test_apply_keeps_stdout_json(served: Served, tmp_path: Path) -> None:
    names = accounts(2)
    state = write_state(tmp_path, FLEET, names)
    streamed = cli(served, "apply", str(state), "--yes", "--results", "-")
    assert streamed.exit_code == 0, streamed.output
    *results, summary = [json.loads(line) for line in streamed.stdout.splitlines()]
    assert [r["outcome"] for r in results] == ["applied"] * 6
    assert summary["summary"]["applied"] == 6
    assert "Plan: 6 to add" in streamed.stderr  # the plan, beside the progress

    served.sandbox.drift("firmware", names[:1], "url")
    as_json = cli(served, "--json", "apply", str(state), "--yes")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["applied"] == 1
    assert "Plan: 0 to add, 1 to change" in as_json.stderr

    for args in (["--json", "apply", str(state)], ["apply", str(state), "--results", "-"]):
        args.append("--yes")
        nothing = cli(served, *args)
        assert nothing.exit_code == 0, nothing.output
        shown = json.loads(nothing.stdout)
        assert shown.get("summary", shown)["applied"] == 0
        assert "Plan: 0 to add, 0 to change, 0 to remove, 6 unchanged" in nothing.stderr


@pytest.mark.parametrize(
    ("setup", "args", "refusal"),
    [
        ("prune", ["--max-prune-share", "0.25"], "removes 2 of the 4 listeners read"),
        ("passwords", ["--queue", "redis://127.0.0.1:9/0"], "2 different listener passwords"),
    ],
)
def test_apply_refuses_before_asking(
    served: Served,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    setup: str,
    args: list[str],
    refusal: str,
) -> None:
    monkeypatch.setattr("thingspace_callbacks.cli.state._run._interactive", lambda: True)
    names = accounts(2)
    state = write_state(tmp_path, FLEET, names)
    if setup == "prune":
        assert cli(served, "apply", str(state), "--yes").exit_code == 0
        served.sandbox.drift("location", names, "extra", service="DeviceLocation")
    else:
        write_state(
            tmp_path,
            FLEET + f'\n[[listener]]\nfamily = "connectivity"\nservice = "DeviceUsage"\n'
            f'url = "{HOOK}/usage"\nusername = "hooks"\npassword = "${{USAGE_PASSWORD}}"\n',
            names,
        )
    before = len(served.sandbox.registrations())
    refused = cli(served, "apply", str(state), *args, stdin="y\n", env={"USAGE_PASSWORD": "u-1"})
    assert refused.exit_code == 2, refused.output
    assert "changes? [y/N]" not in refused.stdout + refused.stderr  # never asked
    assert refusal in refused.stderr
    if setup == "passwords":
        # Each listener is named, with where its password comes from.
        assert "connectivity CarrierService of 0000000001-00001 and 1 more" in refused.stderr
        assert "(password ${USAGE_PASSWORD})" in refused.stderr
        assert "u-1" not in refused.output
    assert len(served.sandbox.registrations()) == before
