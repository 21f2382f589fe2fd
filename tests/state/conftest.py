"""Fixtures for the desired-state tests: a sandbox served on 127.0.0.1 behind a small
ASGI wrapper that fails every request naming a "broken" account (so a read fails for
that account alone), state files written to a temporary directory, and the
environment the CLI needs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from thingspace_callbacks import AsyncThingSpaceClient
from thingspace_callbacks.sandbox import (
    API_ROOT,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_PASSWORD,
    SANDBOX_USERNAME,
    Faults,
    Sandbox,
)

from .._servers import serve

BROKEN = "9999999999-00001"
"""An account every request about fails for: 400 ``ACCOUNT_LOCKED``."""

SECRET = "hook-pass-7f3a9c"
"""The listener password the state files take from ``$HOOK_PASSWORD``."""

HOOK = "https://hooks.example.com/thingspace"


@dataclass
class Served:
    sandbox: Sandbox
    base_url: str

    def client(self, **kwargs: Any) -> AsyncThingSpaceClient:
        options = {"base_url": self.base_url, **self.sandbox.client_kwargs(kwargs)}
        return AsyncThingSpaceClient(**options)

    def environment(self) -> dict[str, str]:
        return {
            "THINGSPACE_BASE_URL": self.base_url,
            "THINGSPACE_CLIENT_ID": SANDBOX_CLIENT_ID,
            "THINGSPACE_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            "THINGSPACE_USERNAME": SANDBOX_USERNAME,
            "THINGSPACE_PASSWORD": SANDBOX_PASSWORD,
            "HOOK_PASSWORD": SECRET,
        }

    def urls(self, family: str) -> dict[tuple[str, str], str]:
        """(account, service) to URL of every listener of ``family``."""
        return {(r.account, r.service): r.url for r in self.sandbox.registrations(family)}


def _failing_for_broken(app: Any) -> Any:
    async def wrapper(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and BROKEN in scope["path"] + scope["query_string"].decode():
            while (await receive()).get("more_body"):
                pass
            body = json.dumps({"errorCode": "ACCOUNT_LOCKED", "errorMessage": "locked"}).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 400,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return wrapper


@pytest.fixture(scope="module")
def _served() -> Iterator[Served]:
    sandbox = Sandbox()
    with serve(_failing_for_broken(sandbox.app)) as url:
        yield Served(sandbox, url + API_ROOT)


@pytest.fixture
def served(_served: Served) -> Served:
    _served.sandbox.reset()
    _served.sandbox.faults = Faults()
    return _served


@pytest.fixture
async def client(served: Served) -> AsyncIterator[AsyncThingSpaceClient]:
    async with served.client() as client:
        yield client


def accounts(count: int, start: int = 1) -> list[str]:
    return [f"{n:010d}-00001" for n in range(start, start + count)]


def write_state(directory: Path, text: str, names: list[str] | None = None) -> Path:
    """A state file (and its accounts.txt, when ``names`` are given)."""
    if names is not None:
        (directory / "accounts.txt").write_text("".join(f"{n}\n" for n in names))
    path = directory / "state.toml"
    path.write_text(text)
    return path


FLEET = f"""
accounts = "accounts.txt"

[[listener]]
family = "location"
service = "Location"
url = "{HOOK}/location"

[[listener]]
family = "firmware"
url = "{HOOK}/firmware"

[[listener]]
family = "connectivity"
service = "CarrierService"
url = "{HOOK}/carrier"
username = "hooks"
password = "${{HOOK_PASSWORD}}"

[prune]
location = true
"""
"""The issue's example: three families, a secret, location pruned."""
