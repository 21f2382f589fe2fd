"""The README's "Receiving notifications" examples run as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from . import _messages as msg

README = Path(__file__).resolve().parents[2] / "README.md"


def _section_code() -> str:
    text = README.read_text()
    section = text.split("## Receiving notifications", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) >= 2, "the section shows a receiver and a Starlette mount"
    return "\n".join(blocks)


async def test_readme_receiver_mounted_in_starlette_receives() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(_section_code(), str(README), "exec"), namespace)
    app = namespace["app"]
    body = msg.m2m(username="listener-user", password="listener-password")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://listener") as http:
        accepted = await http.post("/thingspace/CarrierService", json=body)
        refused = await http.post("/thingspace/CarrierService", json=msg.m2m())
        unsigned = await http.post("/thingspace/location", json=msg.location())
    assert (accepted.status_code, refused.status_code, unsigned.status_code) == (200, 401, 401)
