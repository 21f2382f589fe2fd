"""Jobs that carry a chunk of accounts, against a real ``redis-server`` (and a worker in
this process where one runs): one outcome per account however often its job is
announced, a kept job whose failures run again alone, a job of the old format refused
in words, and the Redis commands a run costs per account."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any, cast

import anyio
import pytest
from arq.connections import ArqRedis, RedisSettings
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import deserialize_job, deserialize_result, serialize_result

from thingspace_callbacks import AsyncThingSpaceClient
from thingspace_callbacks._errors import InvalidArgumentError
from thingspace_callbacks.redis import QueuedFanOut, enqueue_fan_out, queue_pool
from thingspace_callbacks.redis._jobs import FUNCTION_NAME, QUEUE_NAME, deserialize, serialize
from thingspace_callbacks.redis._serve import serve

from ._fleet import CREDENTIALS
from ._queue_support import HOOK
from .conftest import RedisServer, SandboxOnSocket

pytestmark = [
    pytest.mark.integration,
    # arq's Worker.close() still calls redis-py's deprecated close(); not ours to change.
    pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning"),
]

ACCOUNTS = [f"0000{n:06d}-00001" for n in range(12)]
API = "http://127.0.0.1:9/api"
"""Where no request goes: these runs have no worker."""


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


def outcome(account: str, ok: bool) -> dict[str, Any]:
    if ok:
        return {"account": account, "ok": True, "attempts": 1, "elapsed": 0.1, "value": {}}
    error = {"type": "ServerError", "message": "try later", "status": 503}
    return {"account": account, "ok": False, "attempts": 3, "elapsed": 0.2, "error": error}


async def announce(pool: ArqRedis, queued: QueuedFanOut, job_id: str, *outcomes: Any) -> None:
    entry = json.dumps({"job": job_id, "results": list(outcomes)})
    await pool.rpush(queued._notify_key, entry)  # type: ignore[misc]


async def test_an_account_announced_twice_gets_one_outcome(pool: ArqRedis) -> None:
    queued = await enqueue_fan_out(
        pool, "location.register", ACCOUNTS, service="Location", url=HOOK, base_url=API,
        chunk_size=4,
    )  # fmt: skip
    first, second, third = (ACCOUNTS[n : n + 4] for n in (0, 4, 8))
    # The job of `first` ran to the end; its worker died in the middle of `second`'s,
    # which ran again from the start; `third`'s announced its accounts in two batches.
    await announce(pool, queued, queued.job_id(*first), *(outcome(a, True) for a in first))
    await announce(pool, queued, queued.job_id(*second), *(outcome(a, True) for a in second[:2]))
    await announce(pool, queued, queued.job_id(*second), *(outcome(a, False) for a in second))
    await announce(pool, queued, queued.job_id(*third), *(outcome(a, True) for a in third[:3]))
    await announce(pool, queued, queued.job_id(*third), *(outcome(a, True) for a in third))
    # Another job of the run, which no account of this enqueueing waits for.
    await announce(pool, queued, queued.job_id("0252012345-00001"), outcome(first[0], False))

    with anyio.fail_after(10):
        results = await queued.collect()

    assert [result.account for result in results] == ACCOUNTS
    assert [result.ok for result in results] == [True] * 6 + [False] * 2 + [True] * 4
    assert queued.pending == 0


async def test_a_kept_job_runs_again_only_its_failures(pool: ArqRedis) -> None:
    chunk = ACCOUNTS[:4]
    earlier = await enqueue_fan_out(
        pool, "location.register", chunk, service="Location", url=HOOK, base_url=API
    )
    job_id = earlier.job_id(*chunk)
    # The job as a worker ends it: its result kept, the job itself gone from the queue.
    outcomes = [
        outcome(account, ok) for account, ok in zip(chunk, [True, False, True, False], strict=True)
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

    again = await enqueue_fan_out(
        pool, "location.register", ACCOUNTS[:6], service="Location", url=HOOK, base_url=API
    )
    (new_job,) = {job.decode() for job in await pool.zrange(QUEUE_NAME, 0, -1)}
    # What the old job announced before it ended (nobody collected it then) is not
    # taken for the new job's outcome; what the new job announces is.
    await announce(pool, again, job_id, *outcomes)
    await announce(pool, again, new_job, outcome(chunk[1], True))
    with anyio.fail_after(10):
        async with contextlib.aclosing(again.results()) as results:
            found = [await anext(results) for _ in range(3)]
    kept = await enqueue_fan_out(
        pool, "location.register", chunk, service="Location", url=HOOK, base_url=API,
        rerun_failed=False,
    )  # fmt: skip
    with anyio.fail_after(10):
        async with contextlib.aclosing(kept.results()) as results:
            handed_out = [await anext(results), await anext(results)]

    assert [(r.account, r.ok, r.job_id) for r in found] == [
        (chunk[0], True, job_id), (chunk[2], True, job_id), (chunk[1], True, new_job)
    ]  # fmt: skip
    assert (again.existing, again.enqueued, again.pending) == (2, 4, 3)
    # One new job: the failures and the accounts never enqueued, in input order, under
    # an id of its own (not that of the same accounts enqueued afresh).
    raw = cast("bytes", await pool.get(job_key_prefix + new_job))
    assert deserialize_job(raw, deserializer=deserialize).args[0]["accounts"] == [
        chunk[1],
        chunk[3],
        *ACCOUNTS[4:6],
    ]
    assert new_job != again.job_id(chunk[1], chunk[3], *ACCOUNTS[4:6])
    # Asked not to run failures again, a later run hands out the kept successes and
    # waits for the new job (the index sends the failures' accounts there).
    assert [(r.account, r.ok) for r in handed_out] == [(chunk[0], True), (chunk[2], True)]
    assert (kept.existing, kept.pending) == (4, 2)


async def test_a_job_of_the_old_format_is_refused_saying_so(
    redis_server: RedisServer, sandbox: SandboxOnSocket, pool: ArqRedis
) -> None:
    account = "0252012345-00001"
    old = {
        "v": 1, "family": "location", "verb": "register", "account": account,
        "service": "Location", "url": HOOK, "username": None, "baseUrl": sandbox.base_url,
        "password": None, "urlDigest": None, "notify": "thingspace:queue:done:old",
    }  # fmt: skip
    await pool.enqueue_job(FUNCTION_NAME, old, _job_id="thingspace:old")
    async with (
        client_for(sandbox) as client,
        anyio.create_task_group() as workers,
    ):
        workers.start_soon(serve, client, RedisSettings.from_dsn(redis_server.url))
        with anyio.fail_after(20):
            _, entry = await pool.blpop(["thingspace:queue:done:old"])  # type: ignore[misc]
        workers.cancel_scope.cancel()
    raw = cast("bytes", await pool.get(result_key_prefix + "thingspace:old"))
    kept = deserialize_result(raw, deserializer=deserialize).result

    # In the shape format 1 had, so that the run that enqueued it reads the refusal.
    assert json.loads(entry) == {"job": "thingspace:old", "result": kept}
    assert (kept["account"], kept["ok"], kept["error"]["type"]) == (account, False, "JobRefused")
    assert "the job is of format 1" in kept["error"]["message"]
    assert "run workers of the version that enqueued it" in kept["error"]["message"]
    assert sandbox.calls("location.register") == 0


@pytest.mark.parametrize("size", [0, 10_001, 2.5, True])
def test_a_chunk_size_out_of_range_is_refused(size: object) -> None:
    pool = ArqRedis()
    with pytest.raises(InvalidArgumentError, match="'chunk_size' must be"):
        QueuedFanOut(pool, "location.list", chunk_size=size)  # type: ignore[arg-type]


def commands(info: dict[str, dict[str, int]]) -> int:
    return sum(int(entry["calls"]) for entry in info.values())


@pytest.mark.timeout(60)
async def test_a_run_costs_at_most_three_redis_commands_per_account(
    redis_server: RedisServer, sandbox: SandboxOnSocket, pool: ArqRedis
) -> None:
    accounts = [f"0000{n:06d}-00001" for n in range(500)]
    async with client_for(sandbox) as client:
        await client.location.list(accounts[0])  # logged in before counting
        async with anyio.create_task_group() as workers:
            settings = RedisSettings.from_dsn(redis_server.url)
            workers.start_soon(lambda: serve(client, settings, concurrency=50))
            await pool.config_resetstat()
            with anyio.fail_after(40):
                queued = QueuedFanOut(
                    pool, "location.register", service="Location", url=HOOK,
                    base_url=sandbox.base_url,
                )  # fmt: skip
                async with anyio.create_task_group() as run:
                    await run.start(queued.enqueue, accounts)
                    results = [result async for result in queued]
            counted = commands(await pool.info("commandstats"))
            workers.cancel_scope.cancel()

    assert len(results) == 500
    assert all(result.ok for result in results)
    # Everything every client sent: enqueueing, the worker's polls and jobs, the
    # announcements and their collection (INFO itself is one more).
    assert counted / 500 <= 3, counted


@pytest.mark.timeout(60)
async def test_a_resumed_run_waits_for_the_jobs_its_accounts_are_in(
    redis_server: RedisServer, sandbox: SandboxOnSocket, pool: ArqRedis
) -> None:
    run: dict[str, Any] = {
        "service": "Location", "url": HOOK, "base_url": sandbox.base_url, "chunk_size": 4
    }  # fmt: skip
    first = await enqueue_fan_out(pool, "location.register", ACCOUNTS, **run)
    # As `bulk --resume` does: the accounts still to do, in chunks of their own.
    rest = [account for n, account in enumerate(ACCOUNTS) if n not in (0, 4, 7, 8)]
    resumed = await enqueue_fan_out(pool, "location.register", rest, **run)
    jobs = await pool.zcard(QUEUE_NAME)
    async with client_for(sandbox) as client, anyio.create_task_group() as workers:
        workers.start_soon(serve, client, RedisSettings.from_dsn(redis_server.url))
        with anyio.fail_after(30):
            results = await resumed.collect()
        workers.cancel_scope.cancel()

    assert (first.enqueued, resumed.enqueued, resumed.existing, jobs) == (12, 0, 8, 3)
    assert [result.account for result in results] == rest
    assert all(result.ok for result in results)
    assert {result.job_id for result in results} == {
        first.job_id(*ACCOUNTS[n : n + 4]) for n in (0, 4, 8)
    }
    assert sandbox.calls("location.register") == 12
