"""``worker --token-key`` (``$THINGSPACE_TOKEN_KEY``): with it, no token the workers
share is readable anywhere in Redis; without it, one warning says so. A key that is not
a Fernet key is refused before anything is sent, and never shown. A change of key
makes the fleet obtain new tokens, once for all."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from starlette.types import ASGIApp, Receive, Scope, Send

from thingspace_callbacks import ThingSpaceAuth
from thingspace_callbacks.cli import main
from thingspace_callbacks.redis import RedisTokenStore
from thingspace_callbacks.sandbox import API_ROOT, Sandbox

from .._servers import serve
from ._fleet import CREDENTIALS
from ._queue_support import (
    BulkProcess,
    WorkerProcess,
    accounts_file,
    environment,
    everything_in,
    one_ok_line_per_account,
    register_args,
)
from .conftest import RedisServer

pytestmark = pytest.mark.integration

WARNING = "tokens are stored unencrypted"


class SentCredentials:
    """ASGI middleware keeping every bearer token and session token a client sent."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._lock = threading.Lock()
        self.values: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            scheme, _, bearer = headers.get(b"authorization", b"").partition(b" ")
            bearer = bearer if scheme == b"Bearer" else b""  # not the token request's Basic
            session = headers.get(b"vz-m2m-token", b"")
            with self._lock:
                self.values.update(v.decode() for v in (bearer, session) if v)
        await self._app(scope, receive, send)


class Served:
    def __init__(self) -> None:
        self.sandbox = Sandbox(
            client_id=CREDENTIALS["client_id"],
            client_secret=CREDENTIALS["client_secret"],
            username=CREDENTIALS["username"],
            password=CREDENTIALS["password"],
        )
        self.sent = SentCredentials(self.sandbox.app)
        self.base_url = ""


@pytest.fixture
def served() -> Iterator[Served]:
    served = Served()
    with serve(served.sent) as url:
        served.base_url = url + API_ROOT
        yield served


def _run(tmp_path: Path, redis_server: RedisServer, served: Served, **extra: str) -> str:
    """A worker (with ``extra`` variables) does a bulk run of three accounts; its
    stderr."""
    accounts, names = accounts_file(tmp_path, 3)
    results = tmp_path / "run.jsonl"
    worker = WorkerProcess(
        tmp_path / "worker.log",
        environment(served.base_url, **extra),
        "--queue",
        redis_server.url,
    )
    try:
        worker.wait_ready()
        code, summary, stderr = BulkProcess(
            environment(served.base_url), *register_args(accounts, results, redis_server.url)
        ).finish()
        assert (code, summary["succeeded"]) == (0, 3), stderr
        one_ok_line_per_account(results, names)
    finally:
        assert worker.stop() == 0, worker.log
    return worker.log


def _tokens_in_redis(url: str, tokens: set[str]) -> set[str]:
    everything = b"\n".join(everything_in(url))
    return {token for token in tokens if token.encode() in everything}


@pytest.mark.timeout(90)
def test_with_the_key_no_token_is_readable_anywhere_in_redis(
    tmp_path: Path, redis_server: RedisServer, served: Served
) -> None:
    key = Fernet.generate_key().decode()
    log = _run(tmp_path, redis_server, served, THINGSPACE_TOKEN_KEY=key)

    assert len(served.sent.values) == 2, "a bearer token and a session token were used"
    keys = everything_in(redis_server.url)
    assert any(b"thingspace:token:" in name for name in keys), "the tokens were shared"
    assert any(name.startswith(b"arq:") for name in keys), "jobs and results are scanned"
    assert _tokens_in_redis(redis_server.url, served.sent.values) == set()
    assert key.encode() not in b"\n".join(keys)
    assert WARNING not in log
    assert "tokens in Redis are encrypted" in log
    assert key not in log


@pytest.mark.timeout(90)
def test_without_the_key_the_worker_warns_once(
    tmp_path: Path, redis_server: RedisServer, served: Served
) -> None:
    log = _run(tmp_path, redis_server, served)

    # What the scan above would have found: the tokens, in the clear.
    assert _tokens_in_redis(redis_server.url, served.sent.values) == served.sent.values
    assert len(served.sent.values) == 2
    assert log.count(WARNING) == 1, log
    assert "--token-key or $THINGSPACE_TOKEN_KEY" in log
    assert "thingspace-callbacks worker --new-token-key" in log


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        (["--token-key", "secret-Qx9-not-a-key"], {}, "--token-key"),
        ([], {"THINGSPACE_TOKEN_KEY": "secret-Qx9-not-a-key"}, "$THINGSPACE_TOKEN_KEY"),
        # Right length, wrong alphabet.
        (["--token-key", "secret-Qx9-not-a-key!" + "x" * 23], {}, "--token-key"),
    ],
)
def test_a_bad_key_is_refused_before_anything_and_not_shown(
    args: list[str], env: dict[str, str], named: str
) -> None:
    # Nothing listens on port 1: a worker that got as far as Redis would say so.
    command = ["worker", "--queue", "redis://127.0.0.1:1/0", *args]
    result = CliRunner().invoke(main, command, env={"THINGSPACE_TOKEN_KEY": None, **env})
    assert result.exit_code == 2
    assert f"Invalid value for {named}: not a Fernet key" in result.stderr
    assert "--new-token-key" in result.stderr
    assert "secret-Qx9" not in result.output + result.stderr
    assert "Redis" not in result.stderr


def test_new_token_key_prints_a_key_the_worker_takes() -> None:
    made = CliRunner().invoke(main, ["worker", "--new-token-key"])
    assert made.exit_code == 0, made.stderr
    key = made.stdout.strip()
    Fernet(key)
    again = CliRunner().invoke(main, ["worker", "--new-token-key"])
    assert again.stdout.strip() != key


def test_without_cryptography_the_key_is_a_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "cryptography.fernet", None)
    key = Fernet.generate_key().decode()
    result = CliRunner().invoke(
        main, ["worker", "--queue", "redis://127.0.0.1:1/0"], env={"THINGSPACE_TOKEN_KEY": key}
    )
    assert result.exit_code == 3
    assert "cryptography" in result.stderr
    assert "thingspace-callbacks[redis]" in result.stderr
    assert key not in result.stderr


async def test_a_new_key_makes_the_fleet_obtain_new_tokens_once(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Two processes after a change of key (each its own store), sharing the Redis
    # where the tokens sealed under the old key still are: those count as none, and
    # are replaced once for both, not renewed by each process on its own.
    sandbox = Sandbox()

    async def call(store: RedisTokenStore) -> None:
        auth = ThingSpaceAuth(**sandbox.credential_kwargs(), token_store=store)
        async with sandbox.client(auth=auth) as client:
            await client.location.list("0252012345-00001")

    old, new = Fernet.generate_key(), Fernet.generate_key()
    async with RedisTokenStore(redis_server.url, encryption_key=old) as before:
        await call(before)
    assert (sandbox.calls["token"], sandbox.calls["login"]) == (1, 1)
    with caplog.at_level(logging.WARNING, logger="thingspace_callbacks"):
        async with (
            RedisTokenStore(redis_server.url, encryption_key=new) as first,
            RedisTokenStore(redis_server.url, encryption_key=new) as second,
        ):
            await call(first)
            await call(second)
            await call(first)
    assert (sandbox.calls["token"], sandbox.calls["login"]) == (2, 2)
    assert "sealed with another encryption key" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
