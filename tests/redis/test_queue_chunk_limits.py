"""What bounds a chunk on a worker, against a real ``redis-server`` and the sandbox on a
socket (a worker in this process where one runs): a worker reaches its concurrency
whatever the chunk size, a chunk that runs out of time leaves its other accounts to run
again rather than failing them, the sweep queues a lost job again under its own id and
never takes a job being enqueued for lost, and outcomes are announced on a timer."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import anyio
import pytest
from arq.connections import ArqRedis, RedisSettings
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import deserialize_job, serialize_result
from starlette.types import ASGIApp, Receive, Scope, Send

from thingspace_callbacks import AsyncThingSpaceClient
from thingspace_callbacks.redis import QueuedFanOut, queue_pool, worker_settings
from thingspace_callbacks.redis._announce import Announcer
from thingspace_callbacks.redis._jobs import FUNCTION_NAME, QUEUE_NAME, deserialize, serialize
from thingspace_callbacks.redis._serve import serve
from thingspace_callbacks.sandbox import Faults

from ._fleet import CREDENTIALS
from ._queue_support import HOOK
from .conftest import RedisServer, SandboxOnSocket

pytestmark = [
    pytest.mark.integration,
    # arq's Worker.close() still calls redis-py's deprecated close(); not ours to change.
    pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning"),
]

API = "http://127.0.0.1:9/api"
"""Where no request goes: these runs have no worker."""
RUN: dict[str, Any] = {"service": "Location", "url": HOOK}


class InFlight:
    """ASGI middleware counting the requests answered at once (logins and
    registrations, which POST), and the most."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._lock = threading.Lock()
        self.now = self.most = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        counted = scope["type"] == "http" and scope.get("method") == "POST"
        if counted:
            with self._lock:
                self.now += 1
                self.most = max(self.most, self.now)
        try:
            await self._app(scope, receive, send)
        finally:
            if counted:
                with self._lock:
                    self.now -= 1


@pytest.fixture
def counted() -> Iterator[tuple[SandboxOnSocket, InFlight]]:
    served = SandboxOnSocket()
    in_flight = served.arrivals = InFlight(served.sandbox.app)  # type: ignore[assignment]
    with served:
        yield served, in_flight


@pytest.fixture
async def pool(redis_server: RedisServer) -> AsyncIterator[ArqRedis]:
    pool = await queue_pool(redis_server.url)
    yield pool
    await pool.aclose()


def client_for(sandbox: SandboxOnSocket) -> AsyncThingSpaceClient:
    return AsyncThingSpaceClient(
        base_url=sandbox.base_url,
        client_id=CREDENTIALS["client_id"],
        client_secret=CREDENTIALS["client_secret"],
        username=CREDENTIALS["username"],
        password=CREDENTIALS["password"],
    )


def accounts(count: int) -> list[str]:
    return [f"0000{n:06d}-00001" for n in range(count)]


# -- concurrency -------------------------------------------------------------------------


@pytest.mark.timeout(60)
async def test_a_worker_reaches_its_concurrency_with_chunks_of_one(
    redis_server: RedisServer, counted: tuple[SandboxOnSocket, InFlight], pool: ArqRedis
) -> None:
    sandbox, in_flight = counted
    names = accounts(24)
    async with client_for(sandbox) as client:
        await client.location.list(names[0])  # logged in before the calls counted
        # Each call lasts long enough for the worker to take its eighth chunk while the
        # first is still in flight, however loaded the machine (a job is taken a poll
        # and a few Redis round trips after the one before).
        sandbox.sandbox.faults = Faults(latency=1.5)
        async with anyio.create_task_group() as workers:
            settings = RedisSettings.from_dsn(redis_server.url)
            workers.start_soon(lambda: serve(client, settings, concurrency=8))
            queued = QueuedFanOut(
                pool, "location.register", base_url=sandbox.base_url, chunk_size=1, **RUN
            )
            with anyio.fail_after(40):
                await queued.enqueue(names)
                results = await queued.collect()
            workers.cancel_scope.cancel()

    assert [result.account for result in results] == names
    assert all(result.ok for result in results)
    # Eight at once, as many as --concurrency says: not two chunks' worth.
    assert in_flight.most == 8


def test_an_arq_worker_takes_as_many_chunks_as_its_concurrency_needs() -> None:
    def max_jobs(**options: Any) -> int:
        settings = worker_settings(AsyncThingSpaceClient, "redis://127.0.0.1:9/0", **options)
        return cast("int", settings["max_jobs"])

    assert max_jobs(concurrency=20) == 2
    assert max_jobs(concurrency=250) == 4
    assert max_jobs(concurrency=20, chunk_size=1) == 21
    assert max_jobs(concurrency=20, chunk_size=10) == 3


# -- a chunk that runs out of time -------------------------------------------------------


@pytest.mark.timeout(60)
async def test_a_chunk_out_of_time_leaves_its_other_accounts_to_run_again(
    redis_server: RedisServer, sandbox: SandboxOnSocket, pool: ArqRedis
) -> None:
    names = accounts(12)
    async with client_for(sandbox) as client:
        await client.location.list(names[0])
        sandbox.sandbox.faults = Faults(latency=0.6)
        async with anyio.create_task_group() as workers:
            settings = RedisSettings.from_dsn(redis_server.url)
            # Two at once, 0.6 s each: twelve take 3.6 s at least, more than the job's
            # 3 s, so the first job ends with some of its accounts not done.
            workers.start_soon(lambda: serve(client, settings, concurrency=2, job_timeout=3))
            queued = QueuedFanOut(
                pool, "location.register", base_url=sandbox.base_url, chunk_size=12, **RUN
            )
            with anyio.fail_after(40):
                await queued.enqueue(names)
                results = await queued.collect()
            workers.cancel_scope.cancel()

    assert [result.account for result in results] == names
    assert [result.error for result in results if not result.ok] == []
    # The accounts the first job did not do ran in a job of their own.
    assert len({result.job_id for result in results}) > 1
    assert queued.requeued == 12 - len([r for r in results if r.job_id == queued.job_id(*names)])


# -- the sweep ---------------------------------------------------------------------------


async def keep_failures(pool: ArqRedis, job_id: str, chunk: list[str]) -> None:
    """End ``job_id`` as a worker does, every account failed: its result kept, the job
    itself gone from the queue."""
    error = {"type": "ServerError", "message": "try later", "status": 503}
    outcomes = [
        {"account": account, "ok": False, "attempts": 3, "elapsed": 0.2, "error": error}
        for account in chunk
    ]
    now = int(time.time() * 1000)
    result = serialize_result(
        FUNCTION_NAME, (), {}, 1, now, True, {"outcomes": outcomes}, now, now,
        FUNCTION_NAME, QUEUE_NAME, job_id, serializer=serialize,
    )  # fmt: skip
    assert result is not None
    await pool.set(result_key_prefix + job_id, result)
    await pool.delete(job_key_prefix + job_id)
    await pool.zrem(QUEUE_NAME, job_id)


async def queued_jobs(pool: ArqRedis) -> dict[str, list[str]]:
    """The jobs in the queue, and their accounts."""
    jobs = {}
    for job_id in await pool.zrange(QUEUE_NAME, 0, -1):
        raw = cast("bytes", await pool.get(job_key_prefix + job_id.decode()))
        job = deserialize_job(raw, deserializer=deserialize)
        jobs[job_id.decode()] = job.args[0]["accounts"]
    return jobs


async def test_a_lost_job_is_queued_again_under_the_id_the_run_recorded(
    pool: ArqRedis,
) -> None:
    chunk = accounts(4)
    earlier = QueuedFanOut(pool, "location.register", base_url=API, **RUN)
    await earlier.enqueue(chunk)
    first = earlier.job_id(*chunk)
    await keep_failures(pool, first, chunk)
    # Run again: the failures go to a job replacing the first, with an id of its own.
    again = QueuedFanOut(pool, "location.register", base_url=API, **RUN)
    await again.enqueue(chunk)
    (replacing,) = await queued_jobs(pool)
    assert replacing != again.job_id(*chunk)
    # Redis loses it (restarted empty but for the kept result).
    await pool.delete(job_key_prefix + replacing)
    await pool.zrem(QUEUE_NAME, replacing)

    again._sweep_now = True
    with anyio.fail_after(10):
        await again._collect()

    assert await queued_jobs(pool) == {replacing: chunk}
    assert (again.requeued, again.pending) == (4, 4)
    # An announcement of the job it replaces is still not taken for its outcome.
    entry = {"job": first, "results": [{"account": chunk[0], "ok": True, "attempts": 1}]}
    await pool.rpush(again._notify_key, json.dumps(entry))  # type: ignore[misc]
    entry["job"] = replacing
    await pool.rpush(again._notify_key, json.dumps(entry))  # type: ignore[misc]
    with anyio.fail_after(10):
        async with contextlib.aclosing(again.results()) as results:
            found = await anext(results)
    assert (found.account, found.job_id) == (chunk[0], replacing)


async def test_the_sweep_leaves_a_job_being_enqueued_alone(
    pool: ArqRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunk = accounts(4)
    queued = QueuedFanOut(pool, "location.register", base_url=API, **RUN)
    held, release = anyio.Event(), anyio.Event()
    enqueue_job = queued._enqueue_job

    async def slow_enqueue(job_id: str, names: list[str]) -> bool:
        # The first enqueue is slow (a loaded Redis); any other goes straight through.
        if not held.is_set():
            held.set()
            await release.wait()
        return await enqueue_job(job_id, names)

    monkeypatch.setattr(queued, "_enqueue_job", slow_enqueue)
    async with anyio.create_task_group() as run:
        run.start_soon(queued.enqueue, chunk)
        with anyio.fail_after(10):
            await held.wait()
        # No outcome for a while: the sweep looks for lost jobs mid-enqueue.
        queued._sweep_now = True
        with anyio.fail_after(10):
            await queued._collect()
        assert await queued_jobs(pool) == {}
        release.set()

    assert await queued_jobs(pool) == {queued.job_id(*chunk): chunk}
    assert (queued.enqueued, queued.requeued, queued.pending) == (4, 0, 4)


# -- announcements -----------------------------------------------------------------------


async def test_outcomes_are_announced_a_quarter_second_on_without_another(
    pool: ArqRedis,
) -> None:
    key = "thingspace:queue:done:timer"
    announcer = Announcer({"redis": pool, "job_id": "job"}, {"notify": key}, 60)
    first, second = ({"account": name, "ok": True} for name in accounts(2))

    async with anyio.create_task_group() as timer:
        timer.start_soon(announcer.flushing)
        await announcer.add(first)
        await announcer.add(second)
        # No third outcome comes: the first is pushed all the same, the newest held.
        with anyio.fail_after(5):
            while not await pool.llen(key):  # type: ignore[misc]  # noqa: ASYNC110
                await anyio.sleep(0.02)
        timer.cancel_scope.cancel()
    await announcer.finish()

    entries = [json.loads(raw) for raw in await pool.lrange(key, 0, -1)]  # type: ignore[misc]
    assert entries == [{"job": "job", "results": [first]}, {"job": "job", "results": [second]}]
