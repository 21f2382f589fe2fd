"""The end of a job as the queue sees it: the outcome is announced only once arq has
kept it, and a worker stopped while arq records a job's end lets that recording finish
before it closes its connections (else the job stays locked in Redis for the job
timeout plus 10 s, and whoever re-runs it waits that long)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from arq.connections import ArqRedis, RedisSettings
from arq.worker import Worker

from thingspace_callbacks import AsyncThingSpaceClient
from thingspace_callbacks.redis import enqueue_fan_out, queue_pool
from thingspace_callbacks.redis._serve import serve

from ._fleet import CREDENTIALS
from .conftest import RedisServer, SandboxOnSocket

pytestmark = [
    pytest.mark.integration,
    # arq's Worker.close() still calls redis-py's deprecated close(); not ours to change.
    pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning"),
]

ACCOUNT = "0252012345-00001"
HOOK = "https://hooks.example.com/location"


class HeldRecording:
    """arq's ``finish_job`` held until released, as a slow Redis would hold it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = anyio.Event()
        self.released = anyio.Event()
        original = Worker.finish_job

        async def held(worker: Worker, *args: Any, **kwargs: Any) -> None:
            self.started.set()
            await self.released.wait()
            await original(worker, *args, **kwargs)

        monkeypatch.setattr(Worker, "finish_job", held)


def client_for(sandbox: SandboxOnSocket) -> AsyncThingSpaceClient:
    return AsyncThingSpaceClient(
        base_url=sandbox.base_url,
        client_id=CREDENTIALS["client_id"],
        client_secret=CREDENTIALS["client_secret"],
        username=CREDENTIALS["username"],
        password=CREDENTIALS["password"],
    )


@pytest.fixture
async def pool(redis_server: RedisServer) -> AsyncIterator[ArqRedis]:
    pool = await queue_pool(redis_server.url)
    yield pool
    await pool.aclose()


@pytest.mark.timeout(60)
async def test_an_outcome_is_announced_once_arq_has_kept_it(
    redis_server: RedisServer,
    sandbox: SandboxOnSocket,
    pool: ArqRedis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    held = HeldRecording(monkeypatch)
    queued = await enqueue_fan_out(
        pool, "location.register", [ACCOUNT], service="Location", url=HOOK,
        base_url=sandbox.base_url,
    )  # fmt: skip
    async with client_for(sandbox) as client, anyio.create_task_group() as workers:
        workers.start_soon(serve, client, RedisSettings.from_dsn(redis_server.url))
        with anyio.fail_after(20):
            await held.started.wait()
        announced_while_recording = await pool.keys("thingspace:queue:done:*")
        held.released.set()
        with anyio.fail_after(20):
            (result,) = await queued.collect()
        locked = await pool.keys("arq:in-progress:*")
        kept = await pool.keys("arq:result:*")
        workers.cancel_scope.cancel()

    assert announced_while_recording == []
    assert result.ok, result.error
    assert (locked, len(kept)) == ([], 1)


@pytest.mark.timeout(60)
async def test_a_worker_stopped_while_recording_a_jobs_end_leaves_it_unlocked(
    redis_server: RedisServer,
    sandbox: SandboxOnSocket,
    pool: ArqRedis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    held = HeldRecording(monkeypatch)
    await enqueue_fan_out(
        pool, "location.register", [ACCOUNT], service="Location", url=HOOK,
        base_url=sandbox.base_url,
    )  # fmt: skip
    stopped = anyio.Event()
    worker = anyio.CancelScope()

    async def run_worker(client: AsyncThingSpaceClient) -> None:
        with worker:
            await serve(client, RedisSettings.from_dsn(redis_server.url))
        stopped.set()

    async with client_for(sandbox) as client, anyio.create_task_group() as group:
        group.start_soon(run_worker, client)
        with anyio.fail_after(20):
            await held.started.wait()
        worker.cancel()
        # A worker that does not wait closes its pool at once; one that waits is
        # still stopping when the recording is let go.
        with anyio.move_on_after(1):
            await stopped.wait()
        stopped_before_recording = stopped.is_set()
        held.released.set()
        with anyio.fail_after(20):
            await stopped.wait()

    assert not stopped_before_recording
    assert await pool.keys("arq:in-progress:*") == []
    assert len(await pool.keys("arq:result:*")) == 1
