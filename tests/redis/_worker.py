"""One process of a test fleet: a client sharing its tokens (and, if asked, its rate
limit) through Redis, driven by commands over a pipe.

:mod:`._fleet` starts it with :func:`run` through multiprocessing's forkserver, which
imports this module (and so the SDK, httpx and redis) once and forks each process from
there: a real process of its own (own memory, connections and event loop), which does
not spend half a second of CPU importing what every other process imports too.

It sends ``"ready"`` once its client is built. Commands:

- ``"calls N"``: make N concurrent ``client.location.list`` calls, then send one JSON
  text ``{"ok": <successes>, "errors": [<exception type names>], "messages": [<their
  messages>]}``;
- ``"quit"`` (or the pipe closing): close the client and exit.

Log records go to the file it is given, one a line, as ``LEVEL logger: message``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import TYPE_CHECKING, Any

import anyio

from thingspace_callbacks import AsyncThingSpaceClient
from thingspace_callbacks.redis import RedisRateLimiter, RedisTokenStore

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

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


async def main(settings: dict[str, Any], commands: Connection) -> None:
    store = RedisTokenStore(settings["redis_url"], **settings.get("store", {}))
    limiter = _limiter(settings)
    client = AsyncThingSpaceClient(
        base_url=settings["base_url"],
        token_store=store,
        rate_limit=limiter,
        **settings["credentials"],
    )
    async with store, client:
        commands.send("ready")
        while True:
            try:
                line: str = await anyio.to_thread.run_sync(commands.recv)
            except EOFError:  # the test is gone
                break
            command, _, argument = line.partition(" ")
            if command != "calls":
                break
            commands.send(json.dumps(await _calls(client, int(argument))))
    if limiter is not None:
        await limiter.aclose()


def run(settings: dict[str, Any], commands: Connection, log: str) -> None:
    """The process: its log to ``log``, no ``THINGSPACE_*`` variable of the test's
    environment, then :func:`main` until told to quit."""
    for name in [name for name in os.environ if name.startswith("THINGSPACE")]:
        del os.environ[name]
    logging.basicConfig(
        filename=log, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        asyncio.run(main(settings, commands))
    except BaseException:
        logging.getLogger(__name__).exception("the worker failed")
        raise
    finally:
        commands.close()
