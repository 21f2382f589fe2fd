"""Credentials shared by the clients of a process: many threads on one client, many
clients in a row, sync and async clients together, event loops in several threads; a
user's own token store opts out; the last client to close ends the session."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from thingspace_callbacks import AsyncThingSpaceClient, MemoryTokenStore, ThingSpaceClient
from thingspace_callbacks._auth.process import PROCESS_CREDENTIALS
from thingspace_callbacks.sandbox import SandboxServer

from .conftest import ACCOUNT

pytestmark = pytest.mark.integration


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
def test_a_thousand_short_lived_clients_make_one_login(server: SandboxServer) -> None:
    credentials = server.sandbox.credential_kwargs()
    for _ in range(1000):
        with ThingSpaceClient(base_url=server.base_url, **credentials) as client:
            client.location.list(ACCOUNT)

    assert server.sandbox.calls["location.list"] == 1000
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
    time.sleep(0.5)  # longer than the linger: the second client still uses the session
    assert server.sandbox.calls["logout"] == 0

    second.close()

    poll(lambda: server.sandbox.calls["logout"] == 1)
    assert len(PROCESS_CREDENTIALS) == 0
    with ThingSpaceClient(base_url=server.base_url, **credentials) as third:
        third.location.list(ACCOUNT)
    assert server.sandbox.calls["login"] == 2  # a new session for the new client


def test_a_client_within_the_linger_keeps_the_session(server: SandboxServer, linger: None) -> None:
    PROCESS_CREDENTIALS.linger = 0.3
    credentials = server.sandbox.credential_kwargs()
    with ThingSpaceClient(base_url=server.base_url, **credentials) as client:
        client.location.list(ACCOUNT)
    with ThingSpaceClient(base_url=server.base_url, **credentials) as client:
        time.sleep(0.6)  # the first linger would have run out by now
        client.location.list(ACCOUNT)

    poll(lambda: server.sandbox.calls["logout"] == 1)
    assert server.sandbox.calls["login"] == 1


def test_the_registry_keeps_no_secret(server: SandboxServer) -> None:
    credentials = server.sandbox.credential_kwargs()
    with ThingSpaceClient(base_url=server.base_url, **credentials):
        keys = repr(list(PROCESS_CREDENTIALS._entries))
    assert credentials["client_secret"] not in keys
    assert credentials["password"] not in keys
