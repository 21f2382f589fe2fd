"""A user's own arq worker for the queue tests, run as ``python -m arq
tests.redis._arq_settings.WorkerSettings``: the client takes its credentials and API
root from the ``THINGSPACE_*`` variables and shares its tokens through the queue's
Redis (``QUEUE_TEST_REDIS``)."""

from __future__ import annotations

import os

from thingspace_callbacks import AsyncThingSpaceClient
from thingspace_callbacks.redis import RedisTokenStore, worker_settings

REDIS = os.environ["QUEUE_TEST_REDIS"]


def client() -> AsyncThingSpaceClient:
    return AsyncThingSpaceClient(token_store=RedisTokenStore(REDIS))


WorkerSettings = worker_settings(
    client,
    REDIS,
    concurrency=20,
    callback_password=os.environ.get("QUEUE_TEST_PASSWORD"),
    job_timeout=10,
)
