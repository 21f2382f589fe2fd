"""Body limits in process: the JSON depth scan, and the size limit in front of an
endless ASGI body stream."""

from __future__ import annotations

import json
import time
from collections.abc import MutableMapping
from typing import Any

import pytest

from thingspace_callbacks.sandbox import Sandbox
from thingspace_callbacks.sandbox._body import MAX_JSON_DEPTH, nested_too_deep

PATH = "/api/loc/v1/callbacks/0000123456-00001"


def scope(headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers or [(b"content-type", b"application/json")],
        "server": ("127.0.0.1", 8080),
        "client": ("127.0.0.1", 50000),
    }


class EndlessUpload:
    """An ASGI ``receive`` whose body never ends; counts how often it was read."""

    def __init__(self, chunk: bytes) -> None:
        self.chunk = chunk
        self.reads = 0

    async def __call__(self) -> dict[str, Any]:
        self.reads += 1
        return {"type": "http.request", "body": self.chunk, "more_body": True}


class Answer:
    def __init__(self) -> None:
        self.messages: list[MutableMapping[str, Any]] = []

    async def __call__(self, message: MutableMapping[str, Any]) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    def json(self) -> Any:
        return json.loads(b"".join(m.get("body", b"") for m in self.messages[1:]))


async def test_an_endless_body_is_read_only_up_to_the_limit() -> None:
    sandbox = Sandbox(require_auth=False, max_body_size=10_000)
    upload, answer = EndlessUpload(b" " * 1000), Answer()

    await sandbox.app(scope(), upload, answer)

    assert upload.reads == 11  # the read that went past 10,000 bytes was the last
    assert answer.status == 413
    assert answer.json() == {
        "errorCode": "REQUEST_TOO_LARGE",
        "errorMessage": "Request body is larger than 10000 bytes",
    }


async def test_a_declared_oversized_body_is_not_read_at_all() -> None:
    sandbox = Sandbox(require_auth=False, max_body_size=10_000)
    upload, answer = EndlessUpload(b" " * 1000), Answer()

    await sandbox.app(scope([(b"content-length", b"10001")]), upload, answer)

    assert upload.reads == 0
    assert answer.status == 413


async def test_admin_routes_have_the_same_limit() -> None:
    sandbox = Sandbox(max_body_size=10_000)
    upload, answer = EndlessUpload(b" " * 1000), Answer()

    await sandbox.app({**scope(), "method": "PUT", "path": "/sandbox/faults"}, upload, answer)

    assert answer.status == 413


@pytest.mark.parametrize(
    ("text", "too_deep"),
    [
        ("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH, False),
        ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), True),
        ('{"a":' * (MAX_JSON_DEPTH + 1), True),
        ('["' + "[" * 1000 + '"]', False),
        ('["\\"' + "[" * 1000 + '"]', False),  # an escaped quote does not end the string
        ('["\\\\", ' + "[" * 1000, True),  # an escaped backslash does not escape the quote
        ('"' + "[" * 1000, False),  # unterminated: left to json.loads to refuse
        ("", False),
    ],
)
def test_depth_scan(text: str, too_deep: bool) -> None:
    assert nested_too_deep(text) is too_deep


@pytest.mark.timeout(5)
@pytest.mark.parametrize(
    "text",
    ['"' + '\\"' * 500_000, '"\\' * 500_000, "[]" * 500_000, "[" * 1_000_000],
    ids=["escaped-quotes", "open-strings", "flat-arrays", "deep"],
)
def test_depth_scan_is_one_pass_on_hostile_text(text: str) -> None:
    started = time.perf_counter()
    nested_too_deep(text)

    assert time.perf_counter() - started < 1.0
