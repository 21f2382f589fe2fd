"""What a bulk command asks for: the :class:`Plan` (operation, family, arguments), its
checks before anything runs, the call it makes for each account, and the :class:`Work`
a results line records about it (secrets only as salted PBKDF2 digests)."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from ..._digest import digest, matches
from ..._errors import InvalidArgumentError
from ..._families import FAMILIES as _FAMILIES
from ..._families import Family, family
from ..._redact import redact_url
from .._common import UsageFailure

if TYPE_CHECKING:
    from ..._client import AsyncThingSpaceClient

__all__ = [
    "FAMILIES",
    "SECRET_KEYS",
    "WORK_KEYS",
    "Plan",
    "Work",
    "differences",
]


FAMILIES = tuple(f.cli for f in _FAMILIES)
"""The ``FAMILY`` argument's choices: the command line's family names."""
_CALLBACK_CREDENTIALS = frozenset({"username", "password"})
"""The register keywords ``--callback-username``/``--callback-password`` give."""

_OPTIONS = {"service": "--service", "url": "--url"}
"""The option for each argument the SDK's checks name."""
_OPTION = re.compile(r"'(" + "|".join(_OPTIONS) + r")'")


WORK_KEYS = ("operation", "family", "service", "url", "callbackUsername", "baseUrl")
"""What a results line records about the request, compared as they are by ``--resume``."""
SECRET_KEYS = ("urlDigest", "callbackPassword")
"""What a results line records as digests: compared by digesting the requested value."""


@dataclass(frozen=True)
class Plan:
    """One bulk command: the operation, the family, and its arguments."""

    operation: str
    family: str
    service: str | None = None
    url: str | None = None
    callback_username: str | None = None
    callback_password: SecretStr | None = field(default=None, repr=False)

    @property
    def facts(self) -> Family:
        """The family's entry in the registry (:mod:`thingspace_callbacks._families`)."""
        return family(self.family)

    @property
    def _takes_credentials(self) -> bool:
        return set(self.facts.register_keywords) >= _CALLBACK_CREDENTIALS

    def check(self) -> None:
        """Refuse missing, meaningless or malformed arguments before anything runs."""
        self._check_service()
        if self.operation == "register" and not self.url:
            raise UsageFailure("register needs --url URL")
        if (self.callback_username or self.callback_password) and not self._takes_credentials:
            with_credentials = ", ".join(
                f.cli for f in _FAMILIES if set(f.register_keywords) >= _CALLBACK_CREDENTIALS
            )
            raise UsageFailure(
                f"--callback-username/--callback-password are for {with_credentials}"
            )
        try:
            self._check_values()
        except InvalidArgumentError as exc:
            raise UsageFailure(_OPTION.sub(lambda m: _OPTIONS[m[1]], str(exc))) from None

    def _check_values(self) -> None:
        """The checks the family's sub-client makes of these arguments before it sends
        (see :mod:`thingspace_callbacks.resources`), made once here: otherwise every
        account would fail alike, each after its turn."""
        from ..._validation import callback_url, header_value, identifier, path_segment

        facts = self.facts
        as_headers = facts.listener_in_headers and self.operation == "register"
        in_path = facts.service_in_path and self.operation == "unregister"
        if self.service is not None:
            (path_segment if in_path else identifier)(self.service, "service")
            if as_headers:
                header_value(self.service, "service")
        if self.url is not None:
            url = callback_url(self.url, "url")
            if as_headers:
                header_value(url, "url")

    def _check_service(self) -> None:
        takes_service = self.facts.takes_service
        if takes_service and self.operation != "list" and not self.service:
            raise UsageFailure(f"{self.family} {self.operation} needs --service NAME")
        if not takes_service and self.service:
            raise UsageFailure(f"{self.family} has one listener per account: drop --service")

    def work(self, base_url: str) -> dict[str, Any]:
        """The plain part of what a results line records (:data:`WORK_KEYS`)."""
        return {
            "operation": self.operation,
            "family": self.family,
            "service": self.service,
            "url": redact_url(self.url) if self.url else None,
            "callbackUsername": self.callback_username,
            "baseUrl": redact_url(base_url),
        }

    def secrets(self) -> dict[str, str | None]:
        """The secret part (:data:`SECRET_KEYS`), in clear: recorded only as digests."""
        url = self.url if self.url and redact_url(self.url) != self.url else None
        password = self.callback_password.get_secret_value() if self.callback_password else None
        return {"urlDigest": url, "callbackPassword": password}

    def bind(self, client: AsyncThingSpaceClient) -> Callable[[str], Awaitable[object]]:
        """The per-account call for ``client``: every family speaks the same verbs, so
        only the arguments differ."""
        facts = self.facts
        resource = getattr(client, facts.name)
        if self.operation == "list":
            return getattr(resource, facts.read)  # type: ignore[no-any-return]
        arguments: dict[str, object] = {}
        if facts.takes_service:
            arguments["service"] = self.service
        if self.operation == "register":
            arguments["url"] = self.url
            if self._takes_credentials:
                arguments.update(username=self.callback_username, password=self.callback_password)
        return functools.partial(getattr(resource, self.operation), **arguments)

    def queued(self) -> tuple[str, dict[str, Any]]:
        """The operation as a queue names it (``family.verb``) and its arguments."""
        facts = self.facts
        verb = facts.read if self.operation == "list" else self.operation
        arguments: dict[str, Any] = {"service": self.service, "url": self.url}
        if self._takes_credentials:
            arguments.update(username=self.callback_username, password=self.callback_password)
        return facts.operation(verb), arguments


def _same_secret(recorded: object, secret: str | None) -> bool:
    if recorded is None or secret is None:
        return recorded is None and secret is None
    return matches(secret, recorded)


@dataclass(frozen=True)
class Work:
    """What each results line of this run records about its request."""

    fields: dict[str, Any]
    """:data:`WORK_KEYS` and :data:`SECRET_KEYS` as written (secrets digested)."""

    @classmethod
    def of(cls, plan: Plan, base_url: str, salt: str) -> Work:
        fields = plan.work(base_url)
        for key, secret in plan.secrets().items():
            if secret is not None:
                fields[key] = digest(secret, salt)
        return cls(fields)


def differences(recorded: Mapping[str, Any], plan: Plan, base_url: str) -> list[str]:
    """How the work a results line records differs from what ``plan`` asks for now."""
    found = []
    for key, wanted in plan.work(base_url).items():
        if recorded.get(key) != wanted:
            found.append(f"{key} {recorded.get(key)!r} there, {wanted!r} now")
    for key, secret in plan.secrets().items():
        if not _same_secret(recorded.get(key), secret):
            found.append(f"{key} differs (it is recorded as a digest)")
    return found
