"""The "Receiving notifications" guide's first examples run as written: the listener
program and its Starlette mount receive, and refuse, as the guide says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from . import _messages as msg

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "receiving-notifications.md"


def _section_code() -> str:
    """The guide's blocks up to its Starlette mount: the receiver, then the mount."""
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)
    mounts = [i for i, block in enumerate(blocks) if "Mount(" in block]
    assert mounts, "the guide shows a receiver and a Starlette mount"
    return "\n".join(blocks[: mounts[0] + 1])


async def test_guide_receiver_mounted_in_starlette_receives() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(_section_code(), str(GUIDE), "exec"), namespace)
    app = namespace["app"]
    body = msg.m2m(username="listener-user", password="listener-password")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://listener") as http:
        accepted = await http.post("/thingspace/CarrierService", json=body)
        refused = await http.post("/thingspace/CarrierService", json=msg.m2m())
        unsigned = await http.post("/thingspace/location", json=msg.location())
    assert (accepted.status_code, refused.status_code, unsigned.status_code) == (200, 401, 401)
