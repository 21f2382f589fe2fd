"""``AsyncThingSpaceClient``: configuration, lifecycle and the family sub-clients."""

from __future__ import annotations

from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from ._auth.resolve import client_auth
from ._connect import connect, resolve_base_url
from ._constants import (
    DEFAULT_MAX_RESPONSE_SIZE,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
)
from ._errors import InvalidArgumentError
from ._exports import publish
from ._options import ResolvedOptions
from ._pipeline import Pipeline, Shared
from ._ratelimit import Limiter, as_limiter
from ._telemetry import instruments_for
from ._types import NOT_GIVEN, NotGiven, TimeoutTypes

if TYPE_CHECKING:
    from pydantic import SecretStr
    from typing_extensions import Self, Unpack

    from ._auth import Auth, TokenStore
    from ._fanout import FanOut, FanOutOptions
    from ._options import RequestOptions
    from ._retry import RetryPolicy
    from .callbacks import Callbacks
    from .resources import Connectivity, Diagnostics, Firmware, HyperPrecise, Location
    from .telemetry import Telemetry

__all__ = ["AsyncThingSpaceClient"]

_A = TypeVar("_A")
_T = TypeVar("_T")


class AsyncThingSpaceClient:
    """Async client for the ThingSpace callback APIs.

    Use it as an async context manager, or call :meth:`aclose` when done::

        async with AsyncThingSpaceClient() as client:  # credentials from THINGSPACE_*
            await client.location.register(
                "0252012345-00001", service="Location", url="https://example.com/hooks"
            )

    One client (and its connection pool) is meant to be shared by every task of a
    process; it is safe to use concurrently.

    Credentials: with no credential argument the client reads the ``THINGSPACE_*``
    environment variables (see :meth:`ThingSpaceAuth.from_env`); ``client_id``,
    ``client_secret``, ``username`` and ``password`` override them pair by pair. For
    anything else (fixed tokens, scopes, callbacks, a custom scheme) build the
    :class:`ThingSpaceAuth` (or an :class:`Auth` of your own) and pass ``auth=``.

    :param client_id: With ``client_secret``, the SDK gets and renews bearer tokens
        itself (env ``THINGSPACE_CLIENT_ID``, ``THINGSPACE_CLIENT_SECRET``).
    :param client_secret: See ``client_id``; never shown in reprs, logs or errors.
    :param username: With ``password``, the SDK opens and renews the M2M session itself
        (env ``THINGSPACE_USERNAME``, ``THINGSPACE_PASSWORD``).
    :param password: See ``username``; never shown.
    :param token_store: A :class:`TokenStore` to share tokens between processes, or to
        keep them to this client (a :class:`MemoryTokenStore` of its own). Default: the
        process's, shared by every client (sync or async) built with the same
        credentials and API root, so that one token request and one login serve them
        all; the session is logged out a minute after the last of them closes.
    :param auth: The authentication to use, instead of the four arguments above and
        the environment.
    :param base_url: The API root; every family's URL derives from it. Defaults to the
        ``THINGSPACE_BASE_URL`` environment variable, else the root of ``environment``.
    :param environment: ``"production"`` (default), ``"staging"`` or ``"mock"``
        (Verizon's mock server). Ignored when ``base_url`` is given.
    :param timeout: Seconds, or an ``httpx.Timeout``, for each attempt. The default is
        5 s to connect, 30 s to read or write, 10 s to get a pooled connection; the
        whole attempt, up to the last byte of the answer, takes at most the longest of
        these (30 s by default, 3 s with ``timeout=3``).
    :param max_retries: How many times a failure worth retrying (connection error,
        timeout, 408, 429, 5xx) is retried; default 2, ``0`` turns retries off.
    :param retry_policy: A :class:`RetryPolicy` with other waits, ``Retry-After`` cap
        or time budget.
    :param deadline: Seconds a whole call may take, every attempt and wait included;
        default ``None`` (no deadline).
    :param default_headers: Headers sent with every request.
    :param rate_limit: Requests per second for every request this client sends (retries
        included), shared by all its tasks and fan-outs; or a :class:`Limiter` to share
        with other clients (a :class:`RateLimiter`, or
        ``thingspace_callbacks.redis.RedisRateLimiter`` to share with other processes).
        Default ``None``: no limit.
    :param max_response_size: The largest answer read, in bytes (default 4 MiB, against
        answers of a few KB); larger ones raise :class:`ResponseTooLargeError` without
        being kept in memory. ``None`` removes the limit.
    :param http_client: An ``httpx.AsyncClient`` to send through (for proxies, custom
        TLS or transports). It is used as is and never closed by this client, except
        that the SDK's requests never follow redirects, whatever the client's
        ``follow_redirects``: a redirect would carry the credentials elsewhere.
    :param speedups: Send through aiohttp under asyncio (the ``speedups`` extra), which
        costs several times less CPU per request under fan-out; trio keeps httpx's
        transport. Off by default, so test doubles of httpx's transport (respx) see
        every request. Not with ``http_client``.
    :param telemetry: Where this client's OpenTelemetry spans and metrics go (a
        :class:`~thingspace_callbacks.telemetry.Telemetry`); default: the global
        providers, when the ``otel`` extra is installed (see the Observability guide).
    :param _shared: Private, for :meth:`with_options`: the connection pool, credentials
        and closed state of the client being copied.
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
        http_client: httpx.AsyncClient | None = None,
        speedups: bool = False,
        telemetry: Telemetry | None = None,
        _shared: Shared | None = None,
    ) -> None:
        self.base_url = resolve_base_url(base_url, environment)
        """The API root this client talks to."""
        options = ResolvedOptions.resolve(
            timeout=timeout,
            max_retries=max_retries,
            retry_policy=retry_policy,
            deadline=deadline,
            max_response_size=max_response_size,
            headers=default_headers or {},
        )
        if _shared is None:
            # A new client, not a copy: ``with_options`` passes what the copy shares
            # with this one, and headers the HTTP client does not send already.
            if http_client is not None and speedups:
                raise InvalidArgumentError(
                    "'speedups' picks the transport of the client's own httpx.AsyncClient; "
                    "with 'http_client', give that client the transport you want"
                )
            resolved, lease = client_auth(
                auth,
                client_id=client_id,
                client_secret=client_secret,
                username=username,
                password=password,
                token_store=token_store,
                base_url=self.base_url,
                http_client=http_client,
            )
            try:
                _shared, options = connect(
                    self.base_url,
                    options,
                    auth=resolved,
                    lease=lease,
                    http_client=http_client,
                    speedups=speedups,
                    telemetry=instruments_for(telemetry),
                )
            except BaseException:
                if lease is not None:
                    lease.abandon()
                raise
        self._pipeline = Pipeline(
            shared=_shared,
            base_url=self.base_url,
            options=options,
            rate_limiter=as_limiter(rate_limit),
        )

    @property
    def http_client(self) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient`` every request goes through."""
        return self._pipeline.http_client

    @property
    def auth(self) -> Auth:
        """The authentication step in use."""
        return self._pipeline.auth

    @property
    def timeout(self) -> httpx.Timeout:
        """The default timeout of each attempt."""
        return self._pipeline.options.timeout

    @property
    def max_retries(self) -> int:
        """How many times a failure worth retrying is retried, by default."""
        return self._pipeline.options.max_retries

    @property
    def deadline(self) -> float | None:
        """The default deadline of a whole call, in seconds, or ``None``."""
        return self._pipeline.options.deadline

    def with_options(
        self,
        *,
        retry_policy: RetryPolicy | NotGiven = NOT_GIVEN,
        rate_limit: float | Limiter | NotGiven | None = NOT_GIVEN,
        **options: Unpack[RequestOptions],
    ) -> Self:
        """A copy of this client with other defaults for the options passed.

        Takes every per-call option (:class:`RequestOptions`: ``timeout``,
        ``max_retries``, ``deadline``, ``max_response_size``, ``extra_headers``: added to
        the copy's headers) and the client settings that can differ per copy
        (``retry_policy``; ``rate_limit``, where ``None`` removes the limit). The copy is
        built by the constructor, from this client's settings with those passed in
        their place; it shares the connection pool, the credentials and the closed
        state: closing either closes both. Making one is cheap::

            patient = client.with_options(max_retries=5, deadline=120)
            await patient.location.list("0252012345-00001")
        """
        pipeline = self._pipeline
        merged = pipeline.options.merge(options, "with_options")
        return type(self)(
            base_url=self.base_url,
            timeout=merged.timeout,
            max_retries=merged.max_retries,
            retry_policy=merged.retry_policy
            if isinstance(retry_policy, NotGiven)
            else retry_policy,
            deadline=merged.deadline,
            default_headers={**merged.headers, **merged.extra_headers},
            rate_limit=pipeline.rate_limiter if isinstance(rate_limit, NotGiven) else rate_limit,
            max_response_size=merged.max_response_size,
            _shared=pipeline.shared,
        )

    @property
    def is_closed(self) -> bool:
        """Whether :meth:`aclose` has run (on this client or a copy of it)."""
        return self._pipeline.shared.closed

    # Sub-clients import their module on first use, which keeps `import` fast.

    @cached_property
    def diagnostics(self) -> Diagnostics:
        """Device Diagnostics listeners (``/diagnostics/v1/callbacks``)."""
        from .resources.diagnostics import Diagnostics

        return Diagnostics(self._pipeline)

    @cached_property
    def location(self) -> Location:
        """Device Location listeners (``/loc/v1/callbacks/{account}``)."""
        from .resources.location import Location

        return Location(self._pipeline)

    @cached_property
    def firmware(self) -> Firmware:
        """Software Management (FOTA v2) listeners (``/fota/v2/callbacks/{account}``)."""
        from .resources.firmware import Firmware

        return Firmware(self._pipeline, version="v2")

    @cached_property
    def firmware_v3(self) -> Firmware:
        """Software Management (FOTA v3) listeners (``/fota/v3/callbacks/{acc}``)."""
        from .resources.firmware import Firmware

        return Firmware(self._pipeline, version="v3")

    @cached_property
    def connectivity(self) -> Connectivity:
        """Connectivity Management listeners by account name (``/m2m/v1/callbacks/{aname}``)."""
        from .resources.connectivity import Connectivity

        return Connectivity(self._pipeline)

    @cached_property
    def hyper_precise(self) -> HyperPrecise:
        """Hyper Precise Location listeners by account number
        (``/hyper-precise/v1/callbacks``)."""
        from .resources.hyper_precise import HyperPrecise

        return HyperPrecise(self._pipeline)

    @cached_property
    def callbacks(self) -> Callbacks:
        """The seed SDK's ``CallbacksController`` methods, async: the migration path."""
        from .callbacks import Callbacks

        return Callbacks(self)

    def fan_out(
        self,
        accounts: Iterable[_A] | AsyncIterable[_A],
        operation: Callable[[_A], Awaitable[_T]],
        **options: Unpack[FanOutOptions],
    ) -> FanOut[_A, _T]:
        """Call ``operation(account)`` for every account, many at once; iterate the
        results as they complete::

            register = functools.partial(client.location.register, service="Location", url=URL)
            async with client.fan_out(accounts, register, concurrency=50) as results:
                async for result in results:
                    print(result.account, result.ok, result.value or result.error)

        ``accounts`` (any iterable or async iterable) is read lazily, and every account
        read yields exactly one :class:`~thingspace_callbacks.FanOutResult`; a
        failing account never stops the others unless ``fail_fast=True``. Leaving the
        block stops the run and cancels the calls in flight. Options (``concurrency``,
        ``rate_limit``, ``fail_fast``, ``on_progress``, ``total``) are described in
        :class:`~thingspace_callbacks.FanOutOptions`; bad ones raise
        :class:`InvalidArgumentError` here, before anything is sent.

        To wait for every result instead, in input order, as a
        :class:`~thingspace_callbacks.FanOutReport` (``.succeeded``, ``.failed``,
        ``.cancelled`` lists, ``.ok``)::

            report = await client.fan_out(accounts, register).collect()
        """
        from ._fanout import FanOut

        return FanOut(accounts, operation, telemetry=self._pipeline.telemetry, **options)

    async def logout(self) -> bool:
        """End the M2M session these credentials use, through this client's connection
        pool, even a session other clients or processes share (they log in again, once
        for all, when ThingSpace refuses it), and forget it in the token store. Prefer
        it to ``client.auth.logout()``: credentials shared by the process's clients
        may have made their last request through another client.

        :return: Whether ThingSpace ended a session (``False`` with a fixed
            ``m2m_token`` or none); failures are logged, not raised.
        :raises RuntimeError: The client is closed.
        """
        if self.is_closed:
            raise RuntimeError("this AsyncThingSpaceClient is closed; create a new one")
        return await self.auth.logout(self._pipeline.auth_context)

    async def clear_refusals(self) -> bool:
        """Clear the refused login and client secret recorded for these credentials at
        this client's API root, here and in the token store, so that the next request
        of every process sharing the store asks ThingSpace again (see
        :meth:`ThingSpaceAuth.clear_refusals`).

        :return: Whether a refusal was recorded (``False`` for an ``auth`` other than a
            :class:`ThingSpaceAuth`).
        """
        from ._auth.thingspace import ThingSpaceAuth

        auth = self.auth
        if not isinstance(auth, ThingSpaceAuth):
            return False
        return await auth.clear_refusals(self.base_url)

    async def __aenter__(self) -> Self:
        if self.is_closed:
            raise RuntimeError("this AsyncThingSpaceClient is closed; create a new one")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release the credentials' resources and close the connection pool, unless the
        ``httpx.AsyncClient`` was passed in. Calling it again does nothing."""
        await self._pipeline.shared.aclose()

    def __repr__(self) -> str:
        return f"AsyncThingSpaceClient(base_url={self.base_url!r}, auth={self.auth!r})"

    def __getstate__(self) -> Any:
        raise TypeError("AsyncThingSpaceClient cannot be pickled; create one per process")


publish(globals())  # exported classes report the package as their module
