"""An account no request may name (``0252012345/00001``, whitespace) gets no job: its
outcome is a failure at once, with the SDK's message, while the other accounts of the
run are queued as usual; ``bulk --queue`` writes that failure as its line."""

from __future__ import annotations

import contextlib
from pathlib import Path

import anyio
import pytest
import redis
from click.testing import CliRunner

from thingspace_callbacks.cli import main
from thingspace_callbacks.redis import enqueue_fan_out, queue_pool
from thingspace_callbacks.redis._jobs import QUEUE_NAME

from ._queue_support import HOOK, environment, lines, register_args
from .conftest import RedisServer

pytestmark = pytest.mark.integration

GOOD = "0252012345-00001"
BAD = {
    "0252012345/00001": "'account' must not contain '/': '0252012345/00001' is not a "
    "ThingSpace account (account names look like '0252012345-00001')",
    "not an account!": "'account' must not contain whitespace: 'not an account!' is not a "
    "ThingSpace account (account names look like '0252012345-00001')",
}
API = "http://127.0.0.1:9/api"
"""Where no request goes: none is sent."""


async def test_a_malformed_account_fails_at_once_and_gets_no_job(
    redis_server: RedisServer,
) -> None:
    pool = await queue_pool(redis_server.url)
    try:
        queued = await enqueue_fan_out(
            pool, "location.register", [*BAD, GOOD], service="Location", url=HOOK, base_url=API
        )
        jobs = await pool.keys("arq:job:*")
        queue_length = await pool.zcard(QUEUE_NAME)
        # No worker runs: what arrives is what never needed one.
        with anyio.fail_after(10):
            async with contextlib.aclosing(queued.results()) as results:
                refused = [await anext(results) for _ in BAD]
    finally:
        await pool.aclose()

    assert (queued.enqueued, queued.pending, queue_length) == (1, 1, 1)
    assert jobs == [f"arq:job:{queued.job_id(GOOD)}".encode()]
    assert {result.account: result.error for result in refused} == {
        account: {"type": "InvalidArgumentError", "message": message}
        for account, message in BAD.items()
    }
    assert all(not result.ok and result.attempts == 0 for result in refused)


@pytest.mark.timeout(60)  # enqueued instead, they would wait for a worker forever
def test_bulk_queue_writes_the_failure_of_a_malformed_account(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("".join(f"{account}\n" for account in BAD))
    results = tmp_path / "run.jsonl"
    args = register_args(accounts, results, redis_server.url)

    result = CliRunner().invoke(main, ["bulk", *args], env=environment(API))

    assert result.exit_code == 1, result.output
    written = {line["account"]: line for line in lines(results)}
    assert {account: line["error"] for account, line in written.items()} == {
        account: {"type": "InvalidArgumentError", "message": message}
        for account, message in BAD.items()
    }
    assert all(line["ok"] is False and line["attempts"] == 0 for line in written.values())
    with contextlib.closing(redis.Redis.from_url(redis_server.url)) as client:
        assert client.keys("arq:job:*") == []
