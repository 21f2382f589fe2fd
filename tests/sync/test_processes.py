"""Where sync code runs: a forked child, a thread running its own event loop, the SDK's
loop thread itself, Ctrl-C during a call, a client never closed."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from typing import Any

import anyio
import pytest

from thingspace_callbacks import AsyncThingSpaceClient, EventLoopThreadError, ThingSpaceClient
from thingspace_callbacks._auth.process import PROCESS_CREDENTIALS
from thingspace_callbacks._sync import _loop
from thingspace_callbacks._sync._client import _Root
from thingspace_callbacks.sandbox import Faults, SandboxServer

from .._servers import serve
from .conftest import ACCOUNT

pytestmark = pytest.mark.integration

CHILD_TIMEOUT = 60.0


def _in_child(work: object) -> int:
    """Fork; run ``work()`` in the child and exit with what it returns (70 when it
    raises); the parent returns the child's exit status."""
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 70
        try:
            code = work()  # type: ignore[operator]
        finally:
            os._exit(code)
    give_up = time.monotonic() + CHILD_TIMEOUT
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > give_up:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung")
        time.sleep(0.01)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() with threads running
def test_a_client_made_before_fork_works_in_the_child_on_connections_of_its_own(
    client: ThingSpaceClient, server: SandboxServer
) -> None:
    client.location.list(ACCOUNT)  # the parent's pool, loop and session are in use
    parent_loop = _loop.loop_thread()
    parent_pool = client._async.http_client
    location = client.location  # a sub-client kept across the fork

    def child() -> int:
        assert _loop.loop_thread() is not parent_loop
        assert len(PROCESS_CREDENTIALS) == 0
        location.list(ACCOUNT)
        copy = client.with_options(max_retries=1)
        copy.location.list(ACCOUNT)
        assert client._async.http_client is not parent_pool
        client.close()
        return 0

    assert _in_child(child) == 0
    # The parent goes on with its own pool and session, which the child left alone.
    client.location.list(ACCOUNT)
    assert not client.is_closed
    assert server.sandbox.calls["login"] == 2  # the parent's and the child's own
    assert server.sandbox.calls["location.list"] == 4


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() with threads running
def test_a_client_closed_before_fork_stays_closed_in_the_child(server: SandboxServer) -> None:
    client = ThingSpaceClient(base_url=server.base_url, **server.sandbox.credential_kwargs())
    client.location.list(ACCOUNT)
    client.close()

    def child() -> int:
        assert client.is_closed
        try:
            client.location.list(ACCOUNT)
        except RuntimeError:
            return 0
        return 1

    assert _in_child(child) == 0
    assert server.sandbox.calls["location.list"] == 1


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() with threads running
def test_threads_making_the_first_calls_in_a_child_share_one_client(
    client: ThingSpaceClient, server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.location.list(ACCOUNT)
    build = _Root._build

    def slow_build(root: _Root) -> Any:
        time.sleep(0.2)  # both threads are past the check before either has built
        return build(root)

    def child() -> int:
        monkeypatch.setattr(_Root, "_build", slow_build)
        PROCESS_CREDENTIALS.linger = 0  # the last close logs out at once
        start = threading.Barrier(2)
        errors: list[BaseException] = []

        def first_call() -> None:
            start.wait()
            try:
                client.location.list(ACCOUNT)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=first_call) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(CHILD_TIMEOUT)
        assert errors == []
        client.close()
        # One client was built and closed: nothing of the child's credentials is left.
        assert len(PROCESS_CREDENTIALS) == 0
        return 0

    assert _in_child(child) == 0
    assert server.sandbox.calls["logout"] == 1  # the child's; the parent's is open


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() with threads running
def test_an_unclosed_client_collected_in_a_child_warns_without_building_a_client(
    server: SandboxServer,
) -> None:
    held = [ThingSpaceClient(base_url=server.base_url, **server.sandbox.credential_kwargs())]
    held[0].location.list(ACCOUNT)

    def child() -> int:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            held.clear()
            gc.collect()
        assert [w.category for w in caught] == [ResourceWarning]
        assert server.base_url in str(caught[0].message)
        assert len(PROCESS_CREDENTIALS) == 0  # no client was built to say so
        return 0

    try:
        assert _in_child(child) == 0
    finally:
        held[0].close()
    assert server.sandbox.calls["login"] == 1


async def test_a_call_from_a_thread_running_its_own_loop_works(client: ThingSpaceClient) -> None:
    # As in a notebook: the thread is blocked for the call, and nothing deadlocks.
    asyncio.get_running_loop()
    assert client.location.list(ACCOUNT) == []


async def test_a_call_from_a_loop_whose_client_leads_the_token_request_does_not_deadlock(
    server: SandboxServer,
) -> None:
    # An async client on this loop asks for the token (slow), then the same thread
    # blocks in a sync call: the loop, hence the async client's request, stalls until
    # the sync call returns, so the sync call must not wait for that request.
    server.sandbox.faults = Faults(include_auth=True, latency=0.3)
    credentials = server.sandbox.credential_kwargs()
    async with AsyncThingSpaceClient(base_url=server.base_url, **credentials) as leader:
        leading = asyncio.create_task(leader.location.list(ACCOUNT))
        give_up = time.monotonic() + CHILD_TIMEOUT
        while server.sandbox.calls["token"] == 0:  # the async client leads the flight
            assert time.monotonic() < give_up
            await asyncio.sleep(0.01)
        with ThingSpaceClient(base_url=server.base_url, **credentials) as client:
            assert client.auth is leader.auth
            # A deadlock would last forever: the deadline turns it into a failure.
            assert client.location.list(ACCOUNT, deadline=CHILD_TIMEOUT) == []
        assert await leading == []


def test_a_call_from_the_sdks_loop_thread_raises_at_once(client: ThingSpaceClient) -> None:
    async def callback() -> None:
        client.location.list(ACCOUNT)

    future = asyncio.run_coroutine_threadsafe(callback(), _loop.loop_thread().loop)
    with pytest.raises(EventLoopThreadError, match="AsyncThingSpaceClient"):
        future.result(timeout=30)


def test_on_progress_runs_in_the_iterating_thread_and_may_call_the_client(
    client: ThingSpaceClient,
) -> None:
    seen: list[int] = []

    def on_progress(progress: object) -> None:
        seen.append(len(client.location.list(ACCOUNT)))

    report = client.fan_out(["a-1", "a-2"], client.location.list, on_progress=on_progress).collect()

    assert report.ok
    assert seen == [0, 0]


_SLOW_CALL = """
import sys, time
from thingspace_callbacks import ThingSpaceClient
client = ThingSpaceClient(base_url=sys.argv[1], max_retries=0, timeout=60)
try:
    client.location.list("0000123456-00001")
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.stdin.readline()  # the test has seen the call cancelled
    client.close()
    print("closed", flush=True)
    sys.exit(0)
sys.exit(3)
"""


class _SlowApp:
    """Answers nothing for a minute: :attr:`arrived` is set when a request comes in,
    :attr:`disconnected` when the client drops it."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.disconnected = threading.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.arrived.set()
        with anyio.move_on_after(60):
            while (await receive())["type"] != "http.disconnect":
                pass
            self.disconnected.set()


@pytest.mark.slow
def test_ctrl_c_during_a_slow_call_interrupts_and_cancels_it_promptly() -> None:
    app = _SlowApp()
    with serve(app) as url:
        process = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(_SLOW_CALL), url + "/api"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "THINGSPACE_ACCESS_TOKEN": "t", "THINGSPACE_M2M_TOKEN": "s"},
        )
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            assert app.arrived.wait(CHILD_TIMEOUT), "the call never reached the server"
            interrupted_at = time.monotonic()
            process.send_signal(signal.SIGINT)
            assert process.stdout.readline().strip() == "interrupted"
            assert time.monotonic() - interrupted_at < 20  # far below the minute
            # The call was cancelled, not left running: its connection is dropped
            # while the client is still open.
            assert app.disconnected.wait(20)
            process.stdin.write("\n")
            process.stdin.flush()
            out, err = process.communicate(timeout=CHILD_TIMEOUT)
        finally:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert out.strip() == "closed"


def test_an_unclosed_client_warns_resource_warning(server: SandboxServer) -> None:
    client = ThingSpaceClient(base_url=server.base_url, **server.sandbox.credential_kwargs())
    copy = client.with_options(max_retries=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del copy  # a copy does not warn: its client does
        gc.collect()
        assert caught == []
        del client
        gc.collect()
    assert [w.category for w in caught] == [ResourceWarning]
    assert "unclosed ThingSpaceClient" in str(caught[0].message)
    assert "sandbox-secret" not in str(caught[0].message)


def test_an_unclosed_client_does_not_hold_up_the_interpreters_exit(
    server: SandboxServer,
) -> None:
    program = textwrap.dedent(
        """
        import sys
        from thingspace_callbacks import ThingSpaceClient
        client = ThingSpaceClient(base_url=sys.argv[1])
        client.location.list("0000123456-00001")
        print("done", flush=True)
        """
    )
    started = time.monotonic()
    token, session = server.sandbox.issue_credentials()
    result = subprocess.run(
        [sys.executable, "-c", program, server.base_url],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
        env={**os.environ, "THINGSPACE_ACCESS_TOKEN": token, "THINGSPACE_M2M_TOKEN": session},
    )
    assert result.stdout.strip() == "done", result.stderr
    assert time.monotonic() - started < CHILD_TIMEOUT
