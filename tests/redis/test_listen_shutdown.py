"""``listen --dedupe``: a handler that never returns gives up its Redis claim when its time
runs out, when its sender hangs up, and when the process is stopped by a signal, so
that the re-send is handled instead of being answered 409 until the claim lapses."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import redis

from ..receiver import _messages as msg
from ..receiver._listening import listening, raw_post, read_status, stuck_handler_module
from .conftest import RedisServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(90)]

CLAIM_TTL = "300"
"""Far beyond every test: only a release can end a claim in time."""


def _dedupe_keys(server: RedisServer) -> dict[str, str]:
    with redis.Redis.from_url(server.url, decode_responses=True) as client:
        return {key: client.get(key) or "" for key in client.keys("thingspace:dedupe:*")}


def _wait_for_claim(server: RedisServer, within: float = 15) -> None:
    deadline = time.monotonic() + within
    while not any(v.startswith("claimed:") for v in _dedupe_keys(server).values()):
        assert time.monotonic() < deadline, "the message was never claimed"
        time.sleep(0.02)


def _listen_directory(tmp_path: Path) -> Path:
    directory = tmp_path / "listen"
    directory.mkdir()
    return directory


def test_a_timed_out_handler_releases_its_redis_claim(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    directory = _listen_directory(tmp_path)
    arguments = [
        "--handler", stuck_handler_module(directory),
        "--handler-timeout", "1",
        "--dedupe", redis_server.url,
        "--dedupe-claim-ttl", CLAIM_TTL,
    ]  # fmt: skip
    with listening(directory, arguments) as listener:
        url = f"{listener.base_url}/CarrierService"
        first = httpx.post(url, json=msg.m2m(), timeout=30)
        assert (first.status_code, first.json()["status"]) == (503, "timed_out")
        assert _dedupe_keys(redis_server) == {}
        resend = httpx.post(url, json=msg.m2m(callbackCount=2), timeout=30)
        assert (resend.status_code, resend.json()["status"]) == (503, "timed_out")
        assert listener.wait_for_log(2, "cancelled", within=10).count("start") == 2


def test_a_hung_up_senders_handler_releases_its_redis_claim(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    directory = _listen_directory(tmp_path)
    arguments = [
        "--handler", stuck_handler_module(directory),
        "--handler-timeout", "600",
        "--dedupe", redis_server.url,
        "--dedupe-claim-ttl", CLAIM_TTL,
    ]  # fmt: skip
    with listening(directory, arguments) as listener:
        sender = raw_post(listener.port, msg.encode(msg.m2m()))
        _wait_for_claim(redis_server)
        sender.close()
        listener.wait_for_log(1, "cancelled", within=15)
        deadline = time.monotonic() + 10
        while _dedupe_keys(redis_server):
            assert time.monotonic() < deadline, _dedupe_keys(redis_server)
            time.sleep(0.02)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_listen_in_its_grace_period_and_releases_the_redis_claim(
    tmp_path: Path, redis_server: RedisServer, sig: signal.Signals
) -> None:
    directory = _listen_directory(tmp_path)
    arguments = [
        "--handler", stuck_handler_module(directory),
        "--handler-timeout", "600",
        "--shutdown-timeout", "1",
        "--dedupe", redis_server.url,
        "--dedupe-claim-ttl", CLAIM_TTL,
    ]  # fmt: skip
    with listening(directory, arguments) as listener:
        sender = raw_post(listener.port, msg.encode(msg.m2m()))
        _wait_for_claim(redis_server)
        signalled = time.monotonic()
        listener.process.send_signal(sig)
        try:
            listener.process.wait(timeout=1 + 20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"listen still running {time.monotonic() - signalled:.1f} s after {sig!r}")
        # Released before the process ended: the re-send can be claimed at once.
        assert _dedupe_keys(redis_server) == {}
        assert listener.handler_log() == ["start", "cancelled"]
        assert read_status(sender) == 503
        sender.close()
