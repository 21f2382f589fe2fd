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
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import click

from .._constants import RECEIVER_MAX_BODY_SIZE, SIGNATURE_HEADER, THINGSPACE_SOURCE_IPS
from .._errors import InvalidArgumentError
from .._redact import redact
from ..receiver import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HANDLER_TIMEOUT,
    AnyOf,
    BodyCredentials,
    CallbackMessage,
    Handler,
    HmacSignature,
    Receiver,
    SourceAllowList,
    Verifier,
)
from ._common import MissingExtra

if TYPE_CHECKING:
    import uvicorn

    from ..redis import RedisDedupeStore

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

DEFAULT_TIMEOUT_KEEP_ALIVE = 5
"""Seconds an idle keep-alive connection is kept open (uvicorn's own default)."""

DEFAULT_HEADER_TIMEOUT = 5.0
"""Seconds a connection may take to send a request's complete headers, from opening
(or from the first bytes of its next request); then it is closed. ThingSpace sends a
message's few hundred bytes of headers at once."""

DEFAULT_LIMIT_CONCURRENCY = 256
"""Requests served at once; more are answered 503. ThingSpace sends from a handful of
addresses; this leaves room for bursts (one message per device of a bulk request) while
a flood of slow senders cannot take unbounded memory. Connections still waiting for
their headers do not count, so idle sockets cannot have real messages refused."""

DEFAULT_MAX_CONNECTIONS = 2048
"""Connections open at once; past it, the one that has waited longest for its headers
is closed. Far above :data:`DEFAULT_LIMIT_CONCURRENCY`, so silent connections cannot
crowd out senders (each is closed after :data:`DEFAULT_HEADER_TIMEOUT` anyway), and
below the open-file limit ``listen`` asks for."""

DEFAULT_SHUTDOWN_TIMEOUT = 10
"""Seconds ``listen`` gives running requests to finish after SIGTERM or SIGINT before
cancelling them (their claims are then released)."""

_SPARE_FILES = 64
"""Open files kept for the process's own use (Redis, logs, imports) beyond its
connections."""

DEFAULT_DEDUPE_CLAIM_TTL = 60.0
"""Seconds a replica's claim on a message lives with ``--dedupe`` unless its handler
finishes first; a replica that dies mid-handler holds the message back this long."""

DEFAULT_MAX_HEADER_SIZE = 8 * 1024
"""Bytes of a request's line and headers buffered before they end (h11's max incomplete
event size); a ThingSpace message's headers are a few hundred bytes."""


def load_object(reference: str) -> object:
    """Import ``"package.module:attribute"`` (the current directory is importable)."""
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise click.BadParameter(f"expected MODULE:NAME, got {reference!r}", param_hint="--handler")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        target: object = importlib.import_module(module_name)
    except ImportError as exc:
        raise click.BadParameter(
            f"cannot import {module_name!r}: {exc}", param_hint="--handler"
        ) from exc
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise click.BadParameter(
                f"{module_name!r} has no attribute {attribute!r}", param_hint="--handler"
            ) from None
    return target


def message_line(message: CallbackMessage) -> str:
    """One JSON line describing ``message``: service, model and body, secrets masked."""
    body = redact(message.model_dump(mode="json", by_alias=True, exclude_none=True))
    return json.dumps({"service": message.service, "kind": type(message).__name__, "message": body})


async def _print_message(message: CallbackMessage) -> None:
    click.echo(message_line(message))


def build_receiver(
    *,
    handler: str | None = None,
    username: str | None = None,
    password: str | None = None,
    shared_secret: str | None = None,
    signature_header: str = SIGNATURE_HEADER,
    allow_ips: Sequence[str] = (),
    allow_thingspace_ips: bool = False,
    trust_forwarded_for: bool = False,
    max_body_size: int = RECEIVER_MAX_BODY_SIZE,
    body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
    handler_timeout: float | None = DEFAULT_HANDLER_TIMEOUT,
    dedupe: str | None = None,
    dedupe_claim_ttl: float = DEFAULT_DEDUPE_CLAIM_TTL,
) -> Receiver:
    """The receiver ``listen`` serves, built from its options.

    A :class:`Receiver` named by ``handler`` is served as it is, with its own
    verification, deduplication, ``max_body_size``, ``body_timeout`` and
    ``handler_timeout``. ``dedupe``
    is a Redis URL to deduplicate through, with a
    :class:`~thingspace_callbacks.redis.RedisDedupeStore` whose ``claim_ttl`` is
    ``dedupe_claim_ttl``; only then is ``thingspace_callbacks.redis`` imported.
    """
    target = load_object(handler) if handler else None
    if isinstance(target, Receiver):
        verification = (username, password, shared_secret, allow_ips, allow_thingspace_ips)
        _check_served_as_is(verification=any(verification), dedupe=bool(dedupe))
        return target
    verifiers = [
        *_source_checks(allow_ips, allow_thingspace_ips, trust_forwarded_for),
        *_proofs(username, password, shared_secret, signature_header),
    ]
    receiver = Receiver(
        verify=verifiers,
        dedupe=_dedupe_store(dedupe, dedupe_claim_ttl) if dedupe else True,
        max_body_size=max_body_size,
        body_timeout=body_timeout,
        handler_timeout=handler_timeout,
    )
    callback = cast(Handler, target) if target is not None else _print_message
    try:
        receiver.on_any()(callback)
    except InvalidArgumentError as exc:
        raise click.BadParameter(str(exc), param_hint="--handler") from None
    return receiver


def _check_served_as_is(*, verification: bool, dedupe: bool) -> None:
    if verification:
        raise click.UsageError(
            "--handler names a Receiver, which has its own verification; "
            "drop the verification options"
        )
    if dedupe:
        raise click.UsageError(
            "--handler names a Receiver, which has its own deduplication; "
            "drop --dedupe and pass dedupe=RedisDedupeStore(...) to it"
        )


def _dedupe_store(url: str, claim_ttl: float) -> RedisDedupeStore:
    try:
        from ..redis import RedisDedupeStore
    except ModuleNotFoundError as exc:
        package = (exc.name or "").partition(".")[0] or "redis"
        raise MissingExtra("listen --dedupe", package, "redis") from None

    try:
        return RedisDedupeStore(url, claim_ttl=claim_ttl)
    except InvalidArgumentError as exc:
        raise click.BadParameter(str(exc), param_hint="--dedupe") from None


def _source_checks(
    allow_ips: Sequence[str], allow_thingspace_ips: bool, trust_forwarded_for: bool
) -> list[Verifier]:
    if not (allow_ips or allow_thingspace_ips):
        return []
    addresses = [*allow_ips, *(THINGSPACE_SOURCE_IPS if allow_thingspace_ips else ())]
    try:
        return [SourceAllowList(addresses, trust_forwarded_for=trust_forwarded_for)]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--allow-ip") from None


def _proofs(
    username: str | None, password: str | None, shared_secret: str | None, header: str
) -> list[Verifier]:
    """What a message must prove: the listener credentials, the signature, or (one
    listener for credentialed M2M/FOTA and signed Location families) either."""
    if bool(username) != bool(password):
        raise click.UsageError("--callback-username and --callback-password go together")
    proofs: list[Verifier] = []
    if username and password:
        proofs.append(BodyCredentials(username, password))
    if shared_secret:
        proofs.append(HmacSignature(shared_secret, header=header))
    return [AnyOf(*proofs)] if len(proofs) > 1 else proofs


def _fit_open_files(max_connections: int) -> int:
    """Raise the process's open-file limit to fit ``max_connections``, or lower the
    cap to fit the limit: past it, accepting fails and every sender waits, where under
    the cap a new connection closes one still waiting for its headers instead."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows has no such limit
        return max_connections
    wanted = max_connections + _SPARE_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return max_connections
    raised = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
    except (ValueError, OSError):
        raised = soft
    if raised >= wanted:
        return max_connections
    fitted = max(raised - _SPARE_FILES, 1)
    click.echo(
        f"warning: the process may open {raised} files: serving at most {fitted} "
        f"connections instead of --max-connections {max_connections} (raise the limit "
        "with ulimit -n)",
        err=True,
    )
    return fitted


def _log_config(default: dict[str, Any]) -> dict[str, Any]:
    # stdout carries only the JSON lines of printed messages; every log goes to stderr.
    config = copy.deepcopy(default)
    for handler in config.get("handlers", {}).values():
        if handler.get("stream") == "ext://sys.stdout":
            handler["stream"] = "ext://sys.stderr"
    return config


def server_config(
    receiver: Receiver,
    *,
    host: str = "127.0.0.1",
    port: int = 9001,
    timeout_keep_alive: int = DEFAULT_TIMEOUT_KEEP_ALIVE,
    header_timeout: float | None = DEFAULT_HEADER_TIMEOUT,
    limit_concurrency: int = DEFAULT_LIMIT_CONCURRENCY,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    max_header_size: int = DEFAULT_MAX_HEADER_SIZE,
    shutdown_timeout: int = DEFAULT_SHUTDOWN_TIMEOUT,
    log_level: str = "info",
    configure_logging: bool = True,
) -> uvicorn.Config:
    """The uvicorn configuration ``listen`` serves ``receiver`` with.

    Its HTTP protocol is uvicorn's h11 one with the bounds uvicorn lacks (a header time
    limit, a request limit that idle connections do not count against, a connection
    cap); make a new configuration for each server.

    :param timeout_keep_alive: seconds an idle keep-alive connection stays open.
    :param header_timeout: seconds a connection may take to send a request's headers
        (from opening, or from the first bytes of its next request); then it is
        closed. ``None``: no limit.
    :param limit_concurrency: requests served at once; more are answered 503.
    :param max_connections: connections open at once; past it the one that has waited
        longest for its headers is closed (the new one, when all are serving).
    :param max_header_size: bytes of a request's line and headers buffered before they
        end (h11's max incomplete event size); more is answered 400.
    :param shutdown_timeout: seconds requests get to finish once the server is asked to
        stop; then they are cancelled, releasing their claims.
    :param configure_logging: send uvicorn's logs to stderr (stdout carries the printed
        messages); ``False`` leaves logging as it is.
    """
    try:
        import uvicorn

        from ..receiver._uvicorn import guarded_h11_protocol
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise MissingExtra("listen", "uvicorn", "receiver") from None
    protocol = guarded_h11_protocol(
        header_timeout=header_timeout,
        max_requests=limit_concurrency,
        max_connections=max_connections,
    )
    return uvicorn.Config(
        receiver,
        host=host,
        port=port,
        # h11 (this protocol extends uvicorn's): the header size limit is h11's, and
        # "auto" would pick httptools where it is installed, which ignores it.
        http=protocol,
        timeout_keep_alive=timeout_keep_alive,
        # The protocol counts requests itself: uvicorn's limit counts connections too,
        # so that idle ones would have every real request answered 503.
        limit_concurrency=None,
        h11_max_incomplete_event_size=max_header_size,
        # Without it uvicorn waits for running requests for good; after it, it cancels
        # them, and the receiver releases their claims before the lifespan ends.
        timeout_graceful_shutdown=shutdown_timeout,
        # The receiver decides whether X-Forwarded-For is trusted (--trust-forwarded-for);
        # uvicorn's default would rewrite the peer address from it for local proxies.
        proxy_headers=False,
        lifespan="on",
        log_level=log_level,
        log_config=_log_config(uvicorn.config.LOGGING_CONFIG) if configure_logging else None,
    )


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


if __name__ == "__main__":  # pragma: no cover
    listen()
