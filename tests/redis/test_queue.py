"""The queue's Python API against a real ``redis-server`` and workers in their own
processes: job ids, enqueueing twice, no secret in Redis in clear, kept failures run
again, a worker that refuses a job, and a user's own ``arq`` worker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from arq.connections import ArqRedis

from thingspace_callbacks.redis import QueuedFanOut, enqueue_fan_out, queue_pool
from thingspace_callbacks.redis._jobs import QUEUE_NAME

from ._fleet import CREDENTIALS
from ._queue_support import HOOK, ArqProcess, environment, everything_in, start_workers
from .conftest import RedisServer, SandboxOnSocket

pytestmark = pytest.mark.integration

ACCOUNTS = [f"0000{n:06d}-00001" for n in range(200)]
API = "http://127.0.0.1:9/api"


@pytest.fixture
async def pool(redis_server: RedisServer) -> AsyncIterator[ArqRedis]:
    pool = await queue_pool(redis_server.url)
    yield pool
    await pool.aclose()


def register(pool: ArqRedis, **changes: Any) -> QueuedFanOut:
    arguments: dict[str, Any] = {
        "operation": "connectivity.register", "service": "CarrierService", "url": HOOK,
        "username": "hook-user", "password": "hook-pass", "base_url": API,
    }  # fmt: skip
    arguments.update(changes)
    return QueuedFanOut(pool, arguments.pop("operation"), **arguments)


async def test_enqueueing_the_same_run_twice_adds_no_job(pool: ArqRedis) -> None:
    first = await enqueue_fan_out(
        pool, "location.register", ACCOUNTS, service="Location", url=HOOK, base_url=API,
        chunk_size=30,
    )  # fmt: skip
    # In another order and other chunks: the run's index knows each account's job.
    again = await enqueue_fan_out(
        pool, "location.register", [*ACCOUNTS[::-1], *ACCOUNTS[:10]],
        service="Location", url=HOOK, base_url=API, chunk_size=7,
    )  # fmt: skip

    assert (first.enqueued, first.existing) == (200, 0)
    assert (again.enqueued, again.existing, again.pending) == (0, 200, 200)
    chunks = [ACCOUNTS[start : start + 30] for start in range(0, 200, 30)]
    queued = {job_id.decode() for job_id in await pool.zrange(QUEUE_NAME, 0, -1)}
    assert queued == {first.job_id(*chunk) for chunk in chunks}
    assert len(await pool.keys("arq:job:*")) == 7


@pytest.mark.parametrize(
    "change",
    [
        {"operation": "connectivity.unregister", "url": None, "username": None, "password": None},
        {"service": "OtherService"},
        {"url": "https://other.example.com/hooks"},
        {"url": "https://user:secret@listener.example.com/hooks/location"},
        {"base_url": "https://thingspace.verizon.com/api"},
        {"base_url": None},
        {"username": "other-user"},
        {"password": "other-pass"},
        {"password": None},
    ],
)
async def test_a_job_id_names_the_work_and_the_account(
    pool: ArqRedis, change: dict[str, Any]
) -> None:
    same, other = register(pool), register(pool, **change)

    assert same.job_id(*ACCOUNTS[:3]) == register(pool).job_id(*ACCOUNTS[2::-1])
    assert same.job_id(*ACCOUNTS[:3]) != same.job_id(*ACCOUNTS[1:4])
    assert other.job_id(*ACCOUNTS[:3]) != same.job_id(*ACCOUNTS[:3])


@pytest.mark.timeout(60)
async def test_no_secret_reaches_redis_in_clear(
    tmp_path: Path, redis_server: RedisServer, sandbox: SandboxOnSocket, pool: ArqRedis
) -> None:
    password, url = "hook-pass-Zq81", "https://hook:url-secret-Pw27@hooks.example.com/x"
    queued = await enqueue_fan_out(
        pool, "connectivity.register", ACCOUNTS[:20], service="CarrierService", url=url,
        username="hook-user", password=password, base_url=sandbox.base_url,
    )  # fmt: skip
    queued_jobs = everything_in(redis_server.url)
    env = environment(sandbox.base_url, THINGSPACE_CALLBACK_PASSWORD=password)
    (worker,) = start_workers(tmp_path, env, 1, "--queue", redis_server.url, "--url", url)
    try:
        with anyio.fail_after(30):
            results = await queued.collect()
    finally:
        worker.stop()
    done = everything_in(redis_server.url)

    assert [r.account for r in results] == ACCOUNTS[:20]
    assert all(r.ok for r in results), results[0]
    assert any(b"pbkdf2_sha256$" in blob for blob in queued_jobs)
    secrets = [password, "url-secret-Pw27", CREDENTIALS["client_secret"], CREDENTIALS["password"]]
    for blob in queued_jobs + done:
        for secret in secrets:
            assert secret.encode() not in blob
    registered = sandbox.sandbox.registrations("connectivity")
    assert {(r.url, r.username, r.password) for r in registered} == {(url, "hook-user", password)}


@pytest.mark.timeout(60)
async def test_a_refused_job_fails_and_is_run_again_later(
    tmp_path: Path, redis_server: RedisServer, sandbox: SandboxOnSocket, pool: ArqRedis
) -> None:
    run: dict[str, Any] = {
        "service": "CarrierService", "url": HOOK, "username": "hook-user",
        "password": "right-pass", "base_url": sandbox.base_url,
    }  # fmt: skip
    queue = ("--queue", redis_server.url)
    wrong = environment(sandbox.base_url, THINGSPACE_CALLBACK_PASSWORD="wrong-pass")
    (worker,) = start_workers(tmp_path, wrong, 1, *queue)
    try:
        with anyio.fail_after(30):
            queued = await enqueue_fan_out(pool, "connectivity.register", ACCOUNTS[:5], **run)
            refused = await queued.collect()
    finally:
        worker.stop()
    # Kept failures are handed out again as they are, or run again (the default).
    kept = await enqueue_fan_out(
        pool, "connectivity.register", ACCOUNTS[:5], rerun_failed=False, **run
    )
    right = environment(sandbox.base_url, THINGSPACE_CALLBACK_PASSWORD="right-pass")
    (worker,) = start_workers(tmp_path, right, 1, *queue)
    try:
        with anyio.fail_after(30):
            again = await enqueue_fan_out(pool, "connectivity.register", ACCOUNTS[:5], **run)
            done = await again.collect()
    finally:
        worker.stop()

    assert {r.error["type"] for r in refused if r.error} == {"JobRefused"}
    assert not any(r.ok for r in refused)
    assert "--callback-password" in str(refused[0].error)
    assert (kept.enqueued, kept.existing, kept.pending) == (0, 5, 0)
    assert not any(r.ok for r in await kept.collect())
    assert again.enqueued == 5
    assert all(r.ok for r in done)
    assert len(sandbox.sandbox.registrations("connectivity")) == 5


@pytest.mark.timeout(60)
async def test_a_users_own_arq_worker_runs_the_jobs(
    tmp_path: Path, redis_server: RedisServer, sandbox: SandboxOnSocket, pool: ArqRedis
) -> None:
    env = environment(sandbox.base_url, QUEUE_TEST_REDIS=redis_server.url)
    worker = ArqProcess(tmp_path / "arq.log", env, "tests.redis._arq_settings.WorkerSettings")
    try:
        with anyio.fail_after(30):
            queued = await enqueue_fan_out(
                pool, "location.register", ACCOUNTS, service="Location", url=HOOK,
                base_url=sandbox.base_url,
            )  # fmt: skip
            results = await queued.collect()
            elsewhere = await enqueue_fan_out(
                pool, "location.list", ACCOUNTS[:3], base_url="https://elsewhere.example.com/api"
            )
            refused = await elsewhere.collect()
    finally:
        worker.stop()

    assert [r.account for r in results] == ACCOUNTS
    assert all(r.ok and r.attempts == 1 for r in results), results[0]
    assert results[0].value == {"accountName": ACCOUNTS[0], "serviceName": "Location"}
    assert sorted(r.account for r in sandbox.sandbox.registrations("location")) == ACCOUNTS
    assert {r.error["type"] for r in refused if r.error} == {"JobRefused"}
    assert "the job is for the API at https://elsewhere.example.com/api" in str(refused[0].error)
