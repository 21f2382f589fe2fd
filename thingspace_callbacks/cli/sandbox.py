"""``thingspace-callbacks sandbox``: serve the embedded fake ThingSpace."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping

import click

from .._constants import SHARED_SECRET_HEADER, SIGNATURE_HEADER
from ._common import MissingExtra, UsageFailure

__all__ = ["sandbox"]


def _export_line(environment: Mapping[str, str]) -> str:
    """A POSIX shell line that sets every variable of ``environment``, quoted.

    :param environment: Variable name to value.
    """
    return "export " + " ".join(
        f"{name}={shlex.quote(value)}" for name, value in environment.items()
    )


def _latency(value: str) -> float | tuple[float, float]:
    low, sep, high = value.partition(":")
    try:
        return (float(low), float(high)) if sep else float(low)
    except ValueError:
        raise click.BadParameter(
            f"expected SECONDS or LOW:HIGH, got {value!r}", param_hint="--latency"
        ) from None


_RATE = click.FloatRange(0, 1)

_OPTIONS = {
    "latency": "--latency",
    "error_rate": "--error-rate",
    "error_status": "--error-status",
    "rate_limit_rate": "--rate-limit-rate",
    "retry_after": "--retry-after",
    "drop_rate": "--drop-rate",
    "seed": "--seed",
    "include_auth": "--faults-on-auth",
    "token_ttl": "--token-ttl",
    "session_idle_timeout": "--session-idle-timeout",
}
"""The keywords of ``Faults`` and ``Sandbox`` that the options set."""

_KEYWORD = re.compile(r"'?\b(" + "|".join(_OPTIONS) + r")\b'?")


def _with_options(message: str) -> str:
    """A refusal worded by ``Faults`` or ``Sandbox``, with the options for the keywords
    it names (``--error-rate`` for ``'error_rate'``)."""
    return _KEYWORD.sub(lambda match: _OPTIONS[match[1]], message)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="0 picks one."
)
@click.option("--no-auth", is_flag=True, help="Accept operations without any credentials.")
@click.option("--token-ttl", type=float, default=3600.0, show_default=True, metavar="SECONDS")
@click.option(
    "--session-idle-timeout",
    type=float,
    default=1200.0,
    show_default=True,
    metavar="SECONDS",
    help="Idle time after which a session expires.",
)
@click.option(
    "--session-expired-status",
    type=click.Choice(["400", "401"]),
    default="400",
    show_default=True,
    help="Status of an expired session's answer; Location always answers 400, as documented.",
)
@click.option("--latency", metavar="SECONDS|LOW:HIGH", help="Delay before every answer.")
@click.option("--error-rate", type=_RATE, default=0.0, help="Fraction answered --error-status.")
@click.option("--error-status", type=click.IntRange(400, 599), default=503, show_default=True)
@click.option("--rate-limit-rate", type=_RATE, default=0.0, help="Fraction answered 429.")
@click.option("--retry-after", type=click.IntRange(min=0), default=1, show_default=True)
@click.option("--drop-rate", type=_RATE, default=0.0, help="Fraction of connections dropped.")
@click.option("--seed", type=int, help="Seed for reproducible faults.")
@click.option("--faults-on-auth", is_flag=True, help="Inject faults into token/login too.")
@click.option("--shared-secret", metavar="SECRET", help="Fixed HMAC key for registrations.")
@click.option("--shared-secret-header", default=SHARED_SECRET_HEADER, show_default=True)
@click.option("--signature-header", default=SIGNATURE_HEADER, show_default=True)
def sandbox(
    host: str,
    port: int,
    no_auth: bool,
    token_ttl: float,
    session_idle_timeout: float,
    session_expired_status: str,
    latency: str | None,
    error_rate: float,
    error_status: int,
    rate_limit_rate: float,
    retry_after: int,
    drop_rate: float,
    seed: int | None,
    faults_on_auth: bool,
    shared_secret: str | None,
    shared_secret_header: str,
    signature_header: str,
) -> None:
    """Serve a fake ThingSpace on HOST:PORT until Ctrl-C.

    It answers the 20 callback operations under /api, issues tokens and sessions to
    the sandbox credentials, and has admin routes under /sandbox (emit, faults, expire,
    registrations, reset). It prints one `export` line that points clients and the CLI
    at it: THINGSPACE_BASE_URL and the credentials.
    """
    try:
        import uvicorn

        from ..sandbox import Faults, Sandbox
        from ..sandbox._credentials import (
            SANDBOX_CLIENT_ID,
            SANDBOX_CLIENT_SECRET,
            SANDBOX_PASSWORD,
            SANDBOX_USERNAME,
        )
        from ..sandbox._server import bind_socket, quiet_dropped_connections
    except ModuleNotFoundError as exc:
        raise MissingExtra.of("sandbox", exc, "sandbox") from None
    try:
        faults = Faults(
            latency=_latency(latency) if latency else 0.0,
            error_rate=error_rate,
            error_status=error_status,
            rate_limit_rate=rate_limit_rate,
            retry_after=retry_after,
            drop_rate=drop_rate,
            seed=seed,
            include_auth=faults_on_auth,
        )
        fake = Sandbox(
            require_auth=not no_auth,
            faults=faults,
            token_ttl=token_ttl,
            session_idle_timeout=session_idle_timeout,
            session_expired_status=int(session_expired_status),
            shared_secret=shared_secret,
            shared_secret_header=shared_secret_header,
            signature_header=signature_header,
        )
        sock = bind_socket(host, port)
    except (ValueError, OSError) as exc:
        raise UsageFailure(_with_options(str(exc))) from None
    bound = sock.getsockname()[1]
    shown_host = f"[{host}]" if ":" in host else host
    root = f"http://{shown_host}:{bound}"
    click.echo(f"ThingSpace sandbox on {root}/api  (admin: {root}/sandbox)")
    environment = {"THINGSPACE_BASE_URL": f"{root}/api"}
    if no_auth:
        click.echo("Authentication off: operations need no credentials.")
    else:
        environment.update(
            THINGSPACE_CLIENT_ID=SANDBOX_CLIENT_ID,
            THINGSPACE_CLIENT_SECRET=SANDBOX_CLIENT_SECRET,
            THINGSPACE_USERNAME=SANDBOX_USERNAME,
            THINGSPACE_PASSWORD=SANDBOX_PASSWORD,
        )
    # The base URL is on the same line as the credentials: a client given the
    # credentials alone would send them, and every request, to production.
    click.echo("Environment for clients and the CLI (paste into a shell):")
    click.echo(_export_line(environment))
    if faults.active:
        click.echo(f"Faults: {faults.model_dump(mode='json')}")
    click.echo("Press Ctrl-C to stop.", nl=True)
    quiet_dropped_connections()
    config = uvicorn.Config(
        fake.app, log_level="warning", lifespan="off", access_log=False, log_config=None
    )
    uvicorn.Server(config).run(sockets=[sock])
