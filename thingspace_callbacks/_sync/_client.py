"""``ThingSpaceClient``: :class:`AsyncThingSpaceClient` run on the process's event loop
(:mod:`._loop`), for code that does not ``await``."""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from .._client import AsyncThingSpaceClient
from .._constants import (
    DEFAULT_MAX_RESPONSE_SIZE,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
)
from .._errors import InvalidArgumentError
from .._exports import publish
from .._types import NOT_GIVEN, NotGiven, TimeoutTypes
from ._loop import call, generation

if TYPE_CHECKING:
    import httpx
    from pydantic import SecretStr
    from typing_extensions import Self, Unpack

    from .._auth import Auth, TokenStore
    from .._fanout import FanOutOptions
    from .._options import RequestOptions
    from .._ratelimit import Limiter
    from .._retry import RetryPolicy
    from ..telemetry import Telemetry
    from .callbacks import SyncCallbacks
    from .fanout import SyncFanOut
    from .resources import (
        SyncConnectivity,
        SyncDiagnostics,
        SyncFirmware,
        SyncHyperPrecise,
        SyncLocation,
    )

__all__ = ["ThingSpaceClient"]

_A = TypeVar("_A")
_T = TypeVar("_T")


class _Root:
    """What a client shares with its copies: the keywords it was built with, and the
    async client built from them in this process (again, lazily, in a forked child)."""

    __slots__ = ("client", "generation", "http_client", "keywords")

    def __init__(
        self,
        keywords: dict[str, Any],
        http_client: Callable[[], httpx.AsyncClient] | None = None,
    ) -> None:
        self.keywords = keywords
        self.http_client = http_client
        """Makes the ``httpx.AsyncClient`` of each async client built (the sandbox's
        in-process transport); ``None``: the async client's own."""
        self.client = self._build()
        self.generation = generation()

    def _build(self) -> AsyncThingSpaceClient:
        if self.http_client is None:
            return AsyncThingSpaceClient(**self.keywords)
        return AsyncThingSpaceClient(http_client=self.http_client(), **self.keywords)

    def current(self) -> AsyncThingSpaceClient:
        if self.generation != generation():
            # Threads making their first calls at once build one client between them:
            # each build leases the process's credentials, and a lease dropped is
            # never released.
            with _rebuilding:
                if self.generation != generation():
                    # A forked child: the parent's client holds the parent's connections
                    # and credentials; drop it unclosed (closing would touch them) and
                    # build anew. One closed before the fork stays: it refuses calls
                    # before any I/O.
                    if not self.client.is_closed:
                        self.client = self._build()
                    self.generation = generation()
        return self.client


_rebuilding = threading.Lock()
"""Held while a forked child rebuilds a client (see :meth:`_Root.current`)."""


def _after_fork_in_child() -> None:
    global _rebuilding
    # A thread of the parent may have held it; it does not exist here.
    _rebuilding = threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_fork_in_child)


class ThingSpaceClient:
    """Synchronous client for the ThingSpace callback APIs: the same constructor,
    families, methods, parameters, models, errors, ``with_raw_response``,
    ``with_options`` and seed facade (``client.callbacks``) as
    :class:`AsyncThingSpaceClient`, without ``await``::

        with ThingSpaceClient() as client:  # credentials from THINGSPACE_*
            client.location.register(
                "0252012345-00001", service="Location", url="https://example.com/hooks"
            )

    It is the async client underneath, run on one background event loop that every
    ``ThingSpaceClient`` of the process shares (a daemon thread started on first use):
    every behaviour of the async client holds. One client is meant to be shared by
    every thread of a process (a threaded web server): calls from many threads run at
    once on that loop, with one token request and one login between them. A client
    made per request is cheap too: clients built with the same credentials and API
    root share tokens and session (see ``token_store``).

    In a child made by ``fork()`` (gunicorn ``--preload``, Celery's prefork pool), a
    client made before the fork builds its connection pool and credentials anew on
    the child's first call, and never uses the parent's. A call from a thread running
    an event loop of its own (a notebook) blocks that thread and works; a call from a
    callback that the SDK runs on its own loop raises :class:`EventLoopThreadError`.
    Ctrl-C during a call cancels it and raises ``KeyboardInterrupt`` at once.

    Close it (``with``, or :meth:`close`); a client left open warns ``ResourceWarning``
    when collected, and never holds up the interpreter's exit.

    The parameters are those of :class:`AsyncThingSpaceClient`, except ``http_client``:
    the client builds its own pool on its loop, and again in a forked child; pass
    ``timeout``, ``default_headers`` and the like instead (httpx reads the proxy
    variables of the environment), or use :class:`AsyncThingSpaceClient` with your
    ``httpx.AsyncClient``.

    :param client_id: See :class:`AsyncThingSpaceClient`.
    :param client_secret: See :class:`AsyncThingSpaceClient`; never shown.
    :param username: See :class:`AsyncThingSpaceClient`.
    :param password: See :class:`AsyncThingSpaceClient`; never shown.
    :param token_store: See :class:`AsyncThingSpaceClient`; default: the process's,
        shared with every client (sync or async) of the same credentials and API root.
    :param auth: See :class:`AsyncThingSpaceClient`.
    :param base_url: See :class:`AsyncThingSpaceClient`.
    :param environment: See :class:`AsyncThingSpaceClient`.
    :param timeout: See :class:`AsyncThingSpaceClient`.
    :param max_retries: See :class:`AsyncThingSpaceClient`.
    :param retry_policy: See :class:`AsyncThingSpaceClient`.
    :param deadline: See :class:`AsyncThingSpaceClient`.
    :param default_headers: See :class:`AsyncThingSpaceClient`.
    :param rate_limit: See :class:`AsyncThingSpaceClient`; shared by every thread.
    :param max_response_size: See :class:`AsyncThingSpaceClient`.
    :param http_client: Not taken (must be ``None``): see above.
    :param speedups: See :class:`AsyncThingSpaceClient`.
    :param telemetry: See :class:`AsyncThingSpaceClient`.
    """

    def __init__(
        self,
        *,
        client_id: str | None = None,
        client_secret: str | SecretStr | None = None,
        username: str | None = None,
        password: str | SecretStr | None = None,
        token_store: TokenStore | None = None,
        auth: Auth | None = None,
        base_url: str | None = None,
        environment: str | None = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        retry_policy: RetryPolicy | None = None,
        deadline: float | None = None,
        default_headers: Mapping[str, str] | None = None,
        rate_limit: float | Limiter | None = None,
        max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE,
        http_client: None = None,
        speedups: bool = False,
        telemetry: Telemetry | None = None,
    ) -> None:
        if http_client is not None:
            raise InvalidArgumentError(
                "ThingSpaceClient builds its own connection pool on its event loop (and "
                "again in a forked child), so it takes no 'http_client'; configure it "
                "with 'timeout', 'default_headers'... or use AsyncThingSpaceClient("
                "http_client=...) with an httpx.AsyncClient"
            )
        self._setup(
            _Root(
                {
                    "client_id": client_id,
                    "client_secret": client_secret,
                    "username": username,
                    "password": password,
                    "token_store": token_store,
                    "auth": auth,
                    "base_url": base_url,
                    "environment": environment,
                    "timeout": timeout,
                    "max_retries": max_retries,
                    "retry_policy": retry_policy,
                    "deadline": deadline,
                    "default_headers": default_headers,
                    "rate_limit": rate_limit,
                    "max_response_size": max_response_size,
                    "speedups": speedups,
                    "telemetry": telemetry,
                }
            )
        )

    @classmethod
    def _over(
        cls, http_client: Callable[[], httpx.AsyncClient], **keywords: Any
    ) -> ThingSpaceClient:
        """A client whose async clients send through ``http_client()`` (called again
        in a forked child); ``keywords`` are :class:`AsyncThingSpaceClient`'s. For the
        sandbox's in-process transport, which needs no socket."""
        client = object.__new__(cls)
        client._setup(_Root(keywords, http_client))
        return client

    def _setup(self, root: _Root) -> None:
        self._root = root
        self._copies: tuple[dict[str, Any], ...] = ()
        """The ``with_options`` keywords that made this copy from the root, in order."""
        self._client = root.client
        self._generation = root.generation
        self.base_url = self._client.base_url
        """The API root this client talks to."""

    @property
    def _async(self) -> AsyncThingSpaceClient:
        """The async client underneath, in this process."""
        if self._generation != generation():
            client = self._root.current()
            for keywords in self._copies:
                client = client.with_options(**keywords)
            self._client, self._generation = client, generation()
        return self._client

    @property
    def auth(self) -> Auth:
        """The authentication step in use."""
        return self._async.auth

    @property
    def timeout(self) -> httpx.Timeout:
        """The default timeout of each attempt."""
        return self._async.timeout

    @property
    def max_retries(self) -> int:
        """How many times a failure worth retrying is retried, by default."""
        return self._async.max_retries

    @property
    def deadline(self) -> float | None:
        """The default deadline of a whole call, in seconds, or ``None``."""
        return self._async.deadline

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`close` has run (on this client or a copy of it)."""
        return self._async.is_closed

    def with_options(
        self,
        *,
        retry_policy: RetryPolicy | NotGiven = NOT_GIVEN,
        rate_limit: float | Limiter | NotGiven | None = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Self:
        """A copy of this client with other defaults for the options passed, as
        :meth:`AsyncThingSpaceClient.with_options` makes one: it shares the connection
        pool, the credentials and the closed state (closing either closes both)::

            patient = client.with_options(max_retries=5, deadline=120)
            patient.location.list("0252012345-00001")
        """
        keywords: dict[str, Any] = {"retry_policy": retry_policy, "rate_limit": rate_limit}
        keywords.update(options)
        copy = object.__new__(type(self))
        copy._root = self._root
        copy._copies = (*self._copies, keywords)
        copy._client = self._async.with_options(**keywords)
        copy._generation = self._generation
        copy.base_url = self.base_url
        return copy

    # Each sub-client looks its async twin up on every call (see Twin).

    @property
    def diagnostics(self) -> SyncDiagnostics:
        """Device Diagnostics listeners (``/diagnostics/v1/callbacks``)."""
        from .resources import SyncDiagnostics

        return SyncDiagnostics(lambda: self._async.diagnostics)

    @property
    def location(self) -> SyncLocation:
        """Device Location listeners (``/loc/v1/callbacks/{account}``)."""
        from .resources import SyncLocation

        return SyncLocation(lambda: self._async.location)

    @property
    def firmware(self) -> SyncFirmware:
        """Software Management (FOTA v2) listeners (``/fota/v2/callbacks/{account}``)."""
        from .resources import SyncFirmware

        return SyncFirmware(lambda: self._async.firmware)

    @property
    def firmware_v3(self) -> SyncFirmware:
        """Software Management (FOTA v3) listeners (``/fota/v3/callbacks/{acc}``)."""
        from .resources import SyncFirmware

        return SyncFirmware(lambda: self._async.firmware_v3)

    @property
    def connectivity(self) -> SyncConnectivity:
        """Connectivity Management listeners by account name (``/m2m/v1/callbacks/{aname}``)."""
        from .resources import SyncConnectivity

        return SyncConnectivity(lambda: self._async.connectivity)

    @property
    def hyper_precise(self) -> SyncHyperPrecise:
        """Hyper Precise Location listeners by account number
        (``/hyper-precise/v1/callbacks``)."""
        from .resources import SyncHyperPrecise

        return SyncHyperPrecise(lambda: self._async.hyper_precise)

    @property
    def callbacks(self) -> SyncCallbacks:
        """The seed SDK's ``CallbacksController`` methods, synchronous as in the seed."""
        from .callbacks import SyncCallbacks

        return SyncCallbacks(lambda: self._async.callbacks)

    def fan_out(
        self,
        accounts: Iterable[_A],
        operation: Callable[[_A], _T],
        **options: Unpack[FanOutOptions],
    ) -> SyncFanOut[_A, _T]:
        """Call ``operation(account)`` for every account, many at once, with the bounds
        and rate limit of :meth:`AsyncThingSpaceClient.fan_out`; iterate the results as
        they complete::

            register = functools.partial(client.location.register, service="Location", url=URL)
            with client.fan_out(accounts, register, concurrency=50) as results:
                for result in results:
                    print(result.account, result.ok, result.value or result.error)

        ``operation`` is a plain function (a sync client's method, or code of yours
        calling it); each call runs in a worker thread, at most ``concurrency`` at once.
        Leaving the block, or closing the iterator, stops the run and cancels the calls
        in flight. Options (``concurrency``, ``rate_limit``, ``fail_fast``,
        ``on_progress``, ``total``) are those of :class:`FanOutOptions`; bad ones, and
        an async ``operation`` (an :class:`AsyncThingSpaceClient` method), raise
        :class:`InvalidArgumentError` here. The run is reported through the client's
        ``telemetry``, as the async client's is. To wait for every result instead, in input
        order: ``report = client.fan_out(accounts, register).collect()``.
        """
        from .._telemetry import instruments_of
        from .fanout import SyncFanOut

        return SyncFanOut(accounts, operation, options, telemetry=instruments_of(self._async))

    def logout(self) -> bool:
        """End the M2M session these credentials use, through this client, even one
        other clients or processes share (see :meth:`AsyncThingSpaceClient.logout`).

        :return: Whether ThingSpace ended a session; failures are logged, not raised.
        :raises RuntimeError: The client is closed.
        """
        return call(self._async.logout())

    def clear_refusals(self) -> bool:
        """Clear the refused login and client secret recorded for these credentials at
        this client's API root, here and in the token store (see
        :meth:`AsyncThingSpaceClient.clear_refusals`).

        :return: Whether a refusal was recorded.
        """
        return call(self._async.clear_refusals())

    def __enter__(self) -> Self:
        if self.is_closed:
            raise RuntimeError("this ThingSpaceClient is closed; create a new one")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the credentials' resources and close the connection pool (see
        :meth:`AsyncThingSpaceClient.aclose`). Calling it again does nothing."""
        client = self._async
        if not client.is_closed:
            call(client.aclose())

    def __del__(self) -> None:
        # Copies share the root's state: only the client the user built warns.
        if getattr(self, "_copies", True) or not hasattr(self, "_client"):
            return
        if not self._client.is_closed:
            # Not repr(self): its auth would build a client in a forked child.
            warnings.warn(
                f"unclosed ThingSpaceClient(base_url={self.base_url!r}); close it, or use "
                "`with ThingSpaceClient() as client:`",
                ResourceWarning,
                stacklevel=2,
                source=self,
            )

    def __repr__(self) -> str:
        return f"ThingSpaceClient(base_url={self.base_url!r}, auth={self.auth!r})"

    def __getstate__(self) -> Any:
        raise TypeError("ThingSpaceClient cannot be pickled; create one per process")


publish(globals())  # exported classes report the package as their module
