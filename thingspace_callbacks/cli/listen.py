"""``thingspace-callbacks listen``: run a callback listener from the command line.

Without ``--handler`` every message is printed to stdout as one JSON line (credentials
masked), which is handy to see what ThingSpace sends; with ``--handler module:name``
each message is passed to that async function, or ``name`` may be a configured
:class:`~thingspace_callbacks.receiver.Receiver`, served as it is.
"""

from __future__ import annotations

import copy
import importlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, cast

import click

from .._constants import RECEIVER_MAX_BODY_SIZE, SIGNATURE_HEADER, THINGSPACE_SOURCE_IPS
from ..receiver import (
    AnyOf,
    BodyCredentials,
    CallbackMessage,
    Handler,
    HmacSignature,
    Receiver,
    SourceAllowList,
    Verifier,
    redact,
)

__all__ = ["build_receiver", "listen", "load_object", "message_line"]


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
) -> Receiver:
    """The receiver ``listen`` serves, built from its options."""
    target = load_object(handler) if handler else None
    verification_given = bool(
        username or password or shared_secret or allow_ips or allow_thingspace_ips
    )
    if isinstance(target, Receiver):
        if verification_given:
            raise click.UsageError(
                "--handler names a Receiver, which has its own verification; "
                "drop the verification options"
            )
        return target
    if bool(username) != bool(password):
        raise click.UsageError("--callback-username and --callback-password go together")

    verifiers: list[Verifier] = []
    if allow_ips or allow_thingspace_ips:
        addresses = [*allow_ips, *(THINGSPACE_SOURCE_IPS if allow_thingspace_ips else ())]
        try:
            verifiers.append(SourceAllowList(addresses, trust_forwarded_for=trust_forwarded_for))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--allow-ip") from None
    proofs: list[Verifier] = []
    if username and password:
        proofs.append(BodyCredentials(username, password))
    if shared_secret:
        proofs.append(HmacSignature(shared_secret, header=signature_header))
    if len(proofs) == 1:
        verifiers.extend(proofs)
    elif proofs:
        # One listener for credentialed (M2M, FOTA) and signed (Location) families.
        verifiers.append(AnyOf(*proofs))

    receiver = Receiver(verify=verifiers, max_body_size=max_body_size)
    callback = cast(Handler, target) if target is not None else _print_message
    try:
        receiver.on_any()(callback)
    except TypeError as exc:
        raise click.BadParameter(str(exc), param_hint="--handler") from None
    return receiver


def _log_config(default: dict[str, Any]) -> dict[str, Any]:
    # stdout carries only the JSON lines of printed messages; every log goes to stderr.
    config = copy.deepcopy(default)
    for handler in config.get("handlers", {}).values():
        if handler.get("stream") == "ext://sys.stdout":
            handler["stream"] = "ext://sys.stderr"
    return config


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
    log_level: str,
) -> None:
    """Receive ThingSpace callback messages on HOST:PORT (any path).

    Messages are verified, parsed and deduplicated; each is acknowledged only after the
    handler returned. Needs the receiver extra: pip install "thingspace-callbacks[receiver]".
    """
    try:
        import uvicorn
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise click.ClickException(
            'listen needs uvicorn: pip install "thingspace-callbacks[receiver]"'
        ) from None
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
    where = "printing each message as a JSON line" if handler is None else f"handler {handler}"
    click.echo(f"listening on http://{host}:{port}/ ({where})", err=True)
    config = uvicorn.Config(
        receiver,
        host=host,
        port=port,
        # The receiver decides whether X-Forwarded-For is trusted (--trust-forwarded-for);
        # uvicorn's default would rewrite the peer address from it for local proxies.
        proxy_headers=False,
        lifespan="on",
        log_level=log_level,
        log_config=_log_config(uvicorn.config.LOGGING_CONFIG),
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":  # pragma: no cover
    listen()
