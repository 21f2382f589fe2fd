"""``thingspace-callbacks listen``: option handling, and a real run in a subprocess."""

from __future__ import annotations

import json
import logging.config
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import click
import httpx
import pytest
import uvicorn
from click.testing import CliRunner

from thingspace_callbacks._redact import MASK
from thingspace_callbacks.cli.listen import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_LIMIT_CONCURRENCY,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HEADER_SIZE,
    DEFAULT_SHUTDOWN_TIMEOUT,
    DEFAULT_TIMEOUT_KEEP_ALIVE,
    build_receiver,
    listen,
    load_object,
    message_line,
    server_config,
)
from thingspace_callbacks.receiver import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HANDLER_TIMEOUT,
    AnyOf,
    BodyCredentials,
    HmacSignature,
    InboundRequest,
    Receiver,
    SourceAllowList,
    parse_message,
    sign_body,
)
from thingspace_callbacks.receiver._uvicorn import GuardedH11Protocol

from . import _messages as msg


@pytest.fixture
def handler_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"listen_handlers_{os.getpid()}_{id(tmp_path)}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            from thingspace_callbacks.receiver import Receiver

            seen = []

            async def handle(message):
                seen.append(message)

            def not_async(message):
                pass

            receiver = Receiver(verify=[])
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    return name


async def test_handler_option_loads_an_async_function(handler_module: str) -> None:
    receiver = build_receiver(
        handler=f"{handler_module}:handle", username=msg.USERNAME, password=msg.PASSWORD
    )
    outcome = await receiver.process(
        InboundRequest(body=msg.encode(msg.m2m()), path="/CarrierService")
    )
    assert outcome.status_code == 200
    seen = load_object(f"{handler_module}:seen")
    assert isinstance(seen, list)
    assert [m.service for m in seen] == ["CarrierService"]


def test_handler_option_may_name_a_receiver(handler_module: str) -> None:
    loaded = build_receiver(handler=f"{handler_module}:receiver")
    assert isinstance(loaded, Receiver)
    with pytest.raises(click.UsageError, match="own verification"):
        build_receiver(handler=f"{handler_module}:receiver", username="u", password="p")


@pytest.mark.parametrize(
    ("reference", "error"),
    [
        ("no_colon", "MODULE:NAME"),
        ("module_that_does_not_exist_xyz:handle", "cannot import"),
        ("{module}:missing", "no attribute"),
        ("{module}:not_async", "async"),
    ],
)
def test_bad_handler_references_are_usage_errors(
    handler_module: str, reference: str, error: str
) -> None:
    with pytest.raises(click.BadParameter, match=error):
        build_receiver(handler=reference.format(module=handler_module))


def test_verification_options_build_the_verifiers() -> None:
    both = build_receiver(username="u", password="p", shared_secret="s")
    assert [type(v) for v in both.verifiers] == [AnyOf]
    only_secret = build_receiver(shared_secret="s", signature_header="X-Sig")
    [signature] = only_secret.verifiers
    assert isinstance(signature, HmacSignature)
    assert signature.header == "X-Sig"
    fenced = build_receiver(username="u", password="p", allow_thingspace_ips=True)
    assert [type(v) for v in fenced.verifiers] == [SourceAllowList, BodyCredentials]
    assert build_receiver().verifiers == ()
    with pytest.raises(click.UsageError, match="go together"):
        build_receiver(username="u")
    with pytest.raises(click.BadParameter, match="not an IP"):
        build_receiver(allow_ips=["nonsense"])


def test_message_line_masks_credentials() -> None:
    message = parse_message(msg.m2m(extra={"token": "tok-1"}), service="CarrierService")
    line = json.loads(message_line(message))
    assert line["service"] == "CarrierService"
    assert line["kind"] == "ConnectivityMessage"
    assert line["message"]["requestId"] == msg.m2m()["requestId"]
    assert msg.PASSWORD not in message_line(message)
    assert "tok-1" not in message_line(message)


def test_listen_is_a_subcommand_of_the_cli() -> None:
    from thingspace_callbacks.cli import main

    result = CliRunner().invoke(main, ["listen", "--help"])
    assert result.exit_code == 0, result.output
    for option in (
        "--port",
        "--handler",
        "--shared-secret",
        "--callback-password",
        "--body-timeout",
        "--handler-timeout",
        "--header-timeout",
        "--timeout-keep-alive",
        "--limit-concurrency",
        "--max-connections",
        "--max-header-size",
        "--shutdown-timeout",
    ):
        assert option in result.output
    bad = CliRunner().invoke(listen, ["--callback-username", "u"])
    assert bad.exit_code == 2
    assert "go together" in bad.output


def _limits(config: uvicorn.Config) -> tuple[object, ...]:
    """What a served configuration bounds: body, handler, keep-alive, header time,
    requests, connections, header size, shutdown."""
    receiver = config.app
    assert isinstance(receiver, Receiver)
    protocol = config.http
    assert isinstance(protocol, type)
    assert issubclass(protocol, GuardedH11Protocol)
    # uvicorn's own limit counts idle connections; the protocol counts requests.
    assert config.limit_concurrency is None
    return (
        receiver.body_timeout,
        receiver.handler_timeout,
        config.timeout_keep_alive,
        protocol.header_timeout,
        protocol.max_requests,
        protocol.max_connections,
        config.h11_max_incomplete_event_size,
        config.timeout_graceful_shutdown,
    )


DEFAULT_LIMITS = (10.0, 20.0, 5, 5.0, 256, 2048, 8192, 10)

OPTIONS = [
    "--body-timeout", "0.5",
    "--handler-timeout", "1.5",
    "--timeout-keep-alive", "2",
    "--header-timeout", "2.5",
    "--limit-concurrency", "10",
    "--max-connections", "100",
    "--max-header-size", "4096",
    "--shutdown-timeout", "3",
]  # fmt: skip


def test_server_config_bounds_connections_by_default() -> None:
    receiver = build_receiver()
    assert receiver.body_timeout == DEFAULT_BODY_TIMEOUT == 10
    assert receiver.handler_timeout == DEFAULT_HANDLER_TIMEOUT == 20
    config = server_config(receiver, configure_logging=False)
    # One protocol class per configuration: each server keeps its own connections.
    assert server_config(receiver, configure_logging=False).http is not config.http
    assert config.app is receiver
    defaults = (
        DEFAULT_TIMEOUT_KEEP_ALIVE,
        DEFAULT_HEADER_TIMEOUT,
        DEFAULT_LIMIT_CONCURRENCY,
        DEFAULT_MAX_CONNECTIONS,
        DEFAULT_MAX_HEADER_SIZE,
        DEFAULT_SHUTDOWN_TIMEOUT,
    )
    assert defaults == (5, 5.0, 256, 2048, 8192, 10)
    assert _limits(config) == DEFAULT_LIMITS
    assert config.proxy_headers is False
    assert build_receiver(body_timeout=0.5).body_timeout == 0.5
    assert build_receiver(handler_timeout=0.5).handler_timeout == 0.5


class _RecordingServer:
    configs: ClassVar[list[uvicorn.Config]] = []

    def __init__(self, config: uvicorn.Config) -> None:
        self.configs.append(config)

    def run(self) -> None:
        pass


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ([], DEFAULT_LIMITS),
        (
            OPTIONS,
            (0.5, 1.5, 2, 2.5, 10, 100, 4096, 3),
        ),
    ],
    ids=["defaults", "options"],
)
def test_listen_applies_its_limits_to_the_server_it_runs(
    monkeypatch: pytest.MonkeyPatch,
    arguments: list[str],
    expected: tuple[object, ...],
) -> None:
    monkeypatch.setattr(uvicorn, "Server", _RecordingServer)
    monkeypatch.setattr(_RecordingServer, "configs", [])
    # Leave the test process's logging alone; what listen asks for is still recorded.
    logging_configs: list[object] = []
    monkeypatch.setattr(logging.config, "dictConfig", logging_configs.append)

    result = CliRunner().invoke(listen, ["--port", "0", *arguments])

    assert result.exit_code == 0, result.output
    [config] = _RecordingServer.configs
    assert _limits(config) == expected
    assert logging_configs  # uvicorn's logging, sent to stderr


@pytest.mark.parametrize(
    "arguments",
    [
        ["--body-timeout", "0"],
        ["--handler-timeout", "0"],
        ["--header-timeout", "0"],
        ["--timeout-keep-alive", "0"],
        ["--limit-concurrency", "0"],
        ["--max-connections", "0"],
        ["--max-header-size", "100"],
        ["--shutdown-timeout", "0"],
    ],
)
def test_listen_refuses_limits_that_would_not_bound(arguments: list[str]) -> None:
    result = CliRunner().invoke(listen, arguments)
    assert result.exit_code == 2


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def listening() -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = _free_port()
    env = {
        **os.environ,
        "THINGSPACE_CALLBACK_USERNAME": msg.USERNAME,
        "THINGSPACE_CALLBACK_PASSWORD": msg.PASSWORD,
        "THINGSPACE_SHARED_SECRET": msg.SHARED_SECRET,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "thingspace_callbacks.cli.listen", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read() if process.stderr else "exited")
            try:
                httpx.get(base_url, timeout=0.5)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base_url, process
    finally:
        process.terminate()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()


@pytest.mark.integration
def test_listen_prints_each_message_as_a_json_line(
    listening: tuple[str, subprocess.Popen[str]],
) -> None:
    base_url, process = listening
    location = msg.encode(msg.location())
    with httpx.Client(base_url=base_url) as thingspace:
        m2m = thingspace.post("/CarrierService", json=msg.m2m())
        signed = thingspace.post(
            "/callbacks/DeviceLocation",
            content=location,
            headers={"X-ThingSpace-Signature": sign_body(location, msg.SHARED_SECRET)},
        )
        refused = thingspace.post("/CarrierService", json=msg.m2m(password="wrong"))
    assert (m2m.status_code, signed.status_code, refused.status_code) == (200, 200, 401)

    assert process.stdout is not None
    lines = [json.loads(process.stdout.readline()) for _ in range(2)]
    assert [(line["service"], line["kind"]) for line in lines] == [
        ("CarrierService", "ConnectivityMessage"),
        ("DeviceLocation", "LocationMessage"),
    ]
    assert lines[0]["message"]["password"] == MASK
    process.terminate()
    process.wait(timeout=10)
    assert process.stderr is not None
    assert msg.PASSWORD not in process.stderr.read()
