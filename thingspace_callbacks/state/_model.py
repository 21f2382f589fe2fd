"""The desired state: :class:`Listener` (one listener every account of a set should
have) and :class:`State` (the listeners, the accounts, the families to prune), checked
whole when built, before any request."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import TYPE_CHECKING

from pydantic import SecretStr

from .._errors import InvalidArgumentError
from .._exports import publish
from .._families import FAMILIES, Family, family
from .._redact import is_sensitive_key
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
    instead of the state's (a list or tuple: a string is refused).

    A header is a secret, kept and shown like the password, when its name says it is
    a credential (``Authorization``, ``X-Api-Key``...) or its value came from
    ``${VAR}`` (:attr:`secret_headers`).

    :param password_from: The ``${VAR}`` template the password was expanded from,
        which a saved plan keeps to read it again from the environment when it is
        applied; set by :meth:`State.load`.
    :param http_headers_from: The ``${VAR}`` template of each header value expanded
        from one (``{"Authorization": "Bearer ${TOKEN}"}``), kept as
        ``password_from`` is; set by :meth:`State.load`.
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
    http_headers_from: Mapping[str, str] | None = field(default=None, hash=False)
    place: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if isinstance(self.password, str):
            object.__setattr__(self, "password", SecretStr(self.password))
        if isinstance(self.accounts, str):
            # tuple("0000000001-00001") would be sixteen one-character accounts.
            raise StateFileError(
                f"accounts must be a list of accounts, not one string: "
                f"accounts=({self.accounts!r},)",
                place=self.place or None,
            )
        if self.accounts is not None and not isinstance(self.accounts, tuple):
            object.__setattr__(self, "accounts", tuple(self.accounts))
        if self.http_headers is not None:
            object.__setattr__(self, "http_headers", MappingProxyType(dict(self.http_headers)))
        if self.http_headers_from is not None:
            object.__setattr__(
                self, "http_headers_from", MappingProxyType(dict(self.http_headers_from))
            )
        object.__setattr__(self, "family", family_of(self.family, place=self.place).name)

    def __repr__(self) -> str:
        # The generated repr would show secret header values; the password it leaves out.
        shown = []
        for item in fields(self):
            if not item.repr:
                continue
            value = getattr(self, item.name)
            if item.name == "http_headers" and value is not None:
                secret = self.secret_headers
                value = {k: "**********" if k in secret else v for k, v in value.items()}
            elif isinstance(value, MappingProxyType):
                value = dict(value)
            shown.append(f"{item.name}={value!r}")
        return f"Listener({', '.join(shown)})"

    @property
    def secret_headers(self) -> frozenset[str]:
        """The names of the headers whose values are secrets: a credential's name, or
        a value from ``${VAR}``. Plans show them only as salted digests."""
        return secret_header_names(self.http_headers or {}, self.http_headers_from)

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
        templates = self.http_headers_from or {}
        for name, value in (self.http_headers or {}).items():
            if not isinstance(value, str):
                raise refuse(f"http_headers.{name} must be a string")
            if is_sensitive_key(name) and name not in templates and path is not None:
                raise refuse(
                    f"http_headers.{name} holds a credential: it must come from the "
                    f'environment: {name} = "${{VARIABLE}}"'
                )


SECRET_UNKNOWN = "(sensitive)"
"""What a state's digest counts a secret as when neither its template nor a digest
of it is known."""


def _secret(value: SecretStr | None) -> str | None:
    return None if value is None else value.get_secret_value()


def secret_header_names(
    headers: Iterable[str], templates: Mapping[str, str] | None
) -> frozenset[str]:
    """Which of ``headers`` are secrets: a credential's name, or one of ``templates``
    (the values that came from ``${VAR}``)."""
    return frozenset(
        name for name in headers if is_sensitive_key(name) or name in (templates or {})
    )


@dataclass(frozen=True)
class State:
    """The listeners a fleet's accounts should have.

    ``listeners`` apply to ``accounts`` (a list or tuple: one string is refused)
    unless they name their own. ``prune`` names the families whose listeners that no
    declared listener matches are removed (the client's attribute names). Built, it
    is checked whole (:class:`StateFileError`): every family, service, URL and
    account, and no (account, family, service) declared twice with different values.

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
        # A string is iterable: tuple("0000000001-00001") would plan sixteen
        # one-character accounts, frozenset("location") eight families.
        if isinstance(self.accounts, str):
            raise StateFileError(
                f"accounts must be a list of accounts, not one string: "
                f"accounts=({self.accounts!r},)",
                path=self.path,
            )
        if isinstance(self.prune, str):
            raise StateFileError(
                f"prune must be a set of families, not one string: "
                f"prune=frozenset({{{self.prune!r}}})",
                path=self.path,
                place="[prune]",
            )
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
        # Equal listeners hash alike (the password aside): one lookup each, not a
        # scan of every listener kept so far.
        alike: dict[Listener, list[Listener]] = {}
        for listener in self.listeners:
            twins = alike.setdefault(listener, [])
            if any(listener.same_values(other) for other in twins):
                continue  # the same listener declared twice: once is enough
            twins.append(listener)
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
        _check_overlaps(kept, self.accounts, everyone, path)
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

    def digest(
        self,
        secret_digests: Mapping[int, str] | None = None,
        header_digests: Mapping[int, Mapping[str, str]] | None = None,
    ) -> str:
        """A SHA-256 of what the state asks for, identifying the state a plan came
        from. Secrets (passwords, :attr:`Listener.secret_headers`) count by where they
        come from (``${VAR}``), else by the salted digests given for them: never by
        their values, which an unsalted hash would let anyone try guesses against.

        :param secret_digests: The digest of each listener's password, by ``id()``.
        :param header_digests: The digests of each listener's secret headers (name to
            digest), by the listener's ``id()``.
        """
        listeners = []
        for listener in self.listeners:
            password = None
            if listener.password is not None:
                password = listener.password_from or (secret_digests or {}).get(id(listener))
            headers = dict(listener.http_headers or {})
            templates = listener.http_headers_from or {}
            digests = (header_digests or {}).get(id(listener), {})
            for name in listener.secret_headers:
                headers[name] = templates.get(name) or digests.get(name, SECRET_UNKNOWN)
            listeners.append(
                {
                    "family": listener.family,
                    "service": listener.service,
                    "url": listener.url,
                    "username": listener.username,
                    "password": password,
                    "httpHeaders": headers,
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


def _check_overlaps(
    listeners: list[Listener], accounts: tuple[str, ...], everyone: set[str], path: str | None
) -> None:
    """Refuse two listeners that ask different things of one account: the same
    (family, service) with different values, or two Diagnostics services (its read
    answers one listener per account, so a plan could not see the second).

    One pass, each listener's accounts looked up in an index of what is claimed by
    (family, service, account) (by (family, account) for Diagnostics), so a state of
    many per-account listeners costs what its accounts do."""
    # The listeners of the state's accounts claim every one of them: kept apart by
    # (family, service), not written out per account.
    top: dict[tuple[str, str], Listener] = {}
    own: dict[tuple[str, str, str], Listener] = {}
    for listener in listeners:
        slot = "" if listener.family == "diagnostics" else listener.service
        if listener.accounts is None:
            if not everyone:
                continue
            first = top.setdefault((listener.family, slot), listener)
            if first is not listener:
                _refuse_overlap(first, listener, accounts[0], path)
            continue
        claimed = top.get((listener.family, slot)) if everyone else None
        for account in listener.accounts:
            if claimed is not None and account in everyone:
                _refuse_overlap(claimed, listener, account, path)
            first = own.setdefault((listener.family, slot, account), listener)
            if first is not listener:
                _refuse_overlap(first, listener, account, path)
    # A listener of the state's accounts declared after one of its own accounts.
    for (name, slot, account), first in own.items():
        claimed = top.get((name, slot))
        if claimed is not None and account in everyone:
            _refuse_overlap(first, claimed, account, path)


def _refuse_overlap(first: Listener, second: Listener, shared: str, path: str | None) -> None:
    """Raise, naming both places, when ``first`` and ``second`` ask different things of
    ``shared``; return when they ask the same."""
    same_service = first.service == second.service
    if same_service and first.same_values(second):
        return
    places = f"{first.place or 'one listener'} and {second.place or 'another'}"
    if same_service:
        what = f"{first.family} {first.service or 'listener'}".rstrip()
        message = f"{what} of account {shared!r} is declared twice with different values ({places})"
    else:
        message = (
            f"diagnostics answers one listener per account, but account {shared!r} "
            f"is given services {first.service!r} and {second.service!r} ({places})"
        )
    raise StateFileError(message, path=path)


publish(globals(), ["Listener", "State"], module="thingspace_callbacks.state")
