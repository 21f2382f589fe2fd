"""Credentials shared by every client of the process: :data:`PROCESS_CREDENTIALS`.

Clients built with the same credentials and API root (sync or async, on any event loop
or thread) and no ``token_store`` of their own share one :class:`Auth`, so one token
request and one M2M login serve them all, and a client made per request costs neither.
The registry counts the clients using each entry: when the last one closes, the session
stays open :data:`SHARED_SESSION_LINGER` seconds for the next client, and is then
logged out from the process's background event loop; or at the interpreter's exit,
when that comes first (:meth:`ProcessCredentials.flush`). A client whose ``http_client``
was given shares only with clients given the same one (another HTTP client may reach
another server under the same root), and its last close logs out at once, through that
client, as a client with its own store always did.

Keys are a keyed digest of the credentials, never the secrets themselves. A forked
child starts with an empty registry: the parent's sessions are the parent's to log out,
and the child logs in once for itself.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import concurrent.futures.thread  # its exit hook, before ours (see the end)
import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Callable, Mapping
from typing import Any

import anyio
import httpx
from pydantic import SecretStr

from .base import Auth, AuthContext

__all__ = [
    "PROCESS_CREDENTIALS",
    "SHARED_SESSION_LINGER",
    "Lease",
    "ProcessCredentials",
    "process_key",
]

SHARED_SESSION_LINGER = 60.0
"""Seconds the credentials of the process stay open after the last client using them
closes, so that the next client reuses their token and session; then the session is
logged out."""

RETIRE_TIMEOUT = 10.0
"""Seconds a lingering session's logout may take at most (and all of them together,
at the interpreter's exit)."""

_KEY = secrets.token_bytes(32)
"""Keys the digests of :func:`process_key`: a digest that leaked from this process's
memory cannot be checked against guessed secrets elsewhere."""

_Key = tuple[str, str, "httpx.AsyncClient | None"]


def process_key(
    credentials: Mapping[str, object], base_url: str, http_client: httpx.AsyncClient | None
) -> _Key:
    """The registry key of ``credentials`` (``ThingSpaceAuth``'s six credential keywords,
    ``None`` when unset) at ``base_url``, through ``http_client`` (``None``: each
    client's own): a keyed digest of the credentials, the root, and the HTTP client
    given, by identity."""
    mac = hmac.new(_KEY, digestmod=hashlib.sha256)
    for name in sorted(credentials):
        value = credentials[name]
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        # Length-prefixed, so that no two different sets of values encode alike.
        field = "" if value is None else f"={value}"
        data = f"{name}{field}".encode()
        mac.update(len(data).to_bytes(8, "big") + data)
    return mac.hexdigest(), base_url, http_client


class _Entry:
    __slots__ = ("auth", "context", "key", "retiring", "users")

    def __init__(self, key: _Key, auth: Auth) -> None:
        self.key = key
        self.auth = auth
        self.users = 0
        self.retiring: concurrent.futures.Future[None] | None = None
        """The pending logout, while no client uses the entry."""
        self.context: AuthContext | None = None
        """The last client's context, for the settings of the pending logout."""


class Lease:
    """One client's use of an entry of :class:`ProcessCredentials`; :meth:`release`
    when the client closes."""

    __slots__ = ("_entry", "_registry", "_released")

    def __init__(self, registry: ProcessCredentials, entry: _Entry) -> None:
        self._registry = registry
        self._entry = entry
        self._released = False

    @property
    def auth(self) -> Auth:
        """The shared credentials."""
        return self._entry.auth

    async def release(self, context: AuthContext) -> None:
        """The client is closing: the last one to close logs the session out, at once
        when its HTTP client was given, else after the linger."""
        if self._released:
            return
        self._released = True
        if self._registry.count_out(self._entry, context):
            await self._entry.auth.aclose(context)

    def abandon(self) -> None:
        """The client failed to build: count it out, and drop an entry only it used
        (nothing was obtained with it yet)."""
        if self._released:
            return
        self._released = True
        self._registry.drop_out(self._entry)


class ProcessCredentials:
    """The process-wide registry of shared credentials (:data:`PROCESS_CREDENTIALS`);
    safe to use from any thread and event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[_Key, _Entry] = {}
        self._retirements: set[concurrent.futures.Future[None]] = set()
        """The logouts scheduled and not finished, for :meth:`flush` to wait for."""
        # Apart from _lock, which is held where a future is made or cancelled (and
        # cancelling runs the future's callbacks at once).
        self._retirements_lock = threading.Lock()
        self.linger = SHARED_SESSION_LINGER
        """Seconds an entry no client uses stays open (for tests to shorten)."""

    def acquire(self, key: _Key, build: Callable[[], Auth]) -> Lease:
        """A lease on the entry of ``key``, built with ``build()`` when there is none
        (what ``build`` raises propagates, and nothing is kept)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry(key, build())
            entry.users += 1
            retiring, entry.retiring = entry.retiring, None
        if retiring is not None:
            retiring.cancel()
        return Lease(self, entry)

    def count_out(self, entry: _Entry, context: AuthContext) -> bool:
        """Count one user fewer; whether the caller must close ``entry`` now."""
        with self._lock:
            entry.users -= 1
            if entry.users > 0 or self._entries.get(entry.key) is not entry:
                return False
            if entry.key[2] is not None or self.linger <= 0:
                del self._entries[entry.key]
                return True
            entry.context = context
            entry.retiring = self._schedule(self._retire_later(entry, self.linger))
            return False

    def drop_out(self, entry: _Entry) -> None:
        """Count one user fewer, dropping ``entry`` when none is left (see
        :meth:`Lease.abandon`)."""
        with self._lock:
            entry.users -= 1
            if entry.users <= 0 and self._entries.get(entry.key) is entry:
                del self._entries[entry.key]

    def flush(self, timeout: float = RETIRE_TIMEOUT) -> None:
        """Log out now every session left open for the next client, rather than after
        the linger, and wait for those logouts (and those under way) at most
        ``timeout`` seconds. Run at the interpreter's exit (when the main thread
        ends, and again at ``atexit``), while the process's event loop thread (a
        daemon) still runs: a script's session is logged out as it would be by a
        client of its own, not left to lapse. Sessions a client still uses are left
        alone."""
        with self._lock:
            waiting = [entry for entry in self._entries.values() if entry.retiring is not None]
            for entry in waiting:
                del self._entries[entry.key]
                retiring, entry.retiring = entry.retiring, None
                assert retiring is not None
                # A delayed logout past its sleep finds its entry gone, and stops.
                retiring.cancel()
        with self._retirements_lock:
            pending = list(self._retirements)
        pending += [self._schedule(self._retire(entry)) for entry in waiting]
        concurrent.futures.wait(pending, timeout=timeout)

    def _schedule(self, coroutine: Any) -> concurrent.futures.Future[None]:
        from .._sync._loop import submit

        future: concurrent.futures.Future[None] = submit(coroutine)
        with self._retirements_lock:
            self._retirements.add(future)
        future.add_done_callback(self._retirement_done)
        return future

    def _retirement_done(self, future: concurrent.futures.Future[None]) -> None:
        with self._retirements_lock:
            self._retirements.discard(future)

    async def _retire_later(self, entry: _Entry, delay: float) -> None:
        await anyio.sleep(delay)
        with self._lock:
            if entry.users > 0 or self._entries.get(entry.key) is not entry:
                return
            del self._entries[entry.key]
        await self._retire(entry)

    @staticmethod
    async def _retire(entry: _Entry) -> None:
        last = entry.context
        assert last is not None  # set before this was scheduled
        # The pool of the client that closed last is closed (and bound to its loop).
        from .._constants import DEFAULT_CONNECTION_LIMITS
        from .._transport import default_transport

        transport = default_transport(DEFAULT_CONNECTION_LIMITS)  # the shared TLS context
        async with httpx.AsyncClient(
            transport=transport, timeout=last.timeout, follow_redirects=False
        ) as http:
            context = AuthContext(
                base_url=last.base_url,
                http_client=http,
                timeout=last.timeout,
                user_agent=last.user_agent,
                telemetry=last.telemetry,
            )
            with anyio.move_on_after(RETIRE_TIMEOUT):
                await entry.auth.aclose(context)

    def reset(self) -> None:
        """Forget every entry without logging anything out (their sessions lapse on
        ThingSpace's side); the next client logs in afresh. For tests and forked
        children."""
        with self._lock:
            entries = list(self._entries.values())
            self._entries.clear()
        for entry in entries:
            if entry.retiring is not None:
                entry.retiring.cancel()

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def pending_logouts(self) -> int:
        """How many logouts are scheduled (after the linger, or under way)."""
        with self._retirements_lock:
            return len(self._retirements)

    def after_fork_in_child(self) -> None:
        """Start empty in a forked child (see the module)."""
        # The lock may have been held by a thread that does not exist in the child.
        self._lock = threading.Lock()
        self._entries = {}
        self._retirements = set()
        self._retirements_lock = threading.Lock()


PROCESS_CREDENTIALS = ProcessCredentials()
"""The registry every client without a ``token_store`` of its own uses."""

if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=PROCESS_CREDENTIALS.after_fork_in_child)
# When the main thread ends, before the hooks of concurrent.futures.thread (registered
# the same way at its import, above, so theirs run after ours): after them, the loop's
# executor refuses work, and a logout to a host name cannot resolve it. atexit's hook
# catches a client closed later, by a thread that outlived the main one.
_before_threads_stop = getattr(threading, "_register_atexit", None)
if _before_threads_stop is not None:
    _before_threads_stop(PROCESS_CREDENTIALS.flush)
atexit.register(PROCESS_CREDENTIALS.flush)
