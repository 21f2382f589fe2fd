"""The receiver ``listen`` serves, built from its options (:func:`build_receiver`): the
handler named by ``--handler`` (:func:`load_object`) or printing each message as a JSON
line (:func:`message_line`), the verifiers, and in-process or Redis deduplication.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import click

from ..._constants import RECEIVER_MAX_BODY_SIZE, SIGNATURE_HEADER, THINGSPACE_SOURCE_IPS
from ..._errors import InvalidArgumentError
from ..._redact import redact
from ...receiver import (
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
from .._common import MissingExtra

if TYPE_CHECKING:
    from ...redis import RedisDedupeStore

__all__ = ["DEFAULT_DEDUPE_CLAIM_TTL", "build_receiver", "load_object", "message_line"]

DEFAULT_DEDUPE_CLAIM_TTL = 60.0
"""Seconds a replica's claim on a message lives with ``--dedupe`` unless its handler
finishes first; a replica that dies mid-handler holds the message back this long."""


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
        from ...redis import RedisDedupeStore
    except ModuleNotFoundError as exc:
        raise MissingExtra.of("listen --dedupe", exc, "redis") from None

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
