"""``thingspace-callbacks worker``: run the jobs ``bulk --queue`` puts in Redis.

Each worker builds its client from the same options and ``THINGSPACE_*`` variables as
every other command, and shares through the queue's Redis one token and one session
(:class:`~thingspace_callbacks.redis.RedisTokenStore`) and, with ``--rate``, one rate
budget (:class:`~thingspace_callbacks.redis.RedisRateLimiter`) with the other workers.

Jobs carry no secret in clear: a callback password, or the userinfo of a listener URL,
arrives as a digest, and the worker must be given the secret itself
(``--callback-password``, ``--url``); a job whose digest matches none fails, saying so.

When Redis goes away the worker says so once, waits, and picks up jobs again when it is
back. SIGINT or SIGTERM stops it: the jobs it was running go back to the queue. A
worker killed outright (SIGKILL) leaves its jobs locked until ``--job-timeout`` plus
10 s have passed; another worker then runs them again, which is safe: registering sets
*the* listener of an account and service, and removing or listing twice changes
nothing.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

import anyio
import click

from .._errors import RequestValidationError, ThingSpaceError
from .._redact import redact_url
from ._common import MissingExtra, Settings, UsageFailure, error_message, get_settings, run

if TYPE_CHECKING:
    from arq.connections import RedisSettings

    from .._client import AsyncThingSpaceClient
    from ..redis import RedisRateLimiter, RedisTokenStore

__all__ = ["worker"]

try:
    from ..redis._queue import (
        DEFAULT_JOB_TIMEOUT,
        DEFAULT_KEEP_RESULT,
        DEFAULT_MAX_TRIES,
        DEFAULT_POLL_DELAY,
        QUEUE_NAME,
    )
except ModuleNotFoundError as exc:  # pragma: no cover - the lazy group checks first
    raise MissingExtra("worker", (exc.name or "redis").partition(".")[0], "redis") from None


class _Options:
    """The worker's own options."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.queue: str = values["queue"]
        self.queue_name: str = values["queue_name"]
        self.concurrency: int = values["concurrency"]
        self.rate: float | None = values["rate"]
        self.burst: int = values["burst"]
        self.job_timeout: float = values["job_timeout"]
        self.keep_results: float = values["keep_results"]
        self.max_tries: int = values["max_tries"]
        self.poll_delay: float = values["poll_delay"]
        self.callback_password: str | None = values["callback_password"]
        self.urls: tuple[str, ...] = values["urls"]


def _redis_settings(url: str) -> RedisSettings:
    from arq.connections import RedisSettings

    try:
        return RedisSettings.from_dsn(url)
    except (RuntimeError, ValueError):
        # The URL is not quoted: it may hold a password.
        raise click.BadParameter(
            "expected redis://[[user]:password@]host[:port][/db], rediss://... or unix:///path",
            param_hint="--queue",
        ) from None


def _client(settings: Settings, store: RedisTokenStore) -> AsyncThingSpaceClient:
    """The client ``open_client`` would build, with the tokens kept in ``store``."""
    from .._auth.settings import VARIABLES
    from .._client import AsyncThingSpaceClient
    from .._transport import fast_transport_available

    kwargs = settings.client_kwargs()
    try:
        if "auth" in kwargs or any(os.environ.get(name) for name in VARIABLES.values()):
            # The same keywords and variables Settings.client_kwargs() resolves; the
            # store keeps what the SDK renews (fixed tokens are nobody's to share).
            auth = settings.auth()
            if auth.client_id is not None or auth.username is not None:
                auth = settings.auth(store)
            kwargs["auth"] = auth
        else:
            settings.without_credentials = True
        return AsyncThingSpaceClient(**kwargs, speedups=fast_transport_available())
    except RequestValidationError as exc:
        raise UsageFailure(str(exc)) from None


def _message(settings: Settings, exc: Exception) -> str:
    if isinstance(exc, ThingSpaceError):
        return error_message(exc, without_credentials=settings.without_credentials)
    return str(exc) or type(exc).__name__


async def _serve(options: _Options, redis: RedisSettings) -> None:
    from ..redis import RedisRateLimiter, RedisTokenStore
    from ..redis._queue import serve

    settings = get_settings()
    store = RedisTokenStore(options.queue)
    limiter: RedisRateLimiter | None = None
    if options.rate is not None:
        limiter = RedisRateLimiter(options.queue, options.rate, burst=options.burst)
    client = _client(settings, store)
    where = f"{redis.host}:{redis.port}/{redis.database}"

    def ready() -> None:
        click.echo(
            f"worker: running jobs of queue {options.queue_name!r} at {where}, "
            f"{options.concurrency} at once, against {redact_url(client.base_url)}",
            err=True,
        )

    async with store, client:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as group:
                group.start_soon(_stop_on_signal, scope)
                await serve(
                    client,
                    redis,
                    queue_name=options.queue_name,
                    concurrency=options.concurrency,
                    rate_limit=limiter,
                    callback_password=options.callback_password,
                    listener_urls=options.urls,
                    job_timeout=options.job_timeout,
                    keep_result=options.keep_results,
                    max_tries=options.max_tries,
                    poll_delay=options.poll_delay,
                    message=lambda exc: _message(settings, exc),
                    on_ready=ready,
                )
        if limiter is not None:
            await limiter.aclose()
    click.echo("worker: stopped; its unfinished jobs are back in the queue", err=True)


async def _stop_on_signal(scope: anyio.CancelScope) -> None:
    try:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                scope.cancel()
                return
    except NotImplementedError:  # pragma: no cover - Windows
        await anyio.sleep_forever()


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in ("thingspace_callbacks", "arq"):
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)


@click.command()
@click.option(
    "--queue",
    required=True,
    metavar="REDIS_URL",
    envvar="THINGSPACE_QUEUE",
    show_envvar=True,
    help="The Redis of the queue (redis://HOST:PORT/DB), as given to bulk --queue; "
    "tokens and the rate budget are shared there too.",
)
@click.option(
    "--queue-name",
    metavar="NAME",
    default=QUEUE_NAME,
    show_default=True,
    help="The arq queue, as given to bulk --queue-name.",
)
@click.option(
    "--concurrency",
    "-c",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Jobs run at once by this worker.",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    metavar="PER_SECOND",
    help="Start at most this many accounts per second, across every worker with this "
    "Redis (one shared budget).",
)
@click.option(
    "--burst",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="With --rate: accounts started at once.",
)
@click.option(
    "--job-timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    default=DEFAULT_JOB_TIMEOUT,
    show_default=True,
    help="Time a job may take; a job whose worker died runs again this long plus 10 s "
    "after it started.",
)
@click.option(
    "--keep-results",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    default=DEFAULT_KEEP_RESULT,
    show_default=True,
    help="Time outcomes are kept: until then the same job is not run again, and a later "
    "bulk run (--resume) collects them.",
)
@click.option(
    "--max-tries",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_TRIES,
    show_default=True,
    help="Times a job is started (its worker died, or stopped) before it fails.",
)
@click.option(
    "--poll-delay",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    default=DEFAULT_POLL_DELAY,
    show_default=True,
    help="Time between looks at the queue (jobs start only then).",
)
@click.option(
    "--callback-password",
    metavar="PASSWORD",
    envvar="THINGSPACE_CALLBACK_PASSWORD",
    help="account-name: the callback password jobs carry only as a digest "
    "[$THINGSPACE_CALLBACK_PASSWORD].",
)
@click.option(
    "--url",
    "urls",
    metavar="URL",
    multiple=True,
    help="A listener URL with credentials (https://user:pass@host/...), which jobs carry "
    "masked, with a digest (repeatable).",
)
@click.option("--verbose", "-v", is_flag=True, help="Log every job (arq's log) on stderr.")
def worker(verbose: bool, **values: Any) -> None:
    """Run the jobs of bulk --queue, until SIGINT or SIGTERM.

    \b
    thingspace-callbacks worker --queue redis://localhost:6379/0 -c 50
    thingspace-callbacks bulk register location accounts.csv --service Location \\
        --url https://example.com/hooks --results run.jsonl --queue redis://localhost:6379/0

    Credentials and the API root come from the global options or the THINGSPACE_*
    variables, as for every command (not --sandbox: bulk could not reach it). Start as
    many workers as you like, on any machine that reaches the Redis: they share one
    token and session, and one rate budget with --rate.

    When Redis does not answer the worker waits for it (one warning) and goes on once
    it is back. SIGINT or SIGTERM stops it: jobs it was running go back to the queue.
    A worker killed outright leaves its jobs to others after --job-timeout plus 10 s;
    running a job twice is safe (registering sets the one listener of an account and
    service).
    """
    settings = get_settings()
    if settings.sandbox:
        raise UsageFailure(
            "worker runs jobs against the API bulk --queue names: drop --sandbox (an "
            "in-process sandbox per worker), pass --base-url instead"
        )
    options = _Options(values)
    redis = _redis_settings(options.queue)
    _configure_logging(verbose)
    run(lambda: _serve(options, redis))
