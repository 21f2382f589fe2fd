"""``worker --metrics-port``: a worker process serves its metrics for Prometheus, and
they move as it runs jobs."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from thingspace_callbacks.redis import enqueue_fan_out, queue_pool

from ..receiver._listening import free_port
from ..telemetry.test_metrics_endpoint import sample, scrape
from ._fleet import CREDENTIALS
from ._queue_support import HOOK, environment, start_workers
from .conftest import RedisServer, SandboxOnSocket

pytestmark = pytest.mark.integration

ACCOUNTS = [f"0000{n:06d}-00001" for n in range(30)]


@pytest.mark.timeout(60)
async def test_a_worker_serves_its_metrics_and_they_move(
    tmp_path: Path, redis_server: RedisServer, sandbox: SandboxOnSocket
) -> None:
    port = free_port()
    env = environment(sandbox.base_url)
    args = ("--queue", redis_server.url, "--metrics-port", str(port))
    (worker,) = start_workers(tmp_path, env, 1, *args)
    pool = await queue_pool(redis_server.url)
    try:
        before = await anyio.to_thread.run_sync(scrape, port)
        with anyio.fail_after(30):
            queued = await enqueue_fan_out(
                pool, "location.register", ACCOUNTS, service="Location", url=HOOK,
                base_url=sandbox.base_url, chunk_size=10,
            )  # fmt: skip
            results = await queued.collect()
        after = await anyio.to_thread.run_sync(scrape, port)
    finally:
        await pool.aclose()
        worker.stop()

    assert all(result.ok for result in results)
    counted = "thingspace_fanout_accounts_total"
    assert sample(before, counted, thingspace_outcome="succeeded") is None
    assert sample(after, counted, thingspace_outcome="succeeded") == len(ACCOUNTS)
    registrations = sample(
        after,
        "thingspace_client_operation_duration_seconds_count",
        thingspace_operation="register",
    )
    assert registrations == len(ACCOUNTS)
    assert sample(after, "http_client_request_duration_seconds_count") is not None
    for secret in (CREDENTIALS["client_secret"], CREDENTIALS["password"]):
        assert secret not in after
