"""What an apply checks before its first request: that the plan's prunes are allowed,
that it was made against the same API root, and that the secrets it sends are still
the ones it was made with (:func:`check_plan`)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from pydantic import SecretStr

from .._digest import matches
from .._redact import redact_url
from ._entries import PlanEntry
from ._errors import PlanFileError, PruneRefusedError, StateFileError
from ._load import expand

if TYPE_CHECKING:
    from ._plan import Plan

__all__ = ["check_base_url", "check_plan", "check_prune", "resolve_secrets"]


def check_prune(plan: Plan, allow_large_prune: bool) -> None:
    """Refuse a plan whose prunes are too large, unless allowed (and one whose
    ``max_prune_share`` is not a share: NaN would let every prune through)."""
    from ._plan import prune_share

    prune_share(plan.max_prune_share)
    reasons = plan.large_prunes()
    if reasons and not allow_large_prune:
        raise PruneRefusedError(reasons)


def check_base_url(plan: Plan, base_url: str) -> None:
    """Refuse to apply a plan read from another API root."""
    if plan.base_url is not None and plan.base_url != redact_url(base_url):
        raise PlanFileError(
            f"the plan was made against {plan.base_url}, not {redact_url(base_url)}: plan again"
        )


def resolve_secrets(
    plan: Plan, entries: Iterable[PlanEntry], environ: Mapping[str, str] | None = None
) -> dict[str, SecretStr]:
    """The secret of each digest the entries send (passwords, secret headers): kept
    by the plan, or read again from the environment (``passwordFrom``,
    ``httpHeadersFrom``) and checked against the digest. Takes one PBKDF2 per secret
    read again.

    :raises PlanFileError: a variable is not set, or no longer holds the secret the
        plan was made with.
    """
    environ = os.environ if environ is None else environ
    found: dict[str, SecretStr] = {}
    for entry in entries:
        after = entry.after
        if after is None:
            continue
        wanted: list[tuple[str, str, str | None]] = []
        if after.password is not None:
            wanted.append(("the password", after.password, after.password_from))
        templates = dict(after.http_headers_from or ())
        headers = dict(after.http_headers or ())
        for name in sorted(after.secret_headers):
            wanted.append((f"the http_headers.{name} value", headers[name], templates.get(name)))
        for what, recorded, template in wanted:
            if recorded in found:
                continue
            kept = plan.secrets.get(recorded)
            if kept is not None:
                found[recorded] = kept
                continue
            where = f"{entry.family} {entry.service or 'listener'} of {entry.account}"
            if template is None:
                raise PlanFileError(
                    f"{what} of {where} was not given from the environment: "
                    "apply the plan that plan() returned, or plan again"
                )
            try:
                value = expand(template, environ, path="the plan", place=where)
            except StateFileError as exc:
                raise PlanFileError(str(exc)) from None
            if not matches(value, recorded):
                raise PlanFileError(
                    f"{template} no longer holds {what} the plan was made with ({where}): "
                    "plan again"
                )
            found[recorded] = SecretStr(value)
    return found


def check_plan(
    plan: Plan,
    entries: Iterable[PlanEntry],
    base_url: str,
    *,
    allow_large_prune: bool,
    environ: Mapping[str, str] | None = None,
) -> dict[str, SecretStr]:
    """Every check an apply makes before any request (the prunes, the API root, the
    secrets), in that order; the secrets :func:`resolve_secrets` found.

    :raises PruneRefusedError: a prune too large, unless allowed.
    :raises PlanFileError: a plan read from another API root, or whose secrets are
        not the environment's.
    """
    check_prune(plan, allow_large_prune)
    check_base_url(plan, base_url)
    return resolve_secrets(plan, entries, environ)
