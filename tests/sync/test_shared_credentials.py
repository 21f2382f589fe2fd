"""Credentials shared by the clients of a process: many threads on one client, many
clients in a row, sync and async clients together, event loops in several threads; a
user's own token store opts out; the last client to close ends the session."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from thingspace_callbacks import (
    AsyncThingSpaceClient,
    AuthenticationError,
    InvalidArgumentError,
    MemoryTokenStore,
    ThingSpaceClient,
)
from thingspace_callbacks._auth.process import PROCESS_CREDENTIALS
from thingspace_callbacks.sandbox import SandboxServer
from thingspace_callbacks.testing import reset_shared_credentials

from .._user_project import UNRELATED_PLUGINS
from .conftest import ACCOUNT

pytestmark = pytest.mark.integration

PROCESS_TIMEOUT = 60.0


def poll(condition: object, timeout: float = 15.0) -> None:
    give_up = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < give_up, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def linger() -> Iterator[None]:
    saved = PROCESS_CREDENTIALS.linger
    yield
    PROCESS_CREDENTIALS.linger = saved


def test_fifty_threads_sharing_one_client_make_one_token_request_and_one_login(
    client: ThingSpaceClient, server: SandboxServer
) -> None:
    start = threading.Barrier(50)
    errors: list[BaseException] = []
    answers: list[object] = []

    def work() -> None:
        start.wait()
        try:
            answers.append(client.location.list(ACCOUNT))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(answers) == 50
    assert server.sandbox.calls["token"] == 1
    assert server.sandbox.calls["login"] == 1
    assert server.sandbox.calls["location.list"] == 50


@pytest.mark.slow
def test_hundreds_of_short_lived_clients_make_one_login(server: SandboxServer) -> None:
    credentials = server.sandbox.credential_kwargs()
    for _ in range(300):
        with ThingSpaceClient(base_url=server.base_url, **credentials) as client:
            client.location.list(ACCOUNT)

    assert server.sandbox.calls["location.list"] == 300
    assert server.sandbox.calls["token"] == 1
    assert server.sandbox.calls["login"] == 1
    assert server.sandbox.calls["logout"] == 0  # the session lingers for the next client


async def test_sync_and_async_clients_of_the_same_credentials_share_them(
    server: SandboxServer,
) -> None:
    credentials = server.sandbox.credential_kwargs()
    async with AsyncThingSpaceClient(base_url=server.base_url, **credentials) as first:
        await first.location.list(ACCOUNT)
        with ThingSpaceClient(base_url=server.base_url, **credentials) as second:
            await asyncio.to_thread(second.location.list, ACCOUNT)
            assert second.auth is first.auth

    assert server.sandbox.calls["login"] == 1
    assert server.sandbox.calls["token"] == 1


def test_event_loops_in_several_threads_renew_once(server: SandboxServer) -> None:
    credentials = server.sandbox.credential_kwargs()
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    async def one_loop() -> None:
        async with AsyncThingSpaceClient(base_url=server.base_url, **credentials) as client:
            start.wait()  # every loop asks for the first token at once
            await asyncio.gather(*(client.location.list(ACCOUNT) for _ in range(5)))

    def run() -> None:
        try:
            asyncio.run(one_loop())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert server.sandbox.calls["location.list"] == 40
    assert server.sandbox.calls["token"] == 1
    assert server.sandbox.calls["login"] == 1


def test_other_credentials_or_another_root_share_nothing(server: SandboxServer) -> None:
    credentials = server.sandbox.credential_kwargs()
    with (
        ThingSpaceClient(base_url=server.base_url, **credentials) as one,
        ThingSpaceClient(base_url=server.base_url + "/", **credentials) as same_root,
        ThingSpaceClient(base_url=server.url + "/other", **credentials) as other_root,
        ThingSpaceClient(
            base_url=server.base_url, **{**credentials, "password": "another"}
        ) as other_password,
    ):
        assert same_root.auth is one.auth  # the same root, spelled with a slash
        assert other_root.auth is not one.auth
        assert other_password.auth is not one.auth
    assert PROCESS_CREDENTIALS.linger > 0


def test_a_token_store_of_ones_own_opts_out(server: SandboxServer) -> None:
    credentials = server.sandbox.credential_kwargs()
    for _ in range(3):
        with ThingSpaceClient(
            base_url=server.base_url, token_store=MemoryTokenStore(), **credentials
        ) as client:
            client.location.list(ACCOUNT)

    assert server.sandbox.calls["token"] == 3
    assert server.sandbox.calls["login"] == 3
    assert server.sandbox.calls["logout"] == 3  # each client logs its own session out


def test_the_session_is_logged_out_after_the_last_client_closes(
    server: SandboxServer, linger: None
) -> None:
    PROCESS_CREDENTIALS.linger = 0.2
    credentials = server.sandbox.credential_kwargs()
    first = ThingSpaceClient(base_url=server.base_url, **credentials)
    second = ThingSpaceClient(base_url=server.base_url, **credentials)
    first.location.list(ACCOUNT)
    first.close()
    assert PROCESS_CREDENTIALS.pending_logouts == 0  # the second client still uses it

    second.close()

    poll(lambda: server.sandbox.calls["logout"] == 1)
    assert len(PROCESS_CREDENTIALS) == 0
    with ThingSpaceClient(base_url=server.base_url, **credentials) as third:
        third.location.list(ACCOUNT)
    assert server.sandbox.calls["login"] == 2  # a new session for the new client


def test_a_client_within_the_linger_keeps_the_session(server: SandboxServer) -> None:
    credentials = server.sandbox.credential_kwargs()
    with ThingSpaceClient(base_url=server.base_url, **credentials) as client:
        client.location.list(ACCOUNT)
    assert PROCESS_CREDENTIALS.pending_logouts == 1
    with ThingSpaceClient(base_url=server.base_url, **credentials) as client:
        assert PROCESS_CREDENTIALS.pending_logouts == 0  # the first linger's is cancelled
        client.location.list(ACCOUNT)
    assert PROCESS_CREDENTIALS.pending_logouts == 1

    PROCESS_CREDENTIALS.flush()  # as at the interpreter's exit: no need to wait a minute

    assert server.sandbox.calls["logout"] == 1
    assert server.sandbox.calls["login"] == 1
    assert PROCESS_CREDENTIALS.pending_logouts == 0
    assert len(PROCESS_CREDENTIALS) == 0


async def test_logout_goes_through_the_callers_own_client(server: SandboxServer) -> None:
    credentials = server.sandbox.credential_kwargs()
    async with AsyncThingSpaceClient(base_url=server.base_url, **credentials) as mine:
        async with AsyncThingSpaceClient(base_url=server.base_url, **credentials) as other:
            await other.location.list(ACCOUNT)  # the credentials' last request: other's
        with pytest.raises(InvalidArgumentError, match=r"client\.logout\(\)"):
            await mine.auth.logout()  # through the closed pool of the other client
        assert await mine.logout() is True
    assert server.sandbox.calls["logout"] == 1  # closing found no session left to end


def test_the_sync_client_logs_out_and_clears_refusals(
    client: ThingSpaceClient, server: SandboxServer
) -> None:
    client.location.list(ACCOUNT)
    assert client.logout() is True
    assert server.sandbox.calls["logout"] == 1
    client.location.list(ACCOUNT)
    assert server.sandbox.calls["login"] == 2  # a new session after the logout

    refused = {**server.sandbox.credential_kwargs(), "password": "not-the-password"}
    with ThingSpaceClient(base_url=server.base_url, max_retries=0, **refused) as other:
        with pytest.raises(AuthenticationError):
            other.location.list(ACCOUNT)
        with pytest.raises(AuthenticationError):  # kept: not sent again
            other.location.list(ACCOUNT)
        assert server.sandbox.calls["login"] == 3
        assert other.clear_refusals() is True
        assert other.clear_refusals() is False
        with pytest.raises(AuthenticationError):
            other.location.list(ACCOUNT)
        assert server.sandbox.calls["login"] == 4  # asked again once cleared


_SCRIPT = """
import asyncio, sys
from thingspace_callbacks import AsyncThingSpaceClient, ThingSpaceClient

async def main():
    async with AsyncThingSpaceClient(base_url=sys.argv[1]) as client:
        await client.location.list("0000123456-00001")

asyncio.run(main())
if sys.argv[2] == "sync":
    with ThingSpaceClient(base_url=sys.argv[1]) as client:
        client.location.list("0000123456-00001")
"""


@pytest.mark.parametrize("clients", ["async", "sync"])
def test_a_process_exiting_within_the_linger_logs_its_session_out(
    server: SandboxServer, clients: str
) -> None:
    names = ("client_id", "client_secret", "username", "password")
    credentials = server.sandbox.credential_kwargs()
    env = {**os.environ, **{f"THINGSPACE_{name.upper()}": credentials[name] for name in names}}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, server.base_url.replace("127.0.0.1", "localhost"), clients],
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
        env=env,
    )

    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < PROCESS_CREDENTIALS.linger  # not held up by it
    assert server.sandbox.calls["login"] == 1
    assert server.sandbox.calls["logout"] == 1


USER_TESTS = """
import asyncio

import respx

from thingspace_callbacks import AsyncThingSpaceClient

ROOT = "https://thingspace.verizon.com/api"
ACCOUNT = "0000123456-00001"


def list_with_a_fake_server(token):
    with respx.mock(base_url=ROOT) as router:
        issued = router.post("/ts/v1/oauth2/token").respond(
            json={{"access_token": token, "expires_in": 3600}}
        )
        router.post("/m2m/v1/session/login").respond(json={{"sessionToken": "s-" + token}})
        listing = router.get(f"/loc/v1/callbacks/{{ACCOUNT}}").respond(json=[])

        async def main():
            async with AsyncThingSpaceClient(
                client_id="id", client_secret="secret", username="user", password="pw"
            ) as client:
                await client.location.list(ACCOUNT)

        asyncio.run(main())
        return issued.call_count, listing.calls.last.request.headers["Authorization"]


def test_one():
    assert list_with_a_fake_server("first") == (1, "Bearer first")


def test_two():
    # Its own fake server: the first test's token must not be sent here.
    assert list_with_a_fake_server("second") == (1, "Bearer second")
"""


def test_the_pytest_plugin_gives_each_test_of_a_users_project_fresh_credentials(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_user=USER_TESTS.format())

    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", *UNRELATED_PLUGINS, "-p", "no:asyncio"
    )  # fmt: skip

    result.assert_outcomes(passed=2)


def test_reset_shared_credentials_forgets_them(server: SandboxServer) -> None:
    credentials = server.sandbox.credential_kwargs()
    with ThingSpaceClient(base_url=server.base_url, **credentials) as client:
        client.location.list(ACCOUNT)
    reset_shared_credentials()
    with ThingSpaceClient(base_url=server.base_url, **credentials) as client:
        client.location.list(ACCOUNT)

    assert server.sandbox.calls["token"] == 2
    assert server.sandbox.calls["login"] == 2
    assert len(PROCESS_CREDENTIALS) == 1  # the second client's, lingering


def test_the_registry_keeps_no_secret(server: SandboxServer) -> None:
    credentials = server.sandbox.credential_kwargs()
    with ThingSpaceClient(base_url=server.base_url, **credentials):
        keys = repr(list(PROCESS_CREDENTIALS._entries))
    assert credentials["client_secret"] not in keys
    assert credentials["password"] not in keys
