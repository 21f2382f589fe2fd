"""``apply --queue``: the changes run on ``thingspace-callbacks worker`` processes through
a real ``redis-server``, and the fleet converges, again after drift (a new plan's jobs
are new jobs, not the kept outcomes of the last apply's)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from click.testing import CliRunner

from thingspace_callbacks.cli import main
from thingspace_callbacks.redis import queue_pool
from thingspace_callbacks.state import State, apply_queued, plan
from thingspace_callbacks.state._observed import read as read_listeners

from ..redis._queue_support import WorkerProcess, reap
from ..redis.conftest import RedisServer, redis_server
from .conftest import FLEET, SECRET, Served, accounts, write_state

pytestmark = pytest.mark.integration

__all__ = ["redis_server"]  # the fixture, used by name


@pytest.fixture
def redis_url(redis_server: RedisServer) -> Iterator[str]:
    """The redis tests' own ``redis-server``; the workers a test started end with it."""
    try:
        yield redis_server.url
    finally:
        reap()


def test_apply_on_the_worker_pool_converges(served: Served, tmp_path: Path, redis_url: str) -> None:
    names = accounts(20)
    state = write_state(tmp_path, FLEET, names)
    env = {**os.environ, **served.environment(), "THINGSPACE_CALLBACK_PASSWORD": SECRET}
    worker = WorkerProcess(tmp_path / "worker.log", env, "--queue", redis_url)
    worker.wait_ready()

    def cli(*args: str) -> int:
        result = CliRunner().invoke(main, list(args), env=served.environment())
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        return result.exit_code

    results = tmp_path / "results.jsonl"
    assert cli("apply", str(state), "--yes", "--queue", redis_url, "--results", str(results)) == 0
    assert results.read_text().count("\n") == 60
    assert SECRET not in results.read_text()
    assert cli("plan", str(state)) == 0
    assert {r.password for r in served.sandbox.registrations("connectivity")} == {SECRET}

    served.sandbox.drift("location", names[:5], "url")
    assert cli("plan", str(state)) == 2
    again = tmp_path / "again.jsonl"
    assert cli("apply", str(state), "--yes", "--queue", redis_url, "--results", str(again)) == 0
    assert again.read_text().count("\n") == 5
    assert cli("plan", str(state)) == 0
    assert worker.stop() == 0


async def test_a_change_is_queued_as_soon_as_its_reread_passes(
    served: Served, tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = accounts(6)
    state = State.load(str(write_state(tmp_path, FLEET, names)), environ={"HOOK_PASSWORD": SECRET})
    env = {**os.environ, **served.environment(), "THINGSPACE_CALLBACK_PASSWORD": SECRET}
    worker = WorkerProcess(tmp_path / "worker.log", env, "--queue", redis_url)
    worker.wait_ready()
    # The last account's re-read waits for a first outcome from the workers: an apply
    # that re-read every account before enqueueing anything would never get one.
    first_outcome = anyio.Event()
    reread = read_listeners

    async def read(client: Any, facts: Any, account: str) -> Any:
        if account == names[-1]:
            await first_outcome.wait()
        return await reread(client, facts, account)

    monkeypatch.setattr("thingspace_callbacks.state._queued.read", read)
    async with served.client() as client:
        made = await plan(client, state)
        pool = await queue_pool(redis_url)
        try:
            with anyio.fail_after(60):
                report = await apply_queued(
                    client, made, pool, on_result=lambda _: first_outcome.set(), concurrency=2
                )
        finally:
            await pool.aclose()
        assert report.counts["applied"] == 18, report.failed
        assert (await plan(client, state)).exit_code == 0
    assert worker.stop() == 0
