"""``thingspace-callbacks auth reset``: what it refuses before touching Redis, and a
Redis that does not answer. Clearing a real record, and the next process logging in
again, is in tests/redis/test_refusal_fleet.py."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from thingspace_callbacks.cli import COMMANDS, EXIT_MISSING_EXTRA, EXTRAS

from .conftest import invoke
from .test_extras import blocker, without

__all__ = ["blocker"]  # the fixture, used here too

CREDENTIALS = {
    "THINGSPACE_CLIENT_ID": "app",
    "THINGSPACE_CLIENT_SECRET": "client-secret-Yt6",
    "THINGSPACE_USERNAME": "user",
    "THINGSPACE_PASSWORD": "password-Rw2",
    "THINGSPACE_ACCESS_TOKEN": None,
    "THINGSPACE_M2M_TOKEN": None,
    "THINGSPACE_QUEUE": None,
    "THINGSPACE_BASE_URL": "http://127.0.0.1:9/api",
}
NOBODY: dict[str, str | None] = dict.fromkeys(CREDENTIALS)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_auth_is_a_lazy_command_of_the_redis_extra() -> None:
    assert COMMANDS["auth"] == "thingspace_callbacks.cli.auth:auth"
    assert EXTRAS["auth"] == "redis"
    assert "reset" in invoke(["auth", "--help"]).stdout


def test_the_store_is_required() -> None:
    result = invoke(["auth", "reset"], env=CREDENTIALS)
    assert result.exit_code == 2
    assert "Missing option '--store'" in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--sandbox"], CREDENTIALS, "drop --sandbox"),
        ([], NOBODY, "no credentials: pass --client-id/--client-secret"),
        (
            ["--access-token", "t", "--m2m-token", "m"],
            NOBODY,
            "fixed tokens are never refused as a login",
        ),
        (["--client-id", "app"], NOBODY, "--client-secret is required with --client-id"),
        (["--base-url", "ftp://nowhere"], CREDENTIALS, "base_url must be an http(s) URL"),
    ],
    ids=["sandbox", "no-credentials", "fixed-tokens", "half-a-pair", "bad-base-url"],
)
def test_usage_errors_are_one_line_and_exit_2(
    args: list[str], env: dict[str, str | None], message: str
) -> None:
    # Refused before connecting anywhere (an unmarked test may not: tests/conftest.py).
    result = invoke([*args, "auth", "reset", "--store", "redis://127.0.0.1:9/0"], env=env)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_bad_store_url_names_the_option() -> None:
    result = invoke(["auth", "reset", "--store", "http://example.com"], env=CREDENTIALS)
    assert result.exit_code == 2
    assert "--store" in result.stderr


@pytest.mark.integration
def test_a_redis_that_does_not_answer_clears_nothing_and_exits_1() -> None:
    port = _closed_port()
    result = invoke(
        ["--json", "auth", "reset", "--store", f"redis://:redis-pw@127.0.0.1:{port}/0"],
        env=CREDENTIALS,
    )
    assert result.exit_code == 1, result.output
    assert f"Redis at 127.0.0.1:{port}/0 is unavailable; nothing was cleared" in result.stderr
    for secret in ("redis-pw", "client-secret-Yt6", "password-Rw2"):
        assert secret not in result.output + result.stderr


@pytest.mark.integration
def test_the_store_comes_from_thingspace_queue_as_for_the_worker() -> None:
    port = _closed_port()
    result = invoke(
        ["auth", "reset"],
        env={**CREDENTIALS, "THINGSPACE_QUEUE": f"redis://127.0.0.1:{port}/0"},
    )
    assert result.exit_code == 1
    assert f"Redis at 127.0.0.1:{port}/0 is unavailable" in result.stderr


def test_without_the_redis_extra_it_says_what_to_install(blocker: Path) -> None:
    result = without(blocker, "redis", "module", "auth", "reset", "--store", "redis://x")
    assert result.returncode == EXIT_MISSING_EXTRA, result.stderr
    assert result.stderr == (
        "Error: thingspace-callbacks auth needs the [redis] extra (the 'redis' package is "
        'missing): pip install "thingspace-callbacks[redis]"\n'
    )
