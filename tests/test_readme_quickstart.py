"""The README's Quickstart runs as written against a sandbox holding its credentials."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from thingspace_callbacks.sandbox import Sandbox

README = Path(__file__).resolve().parents[1] / "README.md"
ACCOUNT = "0252012345-00001"


def _quickstart() -> str:
    section = README.read_text().split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert blocks, "the Quickstart shows a program"
    return str(blocks[0])


@pytest.mark.integration
def test_quickstart_registers_in_every_family(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = Sandbox(
        client_id="my-app-key",
        client_secret="my-app-secret",
        username="my-uws-user",
        password="my-password",
    )
    with sandbox.serve() as server:
        monkeypatch.setenv("THINGSPACE_BASE_URL", server.base_url)
        namespace: dict[str, Any] = {"__name__": "quickstart"}
        exec(compile(_quickstart(), str(README), "exec"), namespace)
    registered = {
        family: [r.account for r in sandbox.registrations(family)]
        for family in ("diagnostics", "firmware", "account_name", "account_number", "location")
    }
    # Everything but Location stays registered: the Quickstart deregisters it last.
    assert registered == {
        "diagnostics": [ACCOUNT],
        "firmware": [ACCOUNT],
        "account_name": [ACCOUNT],
        "account_number": [ACCOUNT],
        "location": [],
    }
    assert "https://hooks.example.com/location" in capsys.readouterr().out
