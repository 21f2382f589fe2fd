"""Run one operation for many accounts at once: bounded, rate-limited and streamed.

::

    register = functools.partial(client.location.register, service="Location", url=URL)
    async with client.fan_out(accounts, register, concurrency=50, rate_limit=20) as results:
        async for result in results:          # in completion order
            print(result.account, "ok" if result.ok else result.error)

    report = await client.fan_out(accounts, register).collect()   # all, in input order

``accounts`` is read lazily, so memory grows with ``concurrency``, not with the number
of accounts, and every account taken from it yields exactly one :class:`FanOutResult`.
Everything here uses anyio, so it runs under asyncio and trio.

The runner is :class:`FanOut` (``_runner``); what it hands out, :class:`FanOutResult`,
:class:`FanOutProgress`, :class:`FanOutReport` and :class:`FanOutCancelledError`, is in
``_results``; its keyword options and their checks are in ``_options``.
"""

from __future__ import annotations

from ._options import FanOutOptions
from ._results import FanOutCancelledError, FanOutProgress, FanOutReport, FanOutResult
from ._runner import FanOut

__all__ = [
    "FanOut",
    "FanOutCancelledError",
    "FanOutOptions",
    "FanOutProgress",
    "FanOutReport",
    "FanOutResult",
]
