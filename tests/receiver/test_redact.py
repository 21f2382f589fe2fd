"""The SDK's one redactor, used by the CLI's output, ``listen``'s JSON lines and the
receiver's message reprs alike."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import click
import pytest

import thingspace_callbacks._redact as redactor
import thingspace_callbacks.receiver as receiver_package
from thingspace_callbacks._redact import MASK, is_sensitive_key, redact, redact_url
from thingspace_callbacks.cli._common import Settings, output
from thingspace_callbacks.cli.listen import message_line
from thingspace_callbacks.receiver import parse_message

from . import _messages as msg


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "Password",
        "callbackPassword",
        "passwd",
        "pwd",
        "sharedSecret",
        "client_secret",
        "clientSecret",
        "SECRET",
        "token",
        "accessToken",
        "access_token",
        "sessionToken",
        "VZ-M2M-Token",
        "Authorization",
        "proxy-authorization",
        "signature",
        "X-ThingSpace-Signature",
        "key",
        "apiKey",
        "api_key",
        "X-Api-Key",
        "privateKey",
        "accessKeyId",
        "basicAuth",
        "auth",
        "credentials",
        "Cookie",
        "set-cookie",
        "passphrase",
    ],
)
def test_credential_like_keys_are_sensitive(key: str) -> None:
    assert is_sensitive_key(key)


@pytest.mark.parametrize(
    "key",
    ["username", "status", "requestId", "deviceIds", "url", "monkey", "author", "keyboard", 3],
)
def test_other_keys_are_not(key: object) -> None:
    assert not is_sensitive_key(key)


def test_redact_masks_at_any_depth_and_keeps_the_rest() -> None:
    data: dict[str, Any] = {
        "username": "listener",
        "password": "p",
        "nested": [{"token": "t", "count": 2, "ok": True}, ("x", {"apiKey": "k"})],
        "empty": {"password": "", "secret": None},
        "sharedSecret": {"even": "a whole object"},
    }
    assert redact(data) == {
        "username": "listener",
        "password": MASK,
        "nested": [{"token": MASK, "count": 2, "ok": True}, ["x", {"apiKey": MASK}]],
        # Nothing to hide, and it shows that no credential is set.
        "empty": {"password": "", "secret": None},
        "sharedSecret": MASK,
    }
    assert data["password"] == "p"  # a copy: the input is untouched
    assert MASK == "********"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:pass@host/", "https://***@host/"),
        ("https://user:pass@host:9001/cb?x=1#f", "https://***@host:9001/cb?x=1#f"),
        ("https://token@host/", "https://***@host/"),
        ("https://user:p@ss@host/cb", "https://***@host/cb"),  # the last "@" ends userinfo
        ("HTTP://u:p@[::1]:80/", "HTTP://***@[::1]:80/"),
        ("https://host/users/@me", "https://host/users/@me"),  # "@" in the path
        ("https://host/?mail=a@b.example", "https://host/?mail=a@b.example"),
        ("https://host/#a@b", "https://host/#a@b"),
        ("https://host/", "https://host/"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
        ("no url here", "no url here"),
        (
            "listener https://a:1@one/ and http://b:2@two/ refused",
            "listener https://***@one/ and http://***@two/ refused",
        ),
    ],
)
def test_redact_url_hides_userinfo(url: str, expected: str) -> None:
    assert redact_url(url) == expected
    assert redact({"url": url}) == {"url": expected}
    assert redact([url]) == [expected]


def test_cli_and_receiver_use_the_same_redactor(capsys: pytest.CaptureFixture[str]) -> None:
    data = {
        "name": "CarrierService",
        "url": "https://user:pw@listener.example/cb",
        "password": "pw",
        "sharedSecret": "s",
        "accessToken": "t",
        "items": [{"X-Api-Key": "k", "username": "u"}],
    }
    with click.Context(click.Command("show"), obj=Settings(json=True)):
        output(data)
    shown = capsys.readouterr().out
    assert json.loads(shown) == redact(data)
    assert receiver_package.redact is redact
    assert receiver_package.redact_url is redact_url
    assert "pw" not in shown


def test_listen_lines_and_message_reprs_are_redacted() -> None:
    message = parse_message(
        msg.m2m(
            callbackUrl="https://user:url-password@listener.example/cb",
            extra={"apiKey": "key-123", "VZ-M2M-Token": "tok-456"},
        ),
        service="CarrierService",
    )
    line = message_line(message)
    for text in (line, repr(message), str(message)):
        for secret in (msg.PASSWORD, "url-password", "key-123", "tok-456"):
            assert secret not in text
    assert json.loads(line)["message"]["callbackUrl"] == "https://***@listener.example/cb"
    assert json.loads(line)["message"]["password"] == MASK


def test_the_redactor_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(redactor.__file__).read_text())
    # What type checkers alone import (`if TYPE_CHECKING:`) is not imported at run time.
    type_checking = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    ]
    for node in type_checking:
        node.body = []
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported <= {"__future__", "re", "collections.abc", "typing"}
