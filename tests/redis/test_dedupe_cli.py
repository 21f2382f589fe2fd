"""``thingspace-callbacks listen --dedupe``: the option, its errors, and the ``redis``
extra imported only when it is given."""

from __future__ import annotations

import json
import logging.config
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import uvicorn
from click.testing import CliRunner

from thingspace_callbacks.cli import EXIT_MISSING_EXTRA
from thingspace_callbacks.cli.listen import DEFAULT_DEDUPE_CLAIM_TTL, build_receiver, listen
from thingspace_callbacks.receiver import MemoryDedupeStore
from thingspace_callbacks.redis import RedisDedupeStore

pytestmark = pytest.mark.timeout(20)

BLOCK_REDIS = textwrap.dedent(
    """
    import sys

    class _NoRedis:
        def find_spec(self, name, path=None, target=None):
            if name == "redis" or name.startswith("redis."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, _NoRedis())
    """
)
"""A ``sitecustomize`` that makes ``redis`` impossible to import, as without the extra."""


@pytest.mark.parametrize(
    "command",
    [["thingspace_callbacks", "listen"], ["thingspace_callbacks.cli.listen"]],
    ids=["thingspace-callbacks", "listen-module"],
)
def test_dedupe_without_the_redis_extra_is_one_line(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "sitecustomize.py").write_text(BLOCK_REDIS)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    result = subprocess.run(
        [sys.executable, "-m", *command, "--port", "0", "--dedupe", "redis://127.0.0.1:1/0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=15,
    )
    assert result.returncode == EXIT_MISSING_EXTRA == 3, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr == (
        "Error: thingspace-callbacks listen --dedupe needs the [redis] extra (the 'redis' "
        'package is missing): pip install "thingspace-callbacks[redis]"\n'
    )
    assert result.stdout == ""


def test_listen_imports_the_redis_extra_only_with_dedupe() -> None:
    code = textwrap.dedent(
        """
        import json, sys
        from thingspace_callbacks.cli.listen import build_receiver
        plain = build_receiver()
        without = sorted(m for m in sys.modules if m.split(".")[0] == "redis"
                         or m.startswith("thingspace_callbacks.redis"))
        shared = build_receiver(dedupe="redis://127.0.0.1:1/0")
        print(json.dumps([without, "thingspace_callbacks.redis" in sys.modules]))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=15
    )
    assert json.loads(result.stdout) == [[], True]


def test_dedupe_builds_a_redis_store_with_the_claim_ttl() -> None:
    default = build_receiver()
    assert isinstance(default.dedupe_store, MemoryDedupeStore)
    shared = build_receiver(dedupe="redis://127.0.0.1:6390/1")
    assert isinstance(shared.dedupe_store, RedisDedupeStore)
    assert shared.dedupe_store.claim_ttl == DEFAULT_DEDUPE_CLAIM_TTL == 60
    short = build_receiver(dedupe="redis://127.0.0.1:6390/1", dedupe_claim_ttl=2.5)
    assert isinstance(short.dedupe_store, RedisDedupeStore)
    assert short.dedupe_store.claim_ttl == 2.5


class _NoServer:
    def __init__(self, config: uvicorn.Config) -> None:
        pass

    def run(self) -> None:
        pass


def test_listen_says_where_it_deduplicates_without_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(uvicorn, "Server", _NoServer)
    monkeypatch.setattr(logging.config, "dictConfig", lambda config: None)
    result = CliRunner().invoke(
        listen, ["--port", "0", "--dedupe", "redis://:pw-Hx81@127.0.0.1:6390/1"]
    )
    assert result.exit_code == 0, result.output
    assert "deduplicating through RedisDedupeStore('127.0.0.1:6390/1'" in result.output
    assert "pw-Hx81" not in result.output


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (["--dedupe", "http://127.0.0.1:6379"], "not a Redis URL"),
        (["--dedupe", "redis://127.0.0.1", "--dedupe-claim-ttl", "0"], "--dedupe-claim-ttl"),
        (["--dedupe", "redis://127.0.0.1", "--handler", "{module}:receiver"], "own deduplication"),
    ],
)
def test_dedupe_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arguments: list[str], error: str
) -> None:
    module = f"dedupe_cli_receiver_{id(tmp_path)}"
    (tmp_path / f"{module}.py").write_text(
        "from thingspace_callbacks.receiver import Receiver\nreceiver = Receiver(verify=[])\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    result = CliRunner().invoke(listen, [a.format(module=module) for a in arguments])
    assert result.exit_code == 2, result.output
    assert error in result.output
