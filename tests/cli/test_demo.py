"""``thingspace-callbacks demo``: every family against the in-process sandbox, named as
the command line names them, in a table that fits an 80-column terminal."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from thingspace_callbacks.cli.demo import LISTENER

from .conftest import invoke

FAMILIES = {
    "diagnostics",
    "location",
    "firmware",
    "firmware-v3",
    "connectivity",
    "hyper-precise",
}
URLS = [f"{LISTENER}/{path}" for path in ("diagnostics", "location", "fota", "fota-v3", "hpl")]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_demo_runs_every_family_against_the_sandbox() -> None:
    result = invoke(["demo"], env={"COLUMNS": None})

    assert result.exit_code == 0
    rows = [line.split("│")[1].strip() for line in result.stdout.splitlines() if "│" in line]
    assert set(rows) == FAMILIES
    assert "21 calls, 0 failed" in result.stdout
    assert "listener-password" not in result.stdout


def test_demo_json() -> None:
    result = invoke(["demo", "--json"])

    report = json.loads(result.stdout)
    assert len(report["steps"]) == 21
    assert all(step["ok"] for step in report["steps"])
    assert {step["family"] for step in report["steps"]} == FAMILIES
    assert report["steps"][0]["call"] == "client.diagnostics.register"
    assert report["steps"][10]["call"] == "client.firmware_v3.register"
    # Counters, not secrets: one of them is named "token".
    assert report["sandboxCalls"]["token"] == 1
    assert report["sandboxCalls"]["login"] == 1
    assert report["steps"][-1]["result"] == "0 listeners"


def _fits(text: str, width: int, *, table_only: bool = False) -> None:
    lines = ANSI.sub("", text).replace("\r", "").splitlines()
    if table_only:
        lines = [line for line in lines if line.strip()[:1] in set("┏┃┡│└")]
    assert lines
    too_wide = [line for line in lines if len(line.rstrip()) > width]
    assert not too_wide, too_wide
    for url in URLS:  # never cut: each URL whole on one line
        assert any(url in line for line in lines), url


def test_demo_table_fits_80_columns() -> None:
    # Not a terminal: tables take $COLUMNS, plain lines stay whole (they may be logged).
    result = invoke(["demo"], env={"COLUMNS": "80"})

    assert result.exit_code == 0
    _fits(result.stdout, 80, table_only=True)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_demo_fits_an_80_column_terminal(tmp_path: Path) -> None:
    import fcntl
    import pty
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 80, 0, 0))
    env = {**os.environ, "COLUMNS": "80", "LINES": "50", "TERM": "xterm"}
    with subprocess.Popen(
        [sys.executable, "-m", "thingspace_callbacks", "demo"],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env=env,
    ) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=30) == 0
    os.close(leader)

    _fits(b"".join(chunks).decode(), 80)
