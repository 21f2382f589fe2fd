"""A queued run is one trace: the jobs carry the run's context, so every worker's spans
(the job, its fan-out, each call) join the trace of the span that enqueued them."""

from __future__ import annotations

import anyio
import pytest
from arq.connections import RedisSettings
from opentelemetry.trace import SpanKind

from thingspace_callbacks import AsyncThingSpaceClient
from thingspace_callbacks.redis import enqueue_fan_out, queue_pool
from thingspace_callbacks.redis._serve import serve

from .._telemetry import Recorded, recorded
from ._fleet import CREDENTIALS
from .conftest import RedisServer, SandboxOnSocket

pytestmark = [
    pytest.mark.integration,
    # arq's Worker.close() still calls redis-py's deprecated close(); not ours to change.
    pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning"),
]

__all__ = ["recorded"]  # the fixture, used by name

ACCOUNTS = [f"0252012345-{n:05d}" for n in range(1, 7)]
HOOK = "https://hooks.example.com/location"


@pytest.mark.timeout(60)
async def test_the_workers_spans_join_the_trace_of_the_run(
    redis_server: RedisServer, sandbox: SandboxOnSocket, recorded: Recorded
) -> None:
    pool = await queue_pool(redis_server.url)
    tracer = recorded.tracer_provider.get_tracer("the-operators-script")
    client = AsyncThingSpaceClient(
        base_url=sandbox.base_url,
        client_id=CREDENTIALS["client_id"],
        client_secret=CREDENTIALS["client_secret"],
        username=CREDENTIALS["username"],
        password=CREDENTIALS["password"],
        telemetry=recorded.telemetry,
    )
    try:
        with tracer.start_as_current_span("rotate the location listeners") as mine:
            queued = await enqueue_fan_out(
                pool, "location.register", ACCOUNTS, service="Location", url=HOOK,
                base_url=sandbox.base_url, chunk_size=3, telemetry=recorded.telemetry,
            )  # fmt: skip
        async with client, anyio.create_task_group() as workers:
            workers.start_soon(serve, client, RedisSettings.from_dsn(redis_server.url))
            with anyio.fail_after(30):
                results = await queued.collect()
            workers.cancel_scope.cancel()
    finally:
        await pool.aclose()

    assert all(result.ok for result in results)
    trace_id = mine.get_span_context().trace_id
    (sent,) = [span for span in recorded.spans if span.kind == SpanKind.PRODUCER]
    jobs = [span for span in recorded.spans if span.kind == SpanKind.CONSUMER]
    calls = recorded.named("thingspace location.register")
    assert sent.parent is not None
    assert sent.parent.span_id == mine.get_span_context().span_id
    assert len(jobs) == 2
    assert {job.parent.span_id for job in jobs if job.parent} == {sent.context.span_id}
    assert len(calls) == len(ACCOUNTS)
    assert {span.context.trace_id for span in [sent, *jobs, *calls]} == {trace_id}
    assert all(
        job.attributes and job.attributes["messaging.batch.message_count"] == 3 for job in jobs
    )
