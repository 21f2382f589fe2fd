"""``thingspace-callbacks``: register, list and remove ThingSpace callback listeners from
the command line, against the real service or the embedded sandbox.

Needs the ``[cli]`` extra (click and rich). Subcommands live in their own modules and
are imported only when invoked: add one to :data:`COMMANDS` (and a line to
:data:`SUMMARIES`) to make it appear.

Exit codes: 0 success, 1 the API or the network failed, 2 bad usage or arguments,
3 a package extra is missing (:data:`EXIT_MISSING_EXTRA`), 130 interrupted (``bulk``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

from .._extras import missing_extra_message
from .._families import FAMILIES

if TYPE_CHECKING:
    import click

__all__ = ["COMMANDS", "EXIT_MISSING_EXTRA", "EXTRAS", "REQUIRES", "SUMMARIES", "main"]

EXIT_MISSING_EXTRA = 3
"""Exit code when the installation lacks a package extra a command needs: the one-line
message names the ``pip install`` command. Distinct from 2 (usage) so that scripts can
tell "install something" from "fix the command"."""

COMMANDS: dict[str, str] = {
    **{
        family.cli: f"thingspace_callbacks.cli.{family.module}:{family.name}" for family in FAMILIES
    },
    "auth": "thingspace_callbacks.cli.auth:auth",
    "bulk": "thingspace_callbacks.cli.bulk:bulk",
    "demo": "thingspace_callbacks.cli.demo:demo",
    "listen": "thingspace_callbacks.cli.listen:listen",
    "plan": "thingspace_callbacks.cli.state:plan",
    "apply": "thingspace_callbacks.cli.state:apply",
    "sandbox": "thingspace_callbacks.cli.sandbox:sandbox",
    "worker": "thingspace_callbacks.cli.worker:worker",
}
"""Every subcommand: name to ``"module:attribute"``, imported on first use. Each family's
group (:mod:`thingspace_callbacks._families`) is its module's attribute of the family's
name."""

SUMMARIES: dict[str, str] = {
    **{family.cli: f"{family.title} listeners." for family in FAMILIES},
    "auth": "Clear a refused login recorded in the workers' shared token store.",
    "bulk": "Register, list or remove listeners on many accounts at once.",
    "demo": "Register, list and remove a listener in each family, against the sandbox.",
    "listen": "Run a listener that receives ThingSpace notifications.",
    "plan": "Show how the accounts' listeners differ from a state file.",
    "apply": "Make the accounts' listeners what a state file (or saved plan) says.",
    "sandbox": "Run the embedded fake ThingSpace as a server.",
    "worker": "Run the jobs of bulk --queue (an arq worker on Redis).",
}
"""The one-line help ``--help`` shows for each subcommand (without importing it)."""

EXTRAS: dict[str, str] = {
    "auth": "redis",
    "demo": "sandbox",
    "listen": "receiver",
    "sandbox": "sandbox",
    "worker": "redis",
}
"""The package extra a subcommand needs beyond ``[cli]``."""

REQUIRES: dict[str, tuple[str, ...]] = {
    "auth": ("redis",),
    "demo": ("starlette", "uvicorn"),
    "listen": ("uvicorn",),
    "sandbox": ("starlette", "uvicorn"),
    "worker": ("redis", "arq"),
}
"""The packages of its extra a subcommand cannot start without, checked before it is
imported so that it fails in one line rather than halfway (``listen`` would otherwise
announce its address first)."""

_CLI_PACKAGES = ("click", "rich")
"""The ``[cli]`` extra."""


def missing_extra(command: str, package: str, extra: str | None) -> str:
    """The one-line message for a missing package: what needs it and how to install it
    (the wording of :func:`~thingspace_callbacks._extras.missing_extra_message`).

    Shared by every command and both entry points, before click is known to exist.
    """
    what = f"thingspace-callbacks {command}".rstrip()
    if extra is None:
        return f"{what} needs the {package!r} package, which is not installed"
    return missing_extra_message(what, package, extra)


def _build_main() -> click.Group:
    import click
    import rich  # noqa: F401  (tables need it: fail now, in one line, not mid-command)
    from pydantic import SecretStr

    from .._constants import ENVIRONMENTS
    from .._version import __version__
    from ._common import Settings
    from ._lazy import LazyGroup

    def secret(value: str | None) -> SecretStr | None:
        return SecretStr(value) if value else None

    @click.group(
        cls=LazyGroup,
        lazy_commands=COMMANDS,
        summaries=SUMMARIES,
        extras=EXTRAS,
        requires=REQUIRES,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    )
    @click.version_option(__version__, prog_name="thingspace-callbacks")
    @click.option(
        "--base-url",
        metavar="URL",
        help="API root, e.g. http://127.0.0.1:8080/api. Default: $THINGSPACE_BASE_URL, "
        "else production.",
    )
    @click.option(
        "--environment",
        type=click.Choice(sorted(ENVIRONMENTS)),
        help="A named ThingSpace environment, instead of --base-url.",
    )
    @click.option(
        "--sandbox",
        "use_sandbox",
        is_flag=True,
        help="Run against a fresh in-process sandbox: no credentials, no network "
        "(state lasts one command).",
    )
    @click.option("--client-id", metavar="ID", help="OAuth client id [$THINGSPACE_CLIENT_ID].")
    @click.option(
        "--client-secret",
        metavar="SECRET",
        help="OAuth client secret [$THINGSPACE_CLIENT_SECRET].",
    )
    @click.option("--username", metavar="NAME", help="M2M username [$THINGSPACE_USERNAME].")
    @click.option("--password", metavar="PASSWORD", help="M2M password [$THINGSPACE_PASSWORD].")
    @click.option(
        "--access-token", metavar="TOKEN", help="A fixed bearer token [$THINGSPACE_ACCESS_TOKEN]."
    )
    @click.option(
        "--m2m-token", metavar="TOKEN", help="A fixed M2M session token [$THINGSPACE_M2M_TOKEN]."
    )
    @click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS")
    @click.option("--max-retries", type=click.IntRange(min=0), metavar="N")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
    @click.pass_context
    def main(
        ctx: click.Context,
        base_url: str | None,
        environment: str | None,
        use_sandbox: bool,
        client_id: str | None,
        client_secret: str | None,
        username: str | None,
        password: str | None,
        access_token: str | None,
        m2m_token: str | None,
        timeout: float | None,
        max_retries: int | None,
        as_json: bool,
    ) -> None:
        """Register, list and remove Verizon ThingSpace callback listeners.

        Credentials come from the options or from the THINGSPACE_* environment variables
        (prefer the variables for secrets). Exit codes: 0 success, 1 API or network
        error, 2 usage error, 3 a package extra is missing (the message says what to
        install), 130 interrupted (bulk).

        \b
        Try it without credentials:
          thingspace-callbacks demo
          thingspace-callbacks --sandbox location register 0000123456-00001 \\
              Location https://example.com/hooks/location
        """
        if use_sandbox and (base_url or environment):
            raise click.UsageError("--sandbox cannot be combined with --base-url or --environment")
        ctx.obj = Settings(
            base_url=base_url,
            environment=environment,
            sandbox=use_sandbox,
            json=as_json,
            client_id=client_id,
            client_secret=secret(client_secret),
            username=username,
            password=secret(password),
            access_token=secret(access_token),
            m2m_token=secret(m2m_token),
            timeout=timeout,
            max_retries=max_retries,
        )

    return main


def _without_cli(package: str) -> click.Group:
    """A stand-in ``main`` for an installation without the ``[cli]`` extra: the console
    script and ``python -m thingspace_callbacks`` both call it, and it fails in one line
    rather than with an import traceback."""

    def main(*args: object, **kwargs: object) -> NoReturn:
        print(f"Error: {missing_extra('', package, 'cli')}", file=sys.stderr)
        raise SystemExit(EXIT_MISSING_EXTRA)

    return main  # type: ignore[return-value]  # only ever called, like the group


def _main() -> click.Group:
    try:
        return _build_main()
    except ModuleNotFoundError as exc:
        package = (exc.name or "").partition(".")[0]
        if package not in _CLI_PACKAGES:
            raise
        return _without_cli(package)


main = _main()
"""The ``thingspace-callbacks`` command group (the console script's entry point)."""
