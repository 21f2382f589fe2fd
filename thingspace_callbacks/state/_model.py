"""The desired state: :class:`Listener` (one listener every account of a set should
have) and :class:`State` (the listeners, the accounts, the families to prune), checked
whole when built, before any request."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

from pydantic import SecretStr

from .._errors import InvalidArgumentError
from .._exports import publish
from .._families import FAMILIES, Family, family
from .._validation import callback_url, checked_account, header_value, identifier, path_segment
from ._errors import StateFileError

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["FAMILY_ALIASES", "Listener", "State", "family_of"]

FAMILY_ALIASES: Mapping[str, str] = MappingProxyType(
    {"account_name": "connectivity", "account_number": "hyper_precise"}
)
"""Other names a state may give a family: the design's first names of the
Connectivity Management (by account name) and Hyper Precise Location (by account
number) families."""


def family_of(name: object, *, path: str | None = None, place: str | None = None) -> Family:
    """The family ``name`` names: the client's attribute (``"location"``), its command
    line spelling (``"hyper-precise"``) or an alias of :data:`FAMILY_ALIASES`.

    :raises StateFileError: no family has that name; the message lists the valid ones.
    """
    if isinstance(name, str):
        try:
            return family(FAMILY_ALIASES.get(name, name))
        except KeyError:
            pass
    names = ", ".join(f.name for f in FAMILIES)
    aliases = ", ".join(f"{a} ({n})" for a, n in FAMILY_ALIASES.items())
    raise StateFileError(
        f"unknown family {name!r}: choose one of {names} (or {aliases})", path=path, place=place
    )


def _closed_services(facts: Family) -> tuple[str, ...] | None:
    """The only services ThingSpace documents for a family whose set is closed
    (Device Location's); ``None`` for the open sets."""
    if facts.name == "location":
        from ..models.location import LocationServiceName

        return tuple(member.value for member in LocationServiceName)
    return None


@dataclass(frozen=True)
class Listener:
    """One listener that every account it applies to should have.

    ``family`` is the client's attribute (``"location"``; see :data:`FAMILY_ALIASES`
    for the other names taken). ``service`` is required by every family but the FOTA
    ones (``firmware``, ``firmware_v3``: one listener per account). ``username``,
    ``password`` (``connectivity``) and ``http_headers`` (``diagnostics``) are the
    family's ``register`` keywords. ``accounts`` makes it apply to those accounts
    instead of the state's.

    :param password_from: The ``${VAR}`` template the password was expanded from,
        which a saved plan keeps to read it again from the environment when it is
        applied; set by :meth:`State.load`.
    :param place: Where it was declared (``"line 12, listener 3"``), for messages.
    """

    family: str
    url: str
    service: str = ""
    username: str | None = None
    password: SecretStr | None = field(default=None, repr=False, compare=False)
    http_headers: Mapping[str, str] | None = field(default=None, hash=False)
    accounts: tuple[str, ...] | None = field(default=None, hash=False)
    password_from: str | None = None
    place: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.password, str):
            object.__setattr__(self, "password", SecretStr(self.password))
        if self.accounts is not None and not isinstance(self.accounts, tuple):
            object.__setattr__(self, "accounts", tuple(self.accounts))
        if self.http_headers is not None:
            object.__setattr__(self, "http_headers", MappingProxyType(dict(self.http_headers)))
        object.__setattr__(self, "family", family_of(self.family, place=self.place).name)

    @property
    def facts(self) -> Family:
        """The family's entry in the registry."""
        return family(self.family)

    def same_values(self, other: Listener) -> bool:
        """Whether ``other`` asks for the same listener (the password too)."""
        return (
            self.url == other.url
            and self.username == other.username
            and _secret(self.password) == _secret(other.password)
            and dict(self.http_headers or {}) == dict(other.http_headers or {})
        )

    def check(self, path: str | None = None) -> None:
        """Refuse what the family's sub-client would refuse, and what it does not take.

        :raises StateFileError: naming the field and where the listener was declared.
        """
        facts = self.facts
        place = self.place or None

        def refuse(message: str) -> StateFileError:
            return StateFileError(message, path=path, place=place)

        if facts.takes_service:
            if not self.service:
                raise refuse(f"{facts.name} listeners need a service")
        elif self.service:
            raise refuse(f"{facts.name} has one listener per account: drop service")
        for name in ("username", "password", "http_headers"):
            if getattr(self, name) is not None and name not in facts.register_keywords:
                takes = [f.name for f in FAMILIES if name in f.register_keywords]
                raise refuse(f"{name} is for {', '.join(takes)} listeners, not {facts.name}")
        try:
            if self.service:
                identifier(self.service, "service")
                if facts.service_in_path:
                    path_segment(self.service, "service")
                if facts.listener_in_headers:
                    header_value(self.service, "service")
            callback_url(self.url, "url")
            if facts.listener_in_headers:
                header_value(self.url, "url")
        except InvalidArgumentError as exc:
            raise refuse(str(exc)) from None
        closed = _closed_services(facts)
        if closed is not None and self.service not in closed:
            raise refuse(
                f"{facts.name} has no service {self.service!r}: choose one of {', '.join(closed)}"
            )
        if "@" in self.url.partition("://")[2].split("/", 1)[0]:
            raise refuse("url must not carry credentials (user:password@): they would be shown")
        if self.password is not None and self.password_from is None and path is not None:
            raise refuse('password must come from the environment: password = "${VARIABLE}"')
        for name, value in (self.http_headers or {}).items():
            if not isinstance(value, str):
                raise refuse(f"http_headers.{name} must be a string")


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


@dataclass(frozen=True)
class State:
    """The listeners a fleet's accounts should have.

    ``listeners`` apply to ``accounts`` unless they name their own. ``prune`` names the
    families whose listeners that no declared listener matches are removed (the
    client's attribute names). Built, it is checked whole (:class:`StateFileError`):
    every family, service, URL and account, and no (account, family, service)
    declared twice with different values.

    :param path: The state file it was read from (:meth:`load`), for messages.
    """

    listeners: tuple[Listener, ...]
    accounts: tuple[str, ...] = ()
    prune: frozenset[str] = frozenset()
    path: str | None = None
    _top: dict[str, dict[str, Listener]] = field(init=False, repr=False, compare=False)
    _own: dict[str, list[Listener]] = field(init=False, repr=False, compare=False)
    _order: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _everyone: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "listeners", tuple(self.listeners))
        object.__setattr__(self, "accounts", tuple(self.accounts))
        prune = frozenset(
            family_of(name, path=self.path, place="[prune]").name for name in self.prune
        )
        object.__setattr__(self, "prune", prune)
        for index, listener in enumerate(self.listeners, 1):
            if not isinstance(listener, Listener):
                raise StateFileError(f"listener {index} is not a Listener", path=self.path)
            listener.check(self.path)
        self._index()

    @classmethod
    def load(cls, path: str, *, environ: Mapping[str, str] | None = None) -> Self:
        """Read a state file (TOML; see the guide for its shape), expanding ``${VAR}``
        from ``environ`` (default: ``os.environ``).

        :raises StateFileError: the file cannot be read, or holds what cannot be planned.
        """
        from ._load import load_state

        return load_state(cls, path, environ)

    # -- what each account should have ----------------------------------------------

    def _index(self) -> None:
        path = self.path
        everyone = set(self.accounts)
        for account in self.accounts:
            _check_account(account, path, "accounts")
        top: dict[str, dict[str, Listener]] = {}
        own: dict[str, list[Listener]] = {}
        order: dict[str, None] = dict.fromkeys(self.accounts)
        kept: list[Listener] = []
        for listener in self.listeners:
            if any(
                listener is not other and listener == other and listener.same_values(other)
                for other in kept
            ):
                continue  # the same listener declared twice: once is enough
            kept.append(listener)
        for listener in kept:
            if listener.accounts is None:
                top.setdefault(listener.family, {})
                if not self.accounts:
                    raise StateFileError(
                        "this listener names no accounts and the state has none: "
                        "set accounts at the top or in the listener",
                        path=path,
                        place=listener.place or None,
                    )
            else:
                for account in listener.accounts:
                    _check_account(account, path, listener.place or "accounts")
                    order.setdefault(account)
        _check_overlaps(kept, everyone, path)
        for listener in kept:
            if listener.accounts is None:
                top[listener.family][listener.service] = listener
            else:
                for account in dict.fromkeys(listener.accounts):
                    own.setdefault(account, []).append(listener)
        object.__setattr__(self, "_top", top)
        object.__setattr__(self, "_own", own)
        object.__setattr__(self, "_order", tuple(order))
        object.__setattr__(self, "_everyone", frozenset(everyone))

    @property
    def all_accounts(self) -> tuple[str, ...]:
        """Every account the state names, once each, in the order first named."""
        return self._order

    def desired(self, account: str) -> dict[str, dict[str, Listener]]:
        """What ``account`` should have: family to service to listener (FOTA's
        service is ``""``)."""
        wanted: dict[str, dict[str, Listener]] = {}
        if account in self._everyone:
            for name, services in self._top.items():
                wanted[name] = dict(services)
        for listener in self._own.get(account, ()):
            wanted.setdefault(listener.family, {})[listener.service] = listener
        return wanted

    def families(self, account: str) -> tuple[str, ...]:
        """The families to read for ``account``: those it should have listeners of,
        and the pruned ones, in the registry's order."""
        named = set(self.prune)
        if account in self._everyone:
            named.update(self._top)
        named.update(listener.family for listener in self._own.get(account, ()))
        return tuple(f.name for f in FAMILIES if f.name in named)

    def reads(self) -> Iterator[tuple[str, str]]:
        """Every (account, family) a plan reads, in order."""
        for account in self._order:
            for name in self.families(account):
                yield account, name

    def digest(self, secret_digests: Mapping[int, str] | None = None) -> str:
        """A SHA-256 of what the state asks for (secrets by where they come from, or
        by the digests given for them), identifying the state a plan came from."""
        listeners = []
        for listener in self.listeners:
            password = None
            if listener.password is not None:
                password = listener.password_from or (secret_digests or {}).get(id(listener))
            listeners.append(
                {
                    "family": listener.family,
                    "service": listener.service,
                    "url": listener.url,
                    "username": listener.username,
                    "password": password,
                    "httpHeaders": dict(listener.http_headers or {}),
                    "accounts": list(listener.accounts) if listener.accounts is not None else None,
                }
            )
        data = {
            "accounts": list(self.accounts),
            "listeners": listeners,
            "prune": sorted(self.prune),
        }
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _check_account(account: object, path: str | None, place: str) -> None:
    try:
        checked_account(account)
    except InvalidArgumentError as exc:
        raise StateFileError(
            str(exc).replace("'account' ", "account "), path=path, place=place
        ) from None


def _check_overlaps(listeners: Iterable[Listener], everyone: set[str], path: str | None) -> None:
    """Refuse two listeners that ask different things of one account: the same
    (family, service) with different values, or two Diagnostics services (its read
    answers one listener per account, so a plan could not see the second)."""
    by_family: dict[str, list[Listener]] = {}
    for listener in listeners:
        by_family.setdefault(listener.family, []).append(listener)
    for name, group in by_family.items():
        for i, first in enumerate(group):
            for second in group[i + 1 :]:
                same_service = first.service == second.service
                if same_service and first.same_values(second):
                    continue
                if not same_service and name != "diagnostics":
                    continue
                shared = _shared_account(first, second, everyone)
                if shared is None:
                    continue
                places = f"{first.place or 'one listener'} and {second.place or 'another'}"
                if same_service:
                    what = f"{name} {first.service or 'listener'}".rstrip()
                    message = (
                        f"{what} of account {shared!r} is declared twice with different "
                        f"values ({places})"
                    )
                else:
                    message = (
                        f"diagnostics answers one listener per account, but account {shared!r} "
                        f"is given services {first.service!r} and {second.service!r} ({places})"
                    )
                raise StateFileError(message, path=path)


def _shared_account(first: Listener, second: Listener, everyone: set[str]) -> str | None:
    one = everyone if first.accounts is None else set(first.accounts)
    other = everyone if second.accounts is None else second.accounts
    for account in other:
        if account in one:
            return account
    return None


publish(globals(), ["Listener", "State"], module="thingspace_callbacks.state")
