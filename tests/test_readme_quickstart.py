"""The README's Quickstart runs as written, against the sandbox it builds, and does what
it says: registers a Location listener, lists it, and removes it again."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import thingspace_callbacks.sandbox
from thingspace_callbacks.sandbox import Sandbox

README = Path(__file__).resolve().parents[1] / "README.md"
ACCOUNT = "0252012345-00001"
URL = "https://hooks.example.com/location"


def _quickstart() -> str:
    section = README.read_text().split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert blocks, "the Quickstart shows a program"
    return str(blocks[0])


def test_quickstart_registers_lists_and_removes_a_listener(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    made: list[Sandbox] = []

    class Recorded(Sandbox):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(thingspace_callbacks.sandbox, "Sandbox", Recorded)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(_quickstart(), str(README), "exec"), namespace)

    (sandbox,) = made
    calls = sandbox.calls
    assert (calls["location.register"], calls["location.list"], calls["location.unregister"]) == (
        1,
        1,
        1,
    )
    assert sandbox.registrations("location") == []  # removed again, last
    assert capsys.readouterr().out.split() == ["Location", URL]
