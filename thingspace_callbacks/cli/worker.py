"""``thingspace-callbacks worker``: run the jobs ``bulk --queue`` puts in Redis.

Each worker builds its client from the same options and ``THINGSPACE_*`` variables as
every other command, and shares through the queue's Redis one token and one session
(:class:`~thingspace_callbacks.redis.RedisTokenStore`) and, with ``--rate-limit``, one rate
budget (:class:`~thingspace_callbacks.redis.RedisRateLimiter`) with the other workers.

Jobs carry no secret in clear: a callback password, or the userinfo of a listener URL,
arrives as a digest, and the worker must be given the secret itself
(``--callback-password``, ``--url``); a job whose digest matches none fails, saying so.
The tokens the workers share are sealed in Redis with ``--token-key``
(``$THINGSPACE_TOKEN_KEY``); without it they are stored in the clear, which the worker
says once on stderr.

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
from click.core import ParameterSource
from pydantic import SecretStr

from .._auth.refusals import DEFAULT_REFUSAL_TTL
from .._errors import InvalidArgumentError, ThingSpaceError
from .._redact import redact_url
from ._common import MissingExtra, Settings, UsageFailure, error_message, get_settings, run
from ._metrics import serves_metrics

if TYPE_CHECKING:
    from arq.connections import RedisSettings

    from .._client import AsyncThingSpaceClient
    from ..redis import RedisRateLimiter, RedisTokenStore

__all__ = ["TOKEN_KEY_VARIABLE", "worker"]

TOKEN_KEY_VARIABLE = "THINGSPACE_TOKEN_KEY"
"""The variable ``--token-key`` is read from: every worker of a fleet needs the same."""

_NEW_KEY_HINT = "make one with: thingspace-callbacks worker --new-token-key"

try:
    from ..redis._jobs import QUEUE_NAME
    from ..redis._worker import (
        DEFAULT_JOB_TIMEOUT,
        DEFAULT_KEEP_RESULT,
        DEFAULT_MAX_TRIES,
        DEFAULT_POLL_DELAY,
    )
except ModuleNotFoundError as exc:  # pragma: no cover - the lazy group checks first
    raise MissingExtra.of("worker", exc, "redis") from None


class _Options:
    """The worker's own options."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.queue: str = values["queue"]
        self.queue_name: str = values["queue_name"]
        self.concurrency: int = values["concurrency"]
        self.rate_limit: float | None = values["rate_limit"]
        self.burst: int = values["burst"]
        self.job_timeout: float = values["job_timeout"]
        self.keep_results: float = values["keep_results"]
        self.max_tries: int = values["max_tries"]
        self.poll_delay: float = values["poll_delay"]
        self.callback_password: str | None = values["callback_password"]
        self.urls: tuple[str, ...] = values["urls"]
        self.token_key: SecretStr | None = _token_key(values["token_key"])
        self.refusal_ttl: float = values["refusal_ttl"]


def _token_key(value: str | None) -> SecretStr | None:
    """``--token-key`` checked before anything is sent; never quoted in a message."""
    if not value:
        return None
    try:
        from cryptography.fernet import Fernet
    except ModuleNotFoundError:
        raise MissingExtra("worker --token-key", "cryptography", "redis") from None
    try:
        Fernet(value)
    except ValueError:
        # Not chained: the error could show the key.
        source = click.get_current_context().get_parameter_source("token_key")
        hint = f"${TOKEN_KEY_VARIABLE}" if source is ParameterSource.ENVIRONMENT else "--token-key"
        raise click.BadParameter(
            f"not a Fernet key (44 url-safe base64 characters); {_NEW_KEY_HINT}",
            param_hint=hint,
        ) from None
    return SecretStr(value)


def _new_token_key(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    try:
        from cryptography.fernet import Fernet
    except ModuleNotFoundError:
        raise MissingExtra("worker --new-token-key", "cryptography", "redis") from None
    click.echo(Fernet.generate_key().decode())
    ctx.exit()


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


def _client(
    settings: Settings, store: RedisTokenStore, *, refusal_ttl: float
) -> tuple[AsyncThingSpaceClient, bool]:
    """The client ``open_client`` would build, with the tokens (and refused
    credentials, for ``refusal_ttl`` seconds) kept in ``store``; and whether it keeps
    any there."""
    from .._auth.settings import VARIABLES
    from .._client import AsyncThingSpaceClient
    from .._transport import fast_transport_available

    kwargs = settings.client_kwargs()
    shared = False
    try:
        if "auth" in kwargs or any(os.environ.get(name) for name in VARIABLES.values()):
            # The same keywords and variables Settings.client_kwargs() resolves; the
            # store keeps what the SDK renews (fixed tokens are nobody's to share).
            auth = settings.auth()
            if auth.client_id is not None or auth.username is not None:
                auth = settings.auth(store, refusal_ttl=refusal_ttl)
                shared = True
            kwargs["auth"] = auth
        else:
            settings.without_credentials = True
        client = AsyncThingSpaceClient(**kwargs, speedups=fast_transport_available())
    except InvalidArgumentError as exc:
        raise UsageFailure(str(exc)) from None
    return client, shared


def _message(settings: Settings, exc: Exception) -> str:
    if isinstance(exc, ThingSpaceError):
        return error_message(exc, without_credentials=settings.without_credentials)
    return str(exc) or type(exc).__name__


async def _serve(options: _Options, redis: RedisSettings) -> None:
    from ..redis import RedisRateLimiter, RedisTokenStore
    from ..redis._connection import redis_address
    from ..redis._serve import serve

    settings = get_settings()
    store = RedisTokenStore(options.queue, encryption_key=options.token_key)
    limiter: RedisRateLimiter | None = None
    if options.rate_limit is not None:
        limiter = RedisRateLimiter(options.queue, options.rate_limit, burst=options.burst)
    client, shared = _client(settings, store, refusal_ttl=options.refusal_ttl)
    where = redis_address(redis)
    if shared and not store.encrypted:
        click.echo(
            f"worker: warning: tokens are stored unencrypted in the Redis at {where}: "
            "whoever can read it can call ThingSpace as you. Give every worker the same "
            f"key with --token-key or ${TOKEN_KEY_VARIABLE} ({_NEW_KEY_HINT})",
            err=True,
        )

    def ready() -> None:
        sealed = "; tokens in Redis are encrypted" if shared and store.encrypted else ""
        click.echo(
            f"worker: running jobs of queue {options.queue_name!r} at {where}, "
            f"{options.concurrency} at once, against {redact_url(client.base_url)}{sealed}",
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
    help="Accounts handled at once by this worker, shared by the jobs (chunks of "
    "accounts, bulk --chunk-size) it runs at once: it takes another job whenever they "
    "leave some free, whatever the chunk size.",
)
@click.option(
    "--rate-limit",
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
    help="With --rate-limit: accounts started at once.",
)
@click.option(
    "--job-timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    default=DEFAULT_JOB_TIMEOUT,
    show_default=True,
    help="Time a job (a chunk of accounts) may take: at 90% of it the job ends with the "
    "accounts it did, and bulk queues the others again. A job whose worker died runs "
    "again, all of it, this long plus 10 s after it started.",
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
    help="connectivity: the callback password jobs carry only as a digest "
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
@click.option(
    "--token-key",
    metavar="KEY",
    envvar=TOKEN_KEY_VARIABLE,
    show_envvar=True,
    help="Encrypt the tokens the workers share in Redis with this Fernet key (the same "
    "for every worker; make one with --new-token-key). Without it they are stored in "
    "the clear. Changing it just makes the workers obtain new tokens.",
)
@click.option(
    "--new-token-key",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=_new_token_key,
    help="Print a new key for --token-key and exit.",
)
@click.option(
    "--refusal-ttl",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_REFUSAL_TTL,
    show_default=True,
    metavar="SECONDS",
    help="How long a login or client secret ThingSpace refused is not tried again by any "
    "worker (five refused logins lock the user); thingspace-callbacks auth reset clears it.",
)
@click.option("--verbose", "-v", is_flag=True, help="Log every job (arq's log) on stderr.")
@serves_metrics("worker")
def worker(verbose: bool, **values: Any) -> None:
    """Run the jobs of bulk --queue, until SIGINT or SIGTERM.

    \b
    thingspace-callbacks worker --queue redis://localhost:6379/0 -c 50
    thingspace-callbacks bulk register location accounts.csv --service Location \\
        --url https://example.com/hooks --results run.jsonl --queue redis://localhost:6379/0

    Credentials and the API root come from the global options or the THINGSPACE_*
    variables, as for every command (not --sandbox: bulk could not reach it). Start as
    many workers as you like, on any machine that reaches the Redis: they share one
    token and session, and one rate budget with --rate-limit. Give them all the same
    --token-key (or $THINGSPACE_TOKEN_KEY) so that the shared tokens are encrypted in
    Redis; without it the worker warns once that they are stored in the clear.

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
