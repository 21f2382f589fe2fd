"""One process of a test fleet: a client sharing its tokens (and, if asked, its rate
limit) through Redis, driven by commands on stdin.

    python _worker.py SETTINGS_JSON

It prints ``ready`` once its client is built. Commands, one a line:

- ``calls N``: make N concurrent ``client.location.list`` calls, then print one JSON
  line ``{"ok": <successes>, "errors": [<exception type names>], "messages": [<their
  messages>]}``;
- ``quit``: close the client and exit.

Log records go to stderr, one a line, as ``LEVEL logger: message``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any

import anyio

from thingspace_callbacks import AsyncThingSpaceClient
from thingspace_callbacks.redis import RedisRateLimiter, RedisTokenStore

ACCOUNT = "0252012345-00001"


def _limiter(settings: dict[str, Any]) -> RedisRateLimiter | None:
    if "rate" not in settings:
        return None
    return RedisRateLimiter(
        settings["redis_url"], settings["rate"], burst=settings["burst"], key=settings["key"]
    )


async def _calls(client: AsyncThingSpaceClient, count: int) -> dict[str, Any]:
    errors: list[str] = []
    messages: list[str] = []
    ok = 0

    async def one() -> None:
        nonlocal ok
        try:
            await client.location.list(ACCOUNT)
        except Exception as exc:
            errors.append(type(exc).__name__)
            messages.append(str(exc))
        else:
            ok += 1

    async with anyio.create_task_group() as tg:
        for _ in range(count):
            tg.start_soon(one)
    return {"ok": ok, "errors": errors, "messages": messages}


async def main(settings: dict[str, Any]) -> None:
    store = RedisTokenStore(settings["redis_url"], **settings.get("store", {}))
    limiter = _limiter(settings)
    client = AsyncThingSpaceClient(
        base_url=settings["base_url"],
        token_store=store,
        rate_limit=limiter,
        **settings["credentials"],
    )
    async with store, client:
        print("ready", flush=True)
        while True:
            line = await anyio.to_thread.run_sync(sys.stdin.readline)
            command, _, argument = line.strip().partition(" ")
            if command != "calls":
                break
            print(json.dumps(await _calls(client, int(argument))), flush=True)
    if limiter is not None:
        await limiter.aclose()


if __name__ == "__main__":
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(main(json.loads(sys.argv[1])))
