"""``bulk`` and an account no request may name (``0252012345/00001``, whitespace): that
account fails on its own results line, with the SDK's message and nothing sent, and the
other accounts of the file are done (a file of thousands does not stop at one)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import respx
from click.testing import CliRunner

from thingspace_callbacks.cli import main

from ..conftest import BASE_URL

GOOD = ["0252012345-00001", "0252012345-00002"]
BAD = {
    "0252012345/00001": "'account' must not contain '/': '0252012345/00001' is not a "
    "ThingSpace account (account names look like '0252012345-00001')",
    "not an account!": "'account' must not contain whitespace: 'not an account!' is not a "
    "ThingSpace account (account names look like '0252012345-00001')",
}
ENV = {
    "THINGSPACE_BASE_URL": BASE_URL,
    "THINGSPACE_ACCESS_TOKEN": "test-access",
    "THINGSPACE_M2M_TOKEN": "test-m2m",
}


def test_a_malformed_account_fails_alone_and_is_never_sent(
    tmp_path: Path, mock_api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # httpx's own transport, which respx sees (the CLI would take aiohttp's).
    monkeypatch.setattr("thingspace_callbacks._transport.fast_transport_available", lambda: False)
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("".join(f"{account}\n" for account in [GOOD[0], *BAD, GOOD[1]]))
    results = tmp_path / "run.jsonl"
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.raw_path.decode())
        account = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json={"accountName": account, "serviceName": "Location"})

    mock_api.route().mock(side_effect=answer)
    hook = "https://listener.example.com/hooks"
    args = ["register", "location", str(accounts), "--service", "Location", "--url", hook]
    result = CliRunner().invoke(
        main, ["bulk", *args, "--results", str(results)], env=ENV, catch_exceptions=False
    )

    assert result.exit_code == 1, result.output
    assert sorted(sent) == [f"/api/loc/v1/callbacks/{account}" for account in GOOD]
    lines = {line["account"]: line for line in map(json.loads, results.read_text().splitlines())}
    assert sorted(lines) == sorted([*GOOD, *BAD])
    assert all(lines[account]["ok"] for account in GOOD)
    for account, message in BAD.items():
        assert lines[account]["ok"] is False
        assert lines[account]["attempts"] == 0
        assert lines[account]["error"] == {"type": "InvalidArgumentError", "message": message}
        assert f"failed {account}: {message}" in result.stderr
    assert "2 of 4 accounts failed" in result.stderr
