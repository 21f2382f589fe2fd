"""One operation over many accounts through an arq queue: one job per account, run by
any number of arq workers, the results streamed back to whoever enqueued them.

The enqueuing side (:func:`enqueue_fan_out`, :class:`QueuedFanOut`) and the workers
(:func:`worker_settings`, or ``thingspace-callbacks worker``) share nothing but Redis:

- A job's id is a digest of the operation, its arguments, the API root and the
  account, and arq adds no job whose id is queued, running or kept as a result, so
  enqueueing the same run twice adds nothing.
- Jobs carry no secret in clear: a callback password, or the userinfo of a listener
  URL, travels as a salted PBKDF2 digest; the worker is given the secret itself and
  runs a job only when it matches the digest.
- A worker pushes each outcome onto a list named for the run, where the enqueuing side
  pops them in batches; arq keeps it as the job's result too, which is where a later
  run (after Ctrl-C, after a crash) finds the outcomes nobody collected.
- A job whose worker died runs again once arq's lock on it lapses (the job timeout
  plus 10 s). Registration sets *the* listener of an account and service, so running
  it twice is safe; so is removing or listing twice.
- Redis going away: the enqueuing side waits for it and then queues again every job
  Redis lost; ``thingspace-callbacks worker`` reconnects (arq's own worker exits).

Jobs and results are JSON (:func:`queue_pool` and :func:`worker_settings` set arq's
serializers): a job read from Redis is data, never code, unlike arq's default pickle.
Like arq and ``redis.asyncio``, all of it needs asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import hmac
import json
import math
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import islice
from typing import TYPE_CHECKING, Any, TypeVar, cast

import anyio
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import DeserializationError, deserialize_result
from arq.worker import Function, Worker, func
from pydantic import SecretStr
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from .._attempts import AttemptCounter, current_counter
from .._checks import count, seconds
from .._errors import APIError, RequestValidationError, error_data
from .._ratelimit import Limiter, as_limiter
from .._redact import redact, redact_url
from ..models._base import plain_data
from ._connection import RETRY_INTERVAL, log

if TYPE_CHECKING:
    from anyio.abc import TaskStatus

    from .._client import AsyncThingSpaceClient

__all__ = [
    "DEFAULT_JOB_TIMEOUT",
    "DEFAULT_KEEP_RESULT",
    "DEFAULT_MAX_TRIES",
    "DEFAULT_POLL_DELAY",
    "FUNCTION_NAME",
    "QUEUE_NAME",
    "QueuedFanOut",
    "QueuedResult",
    "enqueue_fan_out",
    "queue_pool",
    "serve",
    "worker_settings",
]

_T = TypeVar("_T")

QUEUE_NAME = "thingspace:queue"
"""The arq queue the jobs go to unless told otherwise."""
FUNCTION_NAME = "thingspace_callbacks.call"
"""The arq function name of every job."""
DEFAULT_JOB_TIMEOUT = 300.0
"""Seconds a job may run; a job whose worker died runs again this long plus 10 s after
it started (arq's lock)."""
DEFAULT_KEEP_RESULT = 86_400.0
"""Seconds arq keeps a job's result: within that time the same job is not enqueued
again, and a later run collects the result instead."""
DEFAULT_MAX_TRIES = 5
"""Times a job is started before arq gives it up (its worker died, or it was stopped)."""
DEFAULT_POLL_DELAY = 0.05
"""Seconds between a worker's looks at the queue. arq starts jobs only when it looks
(its default is 0.5 s), so a worker runs at most ``concurrency / poll_delay`` jobs a
second: short calls need a short delay."""

_JOB_VERSION = 1
_FAMILIES = frozenset(
    {"location", "diagnostics", "firmware", "firmware_v3", "account_name", "account_number"}
)
_VERBS = frozenset({"register", "unregister", "list", "get"})
_NO_SERVICE = frozenset({"firmware", "firmware_v3"})
"""Families with one listener per account: no service."""
_BATCH = 1000
"""Keys per MGET, entries per LPOP, accounts per enqueueing round."""
_ENQUEUE_AT_ONCE = 32
"""Jobs enqueued concurrently: arq's enqueue is three round trips, so overlap them."""
_SWEEP_AFTER = 5.0
"""Seconds without any outcome before the kept results and the queue are checked for
outcomes nobody announced and jobs Redis lost; doubled each idle check, up to 60 s."""
_SWEEP_AFTER_AT_MOST = 60.0
_OUTAGE = (RedisConnectionError, RedisTimeoutError, WatchError, OSError)
"""What Redis going away raises (``OSError``: refused sockets, time limits). arq's
transactions watch keys, and redis-py reports a connection lost while watching as a
``WatchError``; arq handles the other kind (a watched key changed) itself."""

_DIGEST_SCHEME = "pbkdf2_sha256"
_DIGEST_ITERATIONS = 200_000
"""Slow on purpose: whoever reads Redis can try passwords against the digest offline."""


# -- serialization -----------------------------------------------------------------------


def _encode(value: object) -> object:
    # arq stores what a job raised as its result; JSON keeps its type and message.
    if isinstance(value, BaseException):
        return {"error": {"type": type(value).__name__, "message": str(value)}}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def serialize(data: dict[str, Any]) -> bytes:
    """arq's ``job_serializer`` for these jobs: JSON, exceptions as their type and
    message."""
    return json.dumps(data, separators=(",", ":"), default=_encode).encode()


def deserialize(raw: bytes) -> dict[str, Any]:
    """arq's ``job_deserializer`` for these jobs."""
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


async def queue_pool(redis: str | RedisSettings, *, queue_name: str = QUEUE_NAME) -> ArqRedis:
    """An arq pool for :func:`enqueue_fan_out`, with the JSON serializers the workers
    of :func:`worker_settings` use; close it with ``await pool.aclose()``. Connecting
    is tried once: a Redis that does not answer raises ``redis.exceptions.ConnectionError``.

    :param redis: A ``redis://`` (``rediss://``, ``unix://``) URL or arq's
        ``RedisSettings``.
    """
    settings = RedisSettings.from_dsn(redis) if isinstance(redis, str) else redis
    return await create_pool(
        settings,
        retry=settings.conn_retries,
        job_serializer=serialize,
        job_deserializer=deserialize,
        default_queue_name=queue_name,
    )


# -- what a job does ---------------------------------------------------------------------


def digest(secret: str, salt: str, iterations: int = _DIGEST_ITERATIONS) -> str:
    """``secret`` as a job carries it: ``pbkdf2_sha256$ITERATIONS$SALT$HEX``."""
    value = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt.encode(), iterations)
    return f"{_DIGEST_SCHEME}${iterations}${salt}${value.hex()}"


def _matches(secret: str, recorded: str) -> bool:
    scheme, _, rest = recorded.partition("$")
    iterations, _, rest = rest.partition("$")
    salt, _, _ = rest.partition("$")
    if scheme != _DIGEST_SCHEME or not iterations.isdigit() or not salt:
        return False
    if not 0 < int(iterations) <= 10 * _DIGEST_ITERATIONS:
        return False  # not ours, or an attempt to make the worker spin
    return hmac.compare_digest(recorded, digest(secret, salt, int(iterations)))


def _sha256(value: object) -> str:
    return hashlib.sha256(json.dumps(value, separators=(",", ":")).encode()).hexdigest()


def _has_userinfo(url: str | None) -> bool:
    return url is not None and redact_url(url) != url


class _Refused(Exception):  # noqa: N818 - a job's fate, not a bug
    """A job this worker will not run; its outcome is a failure saying why."""


@dataclass(frozen=True)
class _Call:
    """An operation and its arguments, the same for every account of a run."""

    family: str
    verb: str
    service: str | None = None
    url: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    base_url: str | None = None

    @classmethod
    def parse(cls, operation: str, base_url: str | None, **arguments: Any) -> _Call:
        family, _, verb = str(operation).partition(".")
        if family not in _FAMILIES or verb not in _VERBS:
            raise RequestValidationError(
                f"operation {operation!r}: expected FAMILY.VERB, FAMILY one of "
                f"{', '.join(sorted(_FAMILIES))} and VERB one of {', '.join(sorted(_VERBS))}"
            )
        given = {name: value for name, value in arguments.items() if value is not None}
        _check_arguments(operation, _accepts(family, verb), given)
        password = given.pop("password", None)
        secret = SecretStr(password) if isinstance(password, str) else password
        return cls(family, verb, password=secret, base_url=base_url, **given)

    @property
    def _plain(self) -> list[Any]:
        """Everything but the secrets, which only their digests stand for."""
        return [
            _JOB_VERSION,
            self.family,
            self.verb,
            self.service,
            redact_url(self.url) if self.url else None,
            self.username,
            redact_url(self.base_url) if self.base_url else None,
        ]

    @cached_property
    def digests(self) -> dict[str, str | None]:
        """The secrets, digested with a salt derived from the rest: the same run
        digests them the same way, so its job ids do not change."""
        salt = _sha256(self._plain)[:32]
        password = self.password.get_secret_value() if self.password else None
        return {
            "password": digest(password, salt) if password is not None else None,
            "urlDigest": digest(self.url, salt) if self.url and _has_userinfo(self.url) else None,
        }

    @cached_property
    def run_key(self) -> str:
        """Names the run: the work without the accounts."""
        return _sha256([self._plain, self.digests])[:32]

    def job_id(self, account: str, prefix: str) -> str:
        return prefix + _sha256([self.run_key, account])[:40]

    def payload(self, account: str, notify: str) -> dict[str, Any]:
        """What the job carries: the plain arguments and the secrets' digests."""
        _, family, verb, service, url, username, base_url = self._plain
        return {
            "v": _JOB_VERSION,
            "family": family,
            "verb": verb,
            "account": account,
            "service": service,
            "url": url,
            "username": username,
            "baseUrl": base_url,
            **self.digests,
            "notify": notify,
        }


def _accepts(family: str, verb: str) -> set[str]:
    """The keyword arguments ``client.FAMILY.VERB`` takes, of those a job carries."""
    accepted = set() if verb in ("list", "get") or family in _NO_SERVICE else {"service"}
    if verb == "register":
        accepted.add("url")
        if family == "account_name":
            accepted |= {"username", "password"}
    return accepted


def _check_arguments(operation: str, accepted: set[str], given: dict[str, object]) -> None:
    unexpected = sorted(set(given) - accepted)
    if unexpected:
        names = ", ".join(repr(name) for name in unexpected)
        raise RequestValidationError(f"{operation} takes no {names}")
    for name, value in given.items():
        allowed = (str, SecretStr) if name == "password" else (str,)
        if not isinstance(value, allowed):
            raise RequestValidationError(f"'{name}' must be a str, not {type(value).__name__}")


def _job_fields(job: object) -> dict[str, str | None]:
    """The fields of a job payload, checked: every one a string or ``None``."""
    if not isinstance(job, dict) or job.get("v") != _JOB_VERSION:
        raise _Refused("not a job of this version of thingspace-callbacks")
    fields = {key: value for key, value in job.items() if key != "v"}
    if not all(_is_text(value) for value in fields.values()):
        raise _Refused("a job field is not a string")
    family, verb = fields.get("family"), fields.get("verb")
    if family not in _FAMILIES or verb not in _VERBS:
        raise _Refused(f"unknown operation {family}.{verb}")
    if not fields.get("account"):
        raise _Refused("the job names no account")
    return fields


def _is_text(value: object) -> bool:
    return value is None or isinstance(value, str)


class _Secrets:
    """The secrets a worker was given, revealed to a job that carries their digest."""

    def __init__(self, password: str | SecretStr | None, urls: Iterable[str]) -> None:
        self._password = SecretStr(password) if isinstance(password, str) else password
        self._urls = [url for url in urls if _has_userinfo(url)]
        self._known: dict[str, str | None] = {}
        self._lock = anyio.Lock()

    async def password(self, recorded: str) -> SecretStr:
        candidates = [self._password.get_secret_value()] if self._password else []
        found = await self._reveal(recorded, candidates)
        if found is None:
            raise _Refused(
                "the job's callback password is not this worker's: give the worker the "
                "same one (worker --callback-password or $THINGSPACE_CALLBACK_PASSWORD; "
                "worker_settings(callback_password=...))"
            )
        return SecretStr(found)

    async def url(self, masked: str, recorded: str) -> str:
        candidates = [url for url in self._urls if redact_url(url) == masked]
        found = await self._reveal(recorded, candidates)
        if found is None:
            raise _Refused(
                f"the job's listener URL {masked} has credentials this worker was not "
                "given: pass the URL to the worker (worker --url; "
                "worker_settings(listener_urls=[...]))"
            )
        return found

    async def _reveal(self, recorded: str, candidates: list[str]) -> str | None:
        # One digest per run, computed once (in a thread: it takes a tenth of a
        # second) however many jobs ask at once.
        async with self._lock:
            if recorded not in self._known:
                self._known[recorded] = await anyio.to_thread.run_sync(
                    _first_match, recorded, candidates
                )
            return self._known[recorded]


def _first_match(recorded: str, candidates: list[str]) -> str | None:
    return next((secret for secret in candidates if _matches(secret, recorded)), None)


def describe(exc: Exception) -> str:
    """An error as an outcome's message: the API's message, or the exception's."""
    return exc.message if isinstance(exc, APIError) else str(exc) or type(exc).__name__


class _Jobs:
    """What a worker runs for each job: the call, with the worker's client and secrets."""

    def __init__(
        self,
        *,
        secrets: _Secrets,
        limiter: Limiter | None = None,
        keep_result: float = DEFAULT_KEEP_RESULT,
        message: Callable[[Exception], str] = describe,
    ) -> None:
        self.client: AsyncThingSpaceClient | None = None
        """Set before the worker starts (by ``on_startup`` in :func:`worker_settings`)."""
        self._secrets = secrets
        self._limiter = limiter
        self._keep_result = keep_result
        self._message = message

    def function(self, *, timeout: float, keep_result: float, max_tries: int) -> Function:
        return func(
            self.run,
            name=FUNCTION_NAME,
            timeout=timeout,
            keep_result=keep_result,
            max_tries=max_tries,
        )

    async def run(self, ctx: dict[Any, Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The arq coroutine: ``args`` is the one job payload."""
        job = args[0] if len(args) == 1 and not kwargs else None
        try:
            fields = _job_fields(job)
            outcome = await self._call(fields)
        except _Refused as exc:
            fields = job if isinstance(job, dict) else {}
            account = fields.get("account")
            outcome = _failure(account, {"type": "JobRefused", "message": str(exc)})
        await self._notify(ctx, fields.get("notify"), outcome)
        return outcome

    async def _call(self, fields: dict[str, str | None]) -> dict[str, Any]:
        client = self.client
        if client is None:
            raise _Refused("the worker has no client (it was not started)")
        if fields["baseUrl"] is not None and fields["baseUrl"] != redact_url(client.base_url):
            raise _Refused(
                f"the job is for the API at {fields['baseUrl']}, this worker talks to "
                f"{redact_url(client.base_url)}"
            )
        operation = getattr(getattr(client, str(fields["family"])), str(fields["verb"]), None)
        if operation is None:
            raise _Refused(f"{fields['family']} has no {fields['verb']}")
        arguments = await self._arguments(fields)
        if self._limiter is not None:
            await self._limiter.acquire()
        return await _outcome(str(fields["account"]), operation, arguments, self._message)

    async def _arguments(self, fields: dict[str, str | None]) -> dict[str, object]:
        arguments: dict[str, object] = {
            name: fields.get(name) for name in ("service", "url", "username") if fields.get(name)
        }
        masked, recorded = fields.get("url"), fields.get("urlDigest")
        if masked and recorded:
            arguments["url"] = await self._secrets.url(masked, recorded)
        if fields.get("password"):
            arguments["password"] = await self._secrets.password(str(fields["password"]))
        return arguments

    async def _notify(self, ctx: dict[Any, Any], key: object, outcome: dict[str, Any]) -> None:
        """Announce ``outcome`` to whoever waits for it; when Redis fails, they find
        it among arq's results instead."""
        redis = ctx.get("redis")
        if not isinstance(key, str) or not isinstance(redis, ArqRedis):
            return
        entry = json.dumps({"job": ctx.get("job_id"), "result": outcome}, separators=(",", ":"))
        with contextlib.suppress(*_OUTAGE):
            async with redis.pipeline(transaction=False) as pipe:
                pipe.rpush(key, entry)
                pipe.expire(key, max(1, math.ceil(self._keep_result)))
                await pipe.execute()

    async def startup(
        self, ctx: dict[Any, Any], factory: Callable[[], AsyncThingSpaceClient]
    ) -> None:
        client = factory()
        await client.__aenter__()
        self.client = client

    async def shutdown(self, ctx: dict[Any, Any]) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.aclose()


async def _outcome(
    account: str,
    operation: Callable[..., Awaitable[object]],
    arguments: dict[str, object],
    message: Callable[[Exception], str],
) -> dict[str, Any]:
    counter = AttemptCounter()
    token = current_counter.set(counter)
    started = time.perf_counter()
    try:
        value = await operation(account, **arguments)
    except Exception as exc:
        data: dict[str, Any] = {"error": error_data(exc, message(exc))}
    else:
        data = {"value": redact(plain_data(value))}
    finally:
        current_counter.reset(token)
    elapsed = round(time.perf_counter() - started, 6)
    return {"account": account, "ok": "value" in data, "attempts": counter.count,
            "elapsed": elapsed, **data}  # fmt: skip


def _failure(account: object, error: dict[str, Any], elapsed: float = 0.0) -> dict[str, Any]:
    return {"account": account, "ok": False, "attempts": 0, "elapsed": elapsed, "error": error}


def worker_settings(
    client: Callable[[], AsyncThingSpaceClient],
    redis: str | RedisSettings = "redis://localhost:6379/0",
    *,
    queue_name: str = QUEUE_NAME,
    concurrency: int = 20,
    rate_limit: float | Limiter | None = None,
    callback_password: str | SecretStr | None = None,
    listener_urls: Iterable[str] = (),
    job_timeout: float = DEFAULT_JOB_TIMEOUT,
    keep_result: float = DEFAULT_KEEP_RESULT,
    max_tries: int = DEFAULT_MAX_TRIES,
    poll_delay: float = DEFAULT_POLL_DELAY,
) -> dict[str, Any]:
    """arq worker settings that run the jobs of :func:`enqueue_fan_out`; run them with
    ``arq yourmodule.WorkerSettings``::

        WorkerSettings = worker_settings(
            lambda: AsyncThingSpaceClient(token_store=RedisTokenStore(REDIS)), REDIS
        )

    :param client: Makes the worker's client (called once, in ``on_startup``; closed in
        ``on_shutdown``). Give it a :class:`RedisTokenStore` to share credentials.
    :param redis: Where the queue is: a ``redis://`` URL or arq's ``RedisSettings``.
    :param queue_name: The arq queue, as given to :func:`enqueue_fan_out`.
    :param concurrency: Jobs run at once (arq's ``max_jobs``).
    :param rate_limit: Accounts started per second (a :class:`RedisRateLimiter` to
        share the budget with every worker).
    :param callback_password: The account-name callback password jobs carry only as a
        digest; a job whose digest does not match fails, saying so.
    :param listener_urls: Listener URLs with userinfo, likewise carried as a digest.
    :param job_timeout: Seconds a job may run. A job whose worker died runs again once
        arq's lock on it lapses: ``job_timeout`` plus 10 s after it started.
    :param keep_result: Seconds outcomes are kept: until then the same job is not
        enqueued again, and a later run collects the outcome instead of calling.
    :param max_tries: Times a job is started before arq gives up on it.
    :param poll_delay: Seconds between looks at the queue: arq starts jobs only then.

    The dict holds arq ``Worker`` arguments; add more (``health_check_interval``...) or your own
    functions to it (they then get JSON, as these settings use JSON serializers).
    """
    jobs = _Jobs(
        secrets=_Secrets(callback_password, listener_urls),
        limiter=as_limiter(rate_limit),
        keep_result=seconds(keep_result, "keep_result", positive=True),
    )

    async def on_startup(ctx: dict[Any, Any]) -> None:
        await jobs.startup(ctx, client)

    return {
        **_worker_arguments(
            jobs, queue_name, concurrency, job_timeout, keep_result, max_tries, poll_delay
        ),
        "redis_settings": RedisSettings.from_dsn(redis) if isinstance(redis, str) else redis,
        "on_startup": on_startup,
        "on_shutdown": jobs.shutdown,
    }


def _worker_arguments(
    jobs: _Jobs,
    queue_name: str,
    concurrency: int,
    job_timeout: float,
    keep_result: float,
    max_tries: int,
    poll_delay: float,
) -> dict[str, Any]:
    job_timeout = seconds(job_timeout, "job_timeout", positive=True)
    keep_result = seconds(keep_result, "keep_result", positive=True)
    max_tries = count(max_tries, "max_tries", minimum=1)
    return {
        "functions": [
            jobs.function(timeout=job_timeout, keep_result=keep_result, max_tries=max_tries)
        ],
        "queue_name": queue_name,
        "max_jobs": count(concurrency, "concurrency", minimum=1),
        "job_timeout": job_timeout,
        "keep_result": keep_result,
        "max_tries": max_tries,
        "poll_delay": seconds(poll_delay, "poll_delay", positive=True),
        "job_serializer": serialize,
        "job_deserializer": deserialize,
    }


# -- a worker that outlives Redis outages ------------------------------------------------


async def serve(
    client: AsyncThingSpaceClient,
    redis: RedisSettings,
    *,
    queue_name: str = QUEUE_NAME,
    concurrency: int = 20,
    rate_limit: Limiter | None = None,
    callback_password: str | SecretStr | None = None,
    listener_urls: Iterable[str] = (),
    job_timeout: float = DEFAULT_JOB_TIMEOUT,
    keep_result: float = DEFAULT_KEEP_RESULT,
    max_tries: int = DEFAULT_MAX_TRIES,
    poll_delay: float = DEFAULT_POLL_DELAY,
    message: Callable[[Exception], str] = describe,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Run the jobs with ``client`` until cancelled (``thingspace-callbacks worker``).

    arq's worker stops when Redis goes away; this starts a new one on a new connection
    once Redis answers again, with one warning and one line when it is back. Jobs
    running when it stops (cancelled, or Redis gone) go back to the queue, or, when
    Redis lost them, are queued again by whoever waits for them.
    """
    jobs = _Jobs(
        secrets=_Secrets(callback_password, listener_urls),
        limiter=rate_limit,
        keep_result=keep_result,
        message=message,
    )
    jobs.client = client
    arguments = _worker_arguments(
        jobs, queue_name, concurrency, job_timeout, keep_result, max_tries, poll_delay
    )
    asyncio.get_running_loop().set_exception_handler(_quiet_outages)
    outage = _Outage(_address(redis), "the worker waits for it and runs jobs again once it is back")
    while True:
        try:
            pool = await _pool(redis, queue_name)
        except _OUTAGE as exc:
            outage.failed(exc)
            await anyio.sleep(RETRY_INTERVAL)
            continue
        outage.recovered()
        if on_ready is not None:
            on_ready()
        try:
            await _work(Worker(**arguments, redis_pool=pool, handle_signals=False))
        except _OUTAGE as exc:
            outage.failed(exc)
        await anyio.sleep(RETRY_INTERVAL)


def _quiet_outages(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    # A job cancelled while arq recorded its end leaves that recording to fail alone
    # when Redis is gone; the outage has its own warning, and the job runs again.
    if isinstance(context.get("exception"), _OUTAGE):
        return
    loop.default_exception_handler(context)


async def _pool(redis: RedisSettings, queue_name: str) -> ArqRedis:
    # Retried here, not by arq, which waits and warns in its own words.
    settings = dataclasses.replace(redis, conn_retries=0)
    return await create_pool(
        settings,
        job_serializer=serialize,
        job_deserializer=deserialize,
        default_queue_name=queue_name,
    )


async def _work(worker: Worker) -> None:
    try:
        await worker.async_run()
    finally:
        # However it ended, the jobs it runs are put back (arq retries cancelled ones)
        # before the next worker starts, even when this one is being cancelled.
        with anyio.CancelScope(shield=True):
            await _stop(worker)


async def _stop(worker: Worker) -> None:
    # close() cancels the jobs (arq puts them back in the queue), then gives up at the
    # first that could not record its end: Redis gone, or cancelled while recording
    # (shielded here, so that cancellation is never ours). The others still end, and
    # are awaited below.
    with contextlib.suppress(*_OUTAGE, asyncio.CancelledError):
        await worker.close()
    await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
    pool = worker.pool
    if pool is not None:
        with contextlib.suppress(*_OUTAGE):
            await pool.aclose()


def _address(redis: RedisSettings) -> str:
    """``host:port/db`` (or the socket path); never a password."""
    if redis.unix_socket_path:
        return redis.unix_socket_path
    return f"{redis.host}:{redis.port}/{redis.database}"


class _Outage:
    """One warning when Redis stops answering, one line when it is back."""

    def __init__(self, address: str, consequence: str) -> None:
        self.address = address
        self._consequence = consequence
        self._since: float | None = None

    @property
    def down(self) -> bool:
        return self._since is not None

    def failed(self, exc: BaseException) -> None:
        if self._since is None:
            self._since = time.monotonic()
            log.warning(
                "Redis at %s is unavailable (%s); %s",
                self.address,
                type(exc).__name__,
                self._consequence,
            )

    def recovered(self) -> bool:
        """Note that Redis answered; whether it had been down."""
        if self._since is None:
            return False
        log.warning(
            "Redis at %s answers again after %.1f s", self.address, time.monotonic() - self._since
        )
        self._since = None
        return True


# -- the enqueuing side ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueuedResult:
    """What happened to one account's job."""

    account: str
    ok: bool
    """Whether the call returned (``value`` is set) rather than failed (``error`` is)."""
    value: Any
    """What the operation returned, as JSON data (models by their camelCase names,
    credential-like fields masked)."""
    error: dict[str, Any] | None
    """``type`` and ``message``; for an answer of ThingSpace also ``status``,
    ``errorCode``, ``errorMessage`` and ``requestId``. A job a worker refused (a secret
    it was not given, another API root) has type ``JobRefused``."""
    attempts: int
    """HTTP attempts the call made (0 when nothing was sent)."""
    elapsed: float
    """Seconds the call took on the worker."""
    job_id: str


def _result(job_id: str, account: str, outcome: object) -> QueuedResult:
    """``outcome`` as a job returned it, checked."""
    if not isinstance(outcome, dict) or not isinstance(outcome.get("ok"), bool):
        error = outcome.get("error") if isinstance(outcome, dict) else None
        return _failed(job_id, account, error if isinstance(error, dict) else outcome)
    attempts, elapsed = outcome.get("attempts"), outcome.get("elapsed")
    error = outcome.get("error")
    return QueuedResult(
        account,
        outcome["ok"],
        outcome.get("value"),
        None if outcome["ok"] else (error if isinstance(error, dict) else {"type": "Error"}),
        attempts if isinstance(attempts, int) else 0,
        float(elapsed) if isinstance(elapsed, (int, float)) else 0.0,
        job_id,
    )


def _failed(job_id: str, account: str, error: object, elapsed: float = 0.0) -> QueuedResult:
    """A job arq gave up on: it expired, ran too long, or was started too often."""
    if isinstance(error, dict) and isinstance(error.get("error"), dict):
        error = error["error"]  # what the JSON serializer made of an exception
    if isinstance(error, BaseException):
        data = {"type": type(error).__name__, "message": str(error)}
    elif isinstance(error, dict) and isinstance(error.get("type"), str):
        data = {"type": error["type"], "message": str(error.get("message") or "")}
    else:
        data = {"type": "JobFailed", "message": str(error)}
    if data["type"] == "TimeoutError" and not data["message"]:
        data["message"] = "the job ran longer than the worker's job timeout"
    data["message"] = data["message"] or data["type"]
    return QueuedResult(account, False, None, data, 0, elapsed, job_id)


class QueuedFanOut:
    """The jobs of one run and their outcomes; made by :func:`enqueue_fan_out`.

    Iterate it for a :class:`QueuedResult` per account, in completion order, until
    every account has one; or ``await queued.all()`` for the list, in input order.
    Outcomes nobody collected (an earlier run stopped, or crashed) are collected too.
    While Redis does not answer it waits (one warning, one line when it is back) and
    then queues again any job Redis lost. Wrap it in ``anyio.fail_after`` to bound the
    wait: no worker, no outcome.
    """

    def __init__(
        self,
        redis: ArqRedis,
        operation: str,
        *,
        base_url: str | None = None,
        queue_name: str = QUEUE_NAME,
        prefix: str = "thingspace:",
        rerun_failed: bool = True,
        timeout: float = 10.0,
        poll_interval: float = 0.1,
        service: str | None = None,
        url: str | None = None,
        username: str | None = None,
        password: str | SecretStr | None = None,
    ) -> None:
        if not isinstance(redis, ArqRedis):
            raise RequestValidationError(
                f"expected an arq pool (queue_pool(url)), not {type(redis).__name__}"
            )
        self._redis = redis
        self._call = _Call.parse(
            operation, base_url, service=service, url=url, username=username, password=password
        )
        self.queue_name = queue_name
        self._prefix = prefix
        self._rerun_failed = rerun_failed
        self._timeout = seconds(timeout, "timeout", positive=True)
        self._poll_interval = seconds(poll_interval, "poll_interval", positive=True)
        self._notify_key = f"{prefix}queue:done:{self._call.run_key}"
        self._order: dict[str, int] = {}
        self._pending: dict[str, str] = {}
        self._ready: deque[QueuedResult] = deque()
        self._adding = 0
        self._outage = _Outage(
            _pool_address(redis), "waiting for it; jobs it lost are queued again once it is back"
        )
        self._sweep_now = False
        self._idle_checks = 0
        self._last_outcome = self._started = time.perf_counter()
        self.enqueued = 0
        """Jobs this run added to the queue."""
        self.existing = 0
        """Accounts whose job was already queued, running, or done (kept outcome)."""
        self.requeued = 0
        """Jobs queued again because Redis had lost them."""

    @property
    def pending(self) -> int:
        """Accounts enqueued whose outcome has not arrived."""
        return len(self._pending)

    @property
    def elapsed(self) -> float:
        """Seconds from the start to the last outcome."""
        return self._last_outcome - self._started

    def job_id(self, account: str) -> str:
        """The id of ``account``'s job in this run."""
        return self._call.job_id(account, self._prefix)

    async def enqueue(
        self,
        accounts: Iterable[str],
        *,
        task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Enqueue a job for each account not enqueued yet (an account given twice is
        done once); iteration waits until this returns. Start it with a task group's
        ``start()`` to collect outcomes while it enqueues."""
        self._adding += 1
        task_status.started()
        try:
            for batch in _batches(accounts):
                await self._enqueue_batch(batch)
        finally:
            self._adding -= 1

    async def all(self) -> list[QueuedResult]:
        """Every outcome, in the order the accounts were given."""
        results = [result async for result in self]
        return sorted(results, key=lambda result: self._order[result.job_id])

    def __aiter__(self) -> AsyncIterator[QueuedResult]:
        return self.results()

    async def results(self) -> AsyncGenerator[QueuedResult, None]:
        """The outcomes in completion order (what iterating the run gives), as a
        generator to ``aclose()`` when leaving it early."""
        while True:
            while self._ready:
                yield self._ready.popleft()
            if not self._pending and not self._adding:
                return
            await self._collect()

    async def _collect(self) -> None:
        """Take the outcomes announced so far; when none come for a while, look for
        the ones nobody announced and the jobs Redis lost."""
        idle_for = min(_SWEEP_AFTER * 2 ** min(self._idle_checks, 8), _SWEEP_AFTER_AT_MOST)
        if self._sweep_now or time.perf_counter() - self._last_outcome > idle_for:
            await self._sweep()
            return
        key = self._notify_key
        entries = await self._command(lambda redis: _pop(redis, key))
        if not entries:
            await anyio.sleep(self._poll_interval)
            return
        for entry in entries:
            self._announced(entry)

    def _announced(self, entry: bytes) -> None:
        try:
            data = json.loads(entry)
            job_id = data["job"]
            account = self._pending.get(job_id)
        except (ValueError, KeyError, TypeError):
            return  # not ours
        if account is not None:
            self._deliver(_result(job_id, account, data["result"]))

    def _deliver(self, result: QueuedResult) -> None:
        if self._pending.pop(result.job_id, None) is None:
            return  # a job run twice, or announced after a sweep found it
        self._ready.append(result)
        self._last_outcome = time.perf_counter()
        self._idle_checks = 0

    async def _enqueue_batch(self, accounts: list[str]) -> None:
        fresh = self._register(accounts)
        kept = await self._kept(fresh)
        rerun = [job_id for job_id, result in kept.items() if self._rerun_failed and not result.ok]
        if rerun:
            keys = [result_key_prefix + job_id for job_id in rerun]
            await self._command(lambda redis: redis.delete(*keys))
        for job_id in rerun:
            del kept[job_id]
        for result in kept.values():
            self.existing += 1
            self._deliver(result)
        await self._enqueue_jobs([job_id for job_id in fresh if job_id not in kept])

    def _register(self, accounts: list[str]) -> list[str]:
        """The job ids of the accounts not seen before in this run, now pending."""
        fresh = []
        for account in accounts:
            job_id = self.job_id(account)
            if job_id not in self._order:
                self._order[job_id] = len(self._order)
                self._pending[job_id] = account
                fresh.append(job_id)
        return fresh

    async def _kept(self, job_ids: list[str]) -> dict[str, QueuedResult]:
        """The outcomes arq keeps for ``job_ids`` (those that have one)."""
        if not job_ids:
            return {}
        keys = [result_key_prefix + job_id for job_id in job_ids]
        values = await self._command(lambda redis: redis.mget(keys))
        kept = {}
        for job_id, raw in zip(job_ids, values, strict=True):
            account = self._pending.get(job_id)
            if raw is not None and account is not None:
                kept[job_id] = self._decode(job_id, account, raw)
        return kept

    def _decode(self, job_id: str, account: str, raw: bytes) -> QueuedResult:
        try:
            info = deserialize_result(raw, deserializer=self._redis.job_deserializer)
        except DeserializationError:
            return _failed(job_id, account, "its result could not be read")
        if info.success:
            return _result(job_id, account, info.result)
        elapsed = (info.finish_time - info.start_time).total_seconds()
        return _failed(job_id, account, info.result, max(0.0, elapsed))

    async def _enqueue_jobs(self, job_ids: list[str], *, lost: bool = False) -> None:
        """Enqueue the jobs of ``job_ids`` still pending (arq adds none whose id is
        queued, running or kept), counting each as it goes: a run stopped halfway
        still says how many it added."""
        limit = anyio.Semaphore(_ENQUEUE_AT_ONCE)

        async def one(job_id: str) -> None:
            async with limit:
                added = await self._enqueue_job(job_id)
            if added and lost:
                self.requeued += 1
            elif added:
                self.enqueued += 1
            elif not lost:
                self.existing += 1

        async with anyio.create_task_group() as group:
            for job_id in job_ids:
                group.start_soon(one, job_id)

    async def _enqueue_job(self, job_id: str) -> bool:
        account = self._pending.get(job_id)
        if account is None:
            return False
        payload = self._call.payload(account, self._notify_key)
        job = await self._command(
            lambda redis: redis.enqueue_job(
                FUNCTION_NAME, payload, _job_id=job_id, _queue_name=self.queue_name
            )
        )
        return job is not None

    async def _sweep(self) -> None:
        """Deliver the kept outcomes nobody announced (a run that stopped after taking
        them, a job arq gave up on) and queue again the jobs Redis lost."""
        self._sweep_now = False
        self._idle_checks += 1
        lost: list[str] = []
        for chunk in _batches(list(self._pending)):
            for result in (await self._kept(chunk)).values():
                self._deliver(result)
            lost += await self._missing([job_id for job_id in chunk if job_id in self._pending])
        if lost:
            log.warning("%d jobs were lost by Redis: queueing them again", len(lost))
            await self._enqueue_jobs(lost, lost=True)

    async def _missing(self, job_ids: list[str]) -> list[str]:
        """The jobs of ``job_ids`` that are neither queued nor running nor done."""
        if not job_ids:
            return []

        async def exists(redis: ArqRedis) -> list[int]:
            async with redis.pipeline(transaction=False) as pipe:
                for job_id in job_ids:
                    pipe.exists(job_key_prefix + job_id, result_key_prefix + job_id)
                return await pipe.execute()

        found = await self._command(exists)
        return [job_id for job_id, present in zip(job_ids, found, strict=True) if not present]

    async def _command(self, command: Callable[[ArqRedis], Awaitable[_T]]) -> _T:
        """``command``'s result, waiting for Redis as long as it does not answer."""
        while True:
            try:
                with anyio.fail_after(self._timeout):
                    result = await command(self._redis)
            except _OUTAGE as exc:
                self._outage.failed(exc)
                await anyio.sleep(RETRY_INTERVAL)
                continue
            if self._outage.recovered():
                self._sweep_now = True  # it may have restarted empty
            return result

    def __repr__(self) -> str:
        return (
            f"<QueuedFanOut {self._call.family}.{self._call.verb} on {self.queue_name!r}: "
            f"{self.pending} pending>"
        )


async def _pop(redis: ArqRedis, key: str) -> list[bytes]:
    # redis-py types the asyncio client's commands with its synchronous client's.
    entries = await cast("Awaitable[list[bytes] | None]", redis.lpop(key, _BATCH))
    return entries or []


def _pool_address(redis: ArqRedis) -> str:
    settings = redis.connection_pool.connection_kwargs
    if "path" in settings:
        return str(settings["path"])
    return (
        f"{settings.get('host', 'localhost')}:{settings.get('port', 6379)}/{settings.get('db', 0)}"
    )


def _batches(items: Iterable[_T], size: int = _BATCH) -> Iterator[list[_T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


async def enqueue_fan_out(
    redis: ArqRedis,
    operation: str,
    accounts: Iterable[str],
    *,
    service: str | None = None,
    url: str | None = None,
    username: str | None = None,
    password: str | SecretStr | None = None,
    base_url: str | None = None,
    queue_name: str = QUEUE_NAME,
    prefix: str = "thingspace:",
    rerun_failed: bool = True,
) -> QueuedFanOut:
    """Enqueue ``operation`` for every account, one arq job each, and return the run,
    whose outcomes are iterated or awaited::

        pool = await queue_pool("redis://localhost:6379/0")
        queued = await enqueue_fan_out(
            pool, "location.register", accounts, service="Location", url=URL
        )
        async for result in queued:
            print(result.account, result.ok, result.value or result.error)

    A job's id is derived from the operation, its arguments, ``base_url`` and the
    account, so enqueueing the same run twice adds nothing: accounts whose job is
    queued or running are waited for, and those with a kept outcome get it at once.

    :param redis: An arq pool made by :func:`queue_pool` (its serializers must be
        those of the workers).
    :param operation: ``"FAMILY.VERB"``: a sub-client of the client and its method
        (``"location.register"``, ``"account_name.unregister"``, ``"firmware.get"``).
    :param accounts: The accounts, read lazily.
    :param service: The method's ``service``.
    :param url: The method's ``url``; its userinfo, if any, travels only as a digest
        (give the URL to the workers: ``listener_urls``).
    :param username: ``account_name.register``'s ``username``.
    :param password: ``account_name.register``'s ``password``: the job carries a
        digest, the workers need the password itself (``callback_password``).
    :param base_url: The API root the workers must talk to: a worker whose client
        talks to another refuses the job. ``None``: any.
    :param queue_name: The arq queue the workers read.
    :param prefix: Put before job ids and the run's Redis keys.
    :param rerun_failed: Enqueue again the accounts whose kept outcome is a failure
        (``False``: hand out that failure).
    """
    queued = QueuedFanOut(
        redis,
        operation,
        base_url=base_url,
        queue_name=queue_name,
        prefix=prefix,
        rerun_failed=rerun_failed,
        service=service,
        url=url,
        username=username,
        password=password,
    )
    await queued.enqueue(accounts)
    return queued
