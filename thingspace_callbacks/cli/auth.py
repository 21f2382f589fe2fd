"""``thingspace-callbacks auth``: the credentials' state kept in a shared token store.

``auth reset`` clears the refused login and client secret recorded for the credentials
given (the global options or the ``THINGSPACE_*`` variables, as for every command) in
the Redis that workers share tokens through, so that the next process asks ThingSpace
again. Until then, or until the record lapses, no process sharing that Redis sends
those credentials: ThingSpace locks a user after five refused logins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .._errors import InvalidArgumentError
from .._redact import redact_url
from ._common import (
    APIFailure,
    MissingExtra,
    Settings,
    UsageFailure,
    credentials_refused,
    get_settings,
    output,
    run,
)

if TYPE_CHECKING:
    from .._auth import ThingSpaceAuth
    from ..redis import RedisTokenStore

__all__ = ["auth"]


@click.group()
def auth() -> None:
    """The credentials' state in a token store shared by workers."""


@auth.command()
@click.option(
    "--store",
    required=True,
    metavar="REDIS_URL",
    envvar="THINGSPACE_QUEUE",
    show_envvar=True,
    help="The Redis the tokens are shared through (redis://HOST:PORT/DB): worker --queue, "
    "or your RedisTokenStore's.",
)
@click.option(
    "--prefix",
    default="thingspace:",
    show_default=True,
    metavar="PREFIX",
    help="The RedisTokenStore's key prefix.",
)
def reset(store: str, prefix: str) -> None:
    """Clear the refused login and client secret recorded for these credentials.

    A login (or client secret) ThingSpace refused is recorded in the token store, and
    no process sharing it tries the same credentials again until the record lapses
    (ThingSpaceAuth(refusal_ttl=...), 30 minutes by default) or is cleared: five refused
    logins lock a ThingSpace user. Changed credentials are tried at once; clear the
    record when the same ones should be tried again (say, once Verizon has unlocked the
    user). The credentials and the API root are those of the global options or the
    THINGSPACE_* variables, as the workers get them:

    \b
    thingspace-callbacks auth reset --store redis://localhost:6379/0
    """
    settings = get_settings()
    if settings.sandbox:
        raise UsageFailure("auth reset clears a shared token store: drop --sandbox")
    base_url = _base_url(settings)
    token_store = _token_store(store, prefix)
    credentials = _credentials(settings, token_store)

    async def main() -> bool:
        async with token_store:
            try:
                return await credentials.clear_refusals(base_url)
            except ConnectionError as exc:
                raise APIFailure(f"{exc}; nothing was cleared") from None

    cleared = run(main)
    whose = ", ".join(
        f"{what} {name!r}"
        for what, name in (("client id", credentials.client_id), ("user", credentials.username))
        if name is not None
    )
    where = redact_url(base_url)
    if settings.json:
        output(
            {
                "cleared": cleared,
                "baseUrl": where,
                "clientId": credentials.client_id,
                "username": credentials.username,
            }
        )
    elif cleared:
        click.echo(
            f"auth reset: cleared the refusal recorded for {whose} at {where}; the next "
            "request of any process sharing the store asks ThingSpace again",
            err=True,
        )
    else:
        click.echo(f"auth reset: no refusal was recorded for {whose} at {where}", err=True)


def _base_url(settings: Settings) -> str:
    from .._connect import resolve_base_url

    try:
        return resolve_base_url(settings.base_url, settings.environment)
    except InvalidArgumentError as exc:
        raise UsageFailure(str(exc)) from None


def _token_store(url: str, prefix: str) -> RedisTokenStore:
    try:
        from ..redis import RedisTokenStore
    except ModuleNotFoundError as exc:
        raise MissingExtra.of("auth reset", exc, "redis") from None
    try:
        return RedisTokenStore(url, prefix=prefix)
    except InvalidArgumentError as exc:
        raise click.BadParameter(str(exc), param_hint="--store") from None


def _credentials(settings: Settings, store: RedisTokenStore) -> ThingSpaceAuth:
    try:
        credentials = settings.auth()
        if credentials.client_id is None and credentials.username is None:
            raise UsageFailure(
                "fixed tokens are never refused as a login: give the --client-id/"
                "--client-secret or --username/--password (or THINGSPACE_* variables) the "
                "workers use"
            )
        return settings.auth(store)
    except InvalidArgumentError as exc:
        raise credentials_refused(exc) from None
