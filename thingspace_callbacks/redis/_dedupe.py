"""``RedisDedupeStore``: receivers on many processes handle each message once."""

from __future__ import annotations

import math
import secrets
from typing import TYPE_CHECKING

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from .._checks import seconds
from .._errors import InvalidArgumentError
from ._connection import ClosingResource, Connection, Script, Unavailable, log

if TYPE_CHECKING:
    from ..receiver import Claim, ClaimOutcome

__all__ = ["RedisDedupeStore"]

_DONE = "done"

_CLAIM = Script(f"""
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 'claimed' end
if redis.call('GET', KEYS[1]) == '{_DONE}' then return '{_DONE}' end
return 'busy'
""")
"""Claim a message. KEYS[1]: its key. ARGV[1]: the claim's value; ARGV[2]: its lifetime
in milliseconds. One script, so "busy" and "done" are told apart on the value that
refused the claim, not on one read after it (which the claim could have lapsed by)."""

_COMPLETE = Script(f"""
local held = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], '{_DONE}', 'PX', ARGV[2])
if held == ARGV[1] then return 1 end
return 0
""")
"""Mark a message done, whoever holds its claim (it was handled). KEYS[1]: its key.
ARGV[1]: the claim's value; ARGV[2]: how long to remember it, in milliseconds. 0 when
the claim was no longer this one's."""

_RELEASE = Script("""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
""")
"""Compare-and-delete of a claim. KEYS[1]: the message's key; ARGV[1]: the claim's value."""


class RedisDedupeStore(ClosingResource):
    """Deduplicates ThingSpace callback messages across every receiver process that
    uses the same Redis (and ``prefix``): however many processes receive copies of a
    message at once, its handler runs once. Pass it as the receiver's ``dedupe``::

        store = RedisDedupeStore("redis://localhost:6379/0")
        receiver = Receiver(verify=[...], dedupe=store)

    or run ``thingspace-callbacks listen --dedupe redis://localhost:6379/0``.

    Each message is claimed before its handler runs (``SET {prefix}dedupe:{key}
    claimed:<token> NX PX claim_ttl``). When the handler returns, the key is marked
    done for ``seen_ttl`` seconds (``SET ... done PX seen_ttl``); when it raises, the
    claim is released by a compare-and-delete on its token, so the re-send is handled.
    A copy arriving at another process is answered **409** while the claim is held
    (ThingSpace re-sends it later, and finds it done, or released and handled then) and
    **200** without running the handler once it is done.

    A process that dies holding a claim keeps the message from being handled until the
    claim lapses, after ``claim_ttl`` seconds. So give your handlers a time limit below
    ``claim_ttl``: a handler still running when its claim lapses may run beside another
    process's handling of a re-send (a warning says so when it finishes).

    **When Redis does not answer** within ``timeout`` seconds or fails, claims fail and
    the receiver answers **503** with ``Retry-After`` without running the handler, so
    ThingSpace re-sends the message later: no message is handled twice, none is dropped,
    and there is no local fallback. One warning is logged for the outage and one line
    when Redis answers again. Each message that arrives meanwhile tries Redis again
    (one attempt at a time; the others are answered 503 at once), so the first message
    after Redis is back is handled rather than refused for a while. A handled
    message that cannot be marked done is still acknowledged (its claim lapses after
    ``claim_ttl``); one whose claim cannot be released is re-sent into 409s until then.

    Redis holds what was handled: a Redis restarted without persistence has forgotten
    it, and handles re-sends of messages handled before.

    It needs asyncio (``redis.asyncio``). Given a URL, the store makes its own clients
    (one per event loop) and :meth:`aclose` closes them; a ``redis.asyncio.Redis``
    given to it is used as is and left open.

    :param redis: A ``redis.asyncio.Redis``, or a ``redis://``, ``rediss://`` or
        ``unix://`` URL.
    :param prefix: Put before every key (``{prefix}dedupe:{key}``).
    :param claim_ttl: Seconds a claim lives unless completed or released; above the
        handlers' own time limit.
    :param seen_ttl: Seconds a handled message is remembered (ThingSpace re-sends for
        about 15 minutes; the default is a day).
    :param timeout: Seconds a Redis command may take before Redis counts as down.
    """

    def __init__(
        self,
        redis: Redis | str,
        *,
        prefix: str = "thingspace:",
        claim_ttl: float = 60.0,
        seen_ttl: float = 86400.0,
        timeout: float = 1.0,
    ) -> None:
        if not isinstance(prefix, str):
            raise InvalidArgumentError(f"'prefix' must be a str, not {type(prefix).__name__}")
        self.prefix = prefix
        """What every key starts with."""
        self.claim_ttl = seconds(claim_ttl, "claim_ttl", positive=True)
        """Seconds a claim lives unless completed or released."""
        self.seen_ttl = seconds(seen_ttl, "seen_ttl", positive=True)
        """Seconds a handled message is remembered."""
        self._claim_ms = math.ceil(self.claim_ttl * 1000)
        self._seen_ms = math.ceil(self.seen_ttl * 1000)
        self._connection = Connection(
            redis,
            timeout=seconds(timeout, "timeout", positive=True),
            consequence="callbacks are answered 503 (ThingSpace re-sends them)",
            # Unlike the token store and the limiter, which carry on without Redis,
            # every refused claim is a 503 that ThingSpace re-sends only a few times.
            retry_interval=0.0,
        )

    async def claim(self, key: str) -> ClaimOutcome:
        """Claim the message with ``key`` for ``claim_ttl`` seconds: a :class:`Claim`,
        ``"done"`` (it was handled) or ``"busy"`` (another claim is held on it).

        :raises ConnectionError: Redis is unavailable.
        """
        # Imported here: the receiver's message models would add about 0.3 s to every
        # import of this package, token stores included; a receiver has loaded it anyway.
        from ..receiver import Claim

        claim = Claim(key, secrets.token_hex(16))
        answer = await self._run(_CLAIM, claim, self._claim_ms, ("claimed", "done", "busy"))
        if answer == "claimed":
            return claim
        return "done" if answer == _DONE else "busy"

    async def complete(self, claim: Claim) -> None:
        """Mark the claim's message done for ``seen_ttl`` seconds, ending the claim.

        :raises ConnectionError: Redis is unavailable.
        """
        if await self._run(_COMPLETE, claim, self._seen_ms, (0, 1)) == 0:
            log.warning(
                "a callback's handler outlived its claim (claim_ttl=%g s), so another "
                "process may have handled it too: keep handlers below claim_ttl",
                self.claim_ttl,
            )

    async def release(self, claim: Claim) -> None:
        """End ``claim`` if it is still held, so that a re-send can be claimed.

        :raises ConnectionError: Redis is unavailable.
        """
        await self._run(_RELEASE, claim, None, (0, 1))

    async def _run(
        self,
        script: Script,
        claim: Claim,
        milliseconds: int | None,
        expected: tuple[str | int, ...],
    ) -> str | int:
        key = f"{self.prefix}dedupe:{claim.key}"
        args: list[str | bytes | int] = [f"claimed:{claim.token}"]
        if milliseconds is not None:
            args.append(milliseconds)

        async def command(redis: Redis) -> str | int:
            answer = await script(redis, [key], args)
            if isinstance(answer, bytes):
                answer = answer.decode("ascii", "replace")
            if not isinstance(answer, (str, int)) or answer not in expected:
                # Counted as Redis failing: an answer that is not understood is no claim.
                raise ResponseError(f"the dedupe script answered {answer!r}")
            return answer

        try:
            return await self._connection.run(command)
        except Unavailable:
            raise ConnectionError(f"Redis at {self._connection.address} is unavailable") from None

    def __repr__(self) -> str:
        return (
            f"RedisDedupeStore({self._connection.address!r}, prefix={self.prefix!r}, "
            f"claim_ttl={self.claim_ttl:g}, seen_ttl={self.seen_ttl:g})"
        )
