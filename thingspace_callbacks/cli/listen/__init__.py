"""``thingspace-callbacks listen``: run a callback listener from the command line.

Without ``--handler`` every message is printed to stdout as one JSON line (credentials
masked), which is handy to see what ThingSpace sends; with ``--handler module:name``
each message is passed to that async function, or ``name`` may be a configured
:class:`~thingspace_callbacks.receiver.Receiver`, served as it is.

The listener faces the Internet, so every connection is bounded. The receiver bounds
each request's body (``--body-timeout``, 10 s, then 408; ``--max-body-size``, 1 MiB, then
413) and its handling (``--handler-timeout``, 20 s, then the handler is cancelled and
503 answered); uvicorn, configured by :func:`server_config`, bounds the rest: a
connection that has not sent a request's headers within ``--header-timeout`` (5 s) is
closed, so is an idle keep-alive connection after ``--timeout-keep-alive`` (5 s), at
most ``--limit-concurrency`` (256) requests are served at once (more are answered 503,
which ThingSpace re-sends; connections waiting for their headers do not count), at most
``--max-connections`` (2048) connections are open (past it the one that has waited
longest for its headers is closed), and at most ``--max-header-size`` (8 KiB) of a
request's line and headers is buffered before they end (more is answered 400).
SIGTERM or SIGINT stops it within ``--shutdown-timeout`` (10 s): requests still running
then are cancelled, and the claims they hold released.

Messages are deduplicated in the process by default; ``--dedupe redis://HOST:PORT/DB``
shares that through Redis (the ``redis`` extra), so that replicas behind one URL handle
each message once: a copy another replica is handling is answered 409, and while Redis
does not answer every message is answered 503 so that ThingSpace re-sends it later.

The command is here; the receiver it serves is built in ``_receiver``
(:func:`build_receiver`) and the uvicorn configuration made in ``_server``
(:func:`server_config`, and the fitting of ``--max-connections`` to the open-file limit).
"""

from __future__ import annotations

import logging

import click

from ..._constants import RECEIVER_MAX_BODY_SIZE, SIGNATURE_HEADER
from ..._exports import publish
from ...receiver import DEFAULT_BODY_TIMEOUT, DEFAULT_HANDLER_TIMEOUT
from .._metrics import serves_metrics
from ._receiver import DEFAULT_DEDUPE_CLAIM_TTL, build_receiver, load_object, message_line
from ._server import (
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_LIMIT_CONCURRENCY,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HEADER_SIZE,
    DEFAULT_SHUTDOWN_TIMEOUT,
    DEFAULT_TIMEOUT_KEEP_ALIVE,
    _fit_open_files,
    server_config,
)

__all__ = [
    "DEFAULT_DEDUPE_CLAIM_TTL",
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_LIMIT_CONCURRENCY",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_HEADER_SIZE",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "DEFAULT_TIMEOUT_KEEP_ALIVE",
    "build_receiver",
    "listen",
    "load_object",
    "message_line",
    "server_config",
]


@click.command("listen")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    default=9001,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to bind (ThingSpace M2M allows 80, 443, 9001-9006, 50551-50559, 28200-28220).",
)
@click.option(
    "--handler",
    metavar="MODULE:NAME",
    help="Async function called with each message, or a Receiver to serve. "
    "Default: print each message as a JSON line.",
)
@click.option(
    "--callback-username",
    "username",
    metavar="NAME",
    envvar="THINGSPACE_CALLBACK_USERNAME",
    show_envvar=True,
    help="Username given at registration (M2M, FOTA); checked in each message body.",
)
@click.option(
    "--callback-password",
    "password",
    metavar="PASSWORD",
    envvar="THINGSPACE_CALLBACK_PASSWORD",
    show_envvar=True,
    help="Password given at registration; prefer the environment variable.",
)
@click.option(
    "--shared-secret",
    metavar="SECRET",
    envvar="THINGSPACE_SHARED_SECRET",
    show_envvar=True,
    help="Shared secret from the registration answer (Location, Diagnostics); "
    "messages must carry its HMAC-SHA256 signature.",
)
@click.option(
    "--signature-header",
    default=SIGNATURE_HEADER,
    show_default=True,
    help="Header that carries the signature.",
)
@click.option(
    "--allow-ip",
    "allow_ips",
    multiple=True,
    metavar="ADDRESS",
    help="Accept messages only from this address or network (repeatable).",
)
@click.option(
    "--allow-thingspace-ips",
    is_flag=True,
    help="Accept messages only from the addresses Verizon publishes (with any --allow-ip).",
)
@click.option(
    "--trust-forwarded-for",
    is_flag=True,
    help="Behind your reverse proxy: take the sender from X-Forwarded-For.",
)
@click.option(
    "--max-body-size",
    type=click.IntRange(min=1),
    default=RECEIVER_MAX_BODY_SIZE,
    show_default=True,
    help="Largest body accepted, in bytes (larger: 413).",
)
@click.option(
    "--body-timeout",
    metavar="SECONDS",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_BODY_TIMEOUT,
    show_default=True,
    help="Time a request's body may take to arrive (later: 408, connection closed).",
)
@click.option(
    "--handler-timeout",
    metavar="SECONDS",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_HANDLER_TIMEOUT,
    show_default=True,
    help="Time a handler may take (later: cancelled, its claim released, 503 answered).",
)
@click.option(
    "--dedupe",
    metavar="REDIS_URL",
    envvar="THINGSPACE_DEDUPE_REDIS",
    show_envvar=True,
    help="Deduplicate through this Redis (redis://HOST:PORT/DB), so that replicas handle "
    "each message once; needs the redis extra.",
)
@click.option(
    "--dedupe-claim-ttl",
    metavar="SECONDS",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_DEDUPE_CLAIM_TTL,
    show_default=True,
    help="With --dedupe: how long a replica's claim on a message lives; keep handlers shorter.",
)
@click.option(
    "--timeout-keep-alive",
    metavar="SECONDS",
    type=click.IntRange(min=1),
    default=DEFAULT_TIMEOUT_KEEP_ALIVE,
    show_default=True,
    help="Close a keep-alive connection idle this long.",
)
@click.option(
    "--header-timeout",
    metavar="SECONDS",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_HEADER_TIMEOUT,
    show_default=True,
    help="Close a connection that has not sent a request's headers in this time.",
)
@click.option(
    "--limit-concurrency",
    metavar="N",
    type=click.IntRange(min=1),
    default=DEFAULT_LIMIT_CONCURRENCY,
    show_default=True,
    help="Requests served at once (more: 503); idle connections do not count.",
)
@click.option(
    "--max-connections",
    metavar="N",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_CONNECTIONS,
    show_default=True,
    help="Connections open at once (more: the longest waiting for headers is closed).",
)
@click.option(
    "--max-header-size",
    metavar="BYTES",
    type=click.IntRange(min=1024),
    default=DEFAULT_MAX_HEADER_SIZE,
    show_default=True,
    help="Most bytes of request line and headers buffered before they end (more: 400).",
)
@click.option(
    "--shutdown-timeout",
    metavar="SECONDS",
    type=click.IntRange(min=1),
    default=DEFAULT_SHUTDOWN_TIMEOUT,
    show_default=True,
    help="On SIGTERM/SIGINT, time running requests get to finish before being cancelled.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@serves_metrics("listen")
def listen(
    host: str,
    port: int,
    handler: str | None,
    username: str | None,
    password: str | None,
    shared_secret: str | None,
    signature_header: str,
    allow_ips: tuple[str, ...],
    allow_thingspace_ips: bool,
    trust_forwarded_for: bool,
    max_body_size: int,
    body_timeout: float,
    handler_timeout: float,
    dedupe: str | None,
    dedupe_claim_ttl: float,
    timeout_keep_alive: int,
    header_timeout: float,
    limit_concurrency: int,
    max_connections: int,
    max_header_size: int,
    shutdown_timeout: int,
    log_level: str,
) -> None:
    """Receive ThingSpace callback messages on HOST:PORT (any path).

    Messages are verified, parsed and deduplicated; each is acknowledged only after the
    handler returned. With --dedupe, replicas sharing the Redis handle each message once:
    a copy another replica is handling is answered 409, and while Redis does not answer
    messages are answered 503 (with Retry-After); ThingSpace re-sends both.

    \b
    Every connection is bounded (defaults in brackets):
      --header-timeout      time to send a request's headers [5 s], then closed
      --body-timeout        time for the body to arrive [10 s], then 408
      --max-body-size       body size [1 MiB], then 413
      --handler-timeout     time for the handler [20 s], then cancelled and 503
      --timeout-keep-alive  idle keep-alive connection [5 s], then closed
      --limit-concurrency   requests at once [256], then 503
      --max-connections     connections open [2048], then the longest waiting closed
      --max-header-size     unfinished request line and headers [8 KiB], then 400
      --shutdown-timeout    grace on SIGTERM/SIGINT [10 s], then requests cancelled

    With --metrics-port, the received messages by verdict and the handlers' durations
    are served for Prometheus (the [prometheus] extra).

    Needs the receiver extra: pip install "thingspace-callbacks[receiver]".
    """
    receiver = build_receiver(
        handler=handler,
        username=username,
        password=password,
        shared_secret=shared_secret,
        signature_header=signature_header,
        allow_ips=allow_ips,
        allow_thingspace_ips=allow_thingspace_ips,
        trust_forwarded_for=trust_forwarded_for,
        max_body_size=max_body_size,
        body_timeout=body_timeout,
        handler_timeout=handler_timeout,
        dedupe=dedupe,
        dedupe_claim_ttl=dedupe_claim_ttl,
    )
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not receiver.verifiers and not receiver.routes:
        click.echo(
            "warning: no --callback-username/--callback-password, --shared-secret or "
            "--allow-ip given: "
            "accepting every message",
            err=True,
        )
    # Before the banner: without uvicorn there is nothing to announce.
    config = server_config(
        receiver,
        host=host,
        port=port,
        timeout_keep_alive=timeout_keep_alive,
        header_timeout=header_timeout,
        limit_concurrency=limit_concurrency,
        max_connections=_fit_open_files(max_connections),
        max_header_size=max_header_size,
        shutdown_timeout=shutdown_timeout,
        log_level=log_level,
    )
    where = "printing each message as a JSON line" if handler is None else f"handler {handler}"
    if dedupe:
        where += f"; deduplicating through {receiver.dedupe_store!r}"
    click.echo(f"listening on http://{host}:{port}/ ({where})", err=True)
    import uvicorn  # importable: server_config checked

    uvicorn.Server(config).run()


# The helpers live in private modules; they are documented, and named in tracebacks, here.
publish(
    globals(), ("build_receiver", "load_object", "message_line", "server_config"), module=__name__
)
