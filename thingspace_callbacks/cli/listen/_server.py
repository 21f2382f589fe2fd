"""The uvicorn server ``listen`` runs: its configuration (:func:`server_config`), the
connection bounds' defaults, and fitting the connection cap to the process's open-file
limit.

uvicorn is imported only when a configuration is made, so ``listen --help`` and the
receiver-building code do not pay for it.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import click

from ...receiver import Receiver
from .._common import MissingExtra

if TYPE_CHECKING:
    import uvicorn

__all__ = [
    "DEFAULT_HEADER_TIMEOUT",
    "DEFAULT_LIMIT_CONCURRENCY",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_HEADER_SIZE",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "DEFAULT_TIMEOUT_KEEP_ALIVE",
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


DEFAULT_MAX_HEADER_SIZE = 8 * 1024
"""Bytes of a request's line and headers buffered before they end (h11's max incomplete
event size); a ThingSpace message's headers are a few hundred bytes."""


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

        from ...receiver._uvicorn import guarded_h11_protocol
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
