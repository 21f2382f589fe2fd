"""``thingspace-callbacks listen`` stays available, tried as an operator would: a real
process on 127.0.0.1, raw sockets that send nothing or trickle their headers, a handler
that never returns, and SIGTERM/SIGINT.

Time bounds are generous (the machine may be loaded): each is far from what the defect
gave (503 at once behind idle sockets, connections open for good, no answer at all, a
process that ignored SIGTERM for minutes).
"""

from __future__ import annotations

import selectors
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from . import _messages as msg
from ._listening import listening, raw_post, read_status, stuck_handler_module

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

SILENT = 1000
HEADER_TIMEOUT = 2.0


@pytest.fixture
def many_files() -> Iterator[None]:
    """Room for ``SILENT`` sockets in this process (the listener raises its own limit)."""
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = SILENT + 200
    if soft != resource.RLIM_INFINITY and soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.fail(f"the open-file limit ({hard}) is too low for {SILENT} sockets")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _closed_by_server(sockets: list[socket.socket], within: float) -> dict[int, float]:
    """When each socket was closed by the other end (EOF or reset), by index."""
    selector = selectors.DefaultSelector()
    for index, sock in enumerate(sockets):
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ, index)
    closed: dict[int, float] = {}
    deadline = time.monotonic() + within
    while len(closed) < len(sockets) and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            ready = key.fileobj
            assert isinstance(ready, socket.socket)
            try:
                data = ready.recv(1024)
            except (ConnectionResetError, BlockingIOError):
                data = b""
            if not data:
                closed[key.data] = time.monotonic()
                selector.unregister(ready)
    selector.close()
    return closed


class _SlowHeaders(threading.Thread):
    """Sends a request's headers one byte every 0.2 s, for as long as it may."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.closed_at: float | None = None
        self.sent = 0

    def run(self) -> None:
        head = b"POST /CarrierService HTTP/1.1\r\nHost: listener\r\nX-Padding: " + b"a" * 400
        for byte in head:
            try:
                self.sock.sendall(bytes([byte]))
                self.sock.settimeout(0.2)
                if self.sock.recv(1) == b"":
                    break  # closed by the listener
            except TimeoutError:
                self.sent += 1
                continue  # still open: the next byte
            except OSError:
                break
        self.closed_at = time.monotonic()
        self.sock.close()


def test_silent_and_slow_header_connections_neither_stay_nor_block_a_sender(
    tmp_path: Path, many_files: None
) -> None:
    with listening(tmp_path, ["--header-timeout", str(HEADER_TIMEOUT)]) as listener:
        opened = time.monotonic()
        silent = [socket.create_connection(("127.0.0.1", listener.port)) for _ in range(SILENT)]
        trickling = [_SlowHeaders(listener.port) for _ in range(5)]
        for slow in trickling:
            slow.start()

        # A sender arriving behind a thousand silent sockets is served at once: the
        # request limit counts requests, not connections.
        started = time.monotonic()
        answer = httpx.post(f"{listener.base_url}/CarrierService", json=msg.m2m(), timeout=60)
        took = time.monotonic() - started
        assert answer.status_code == 200, answer.text
        assert took < 10, f"the sender waited {took:.1f} s"

        closed = _closed_by_server(silent, within=HEADER_TIMEOUT + 30)
        assert len(closed) == SILENT, f"{SILENT - len(closed)} silent sockets still open"
        lifetimes = sorted(at - opened for at in closed.values())
        # Closed by the header time limit (not earlier: they had not used it up).
        assert lifetimes[0] > HEADER_TIMEOUT - 0.5, lifetimes[0]
        for slow in trickling:
            slow.join(timeout=30)
            assert slow.closed_at is not None, "a connection sending its headers slowly is open"
            assert slow.closed_at - opened < HEADER_TIMEOUT + 30
            assert slow.sent < 200  # cut off, not run out of headers to send

        # Still serving afterwards.
        again = httpx.post(f"{listener.base_url}/CarrierService", json=msg.m2m(), timeout=30)
        assert again.status_code == 200
        for sock in silent:
            sock.close()


def test_a_stuck_handler_is_cancelled_answered_503_and_runs_again_on_the_resend(
    tmp_path: Path,
) -> None:
    handler = stuck_handler_module(tmp_path)
    with listening(tmp_path, ["--handler", handler, "--handler-timeout", "1"]) as listener:
        url = f"{listener.base_url}/CarrierService"
        started = time.monotonic()
        first = httpx.post(url, json=msg.m2m(), timeout=60)
        took = time.monotonic() - started
        assert (first.status_code, first.json()["status"]) == (503, "timed_out")
        assert 0.9 < took < 15, took
        listener.wait_for_log(1, "cancelled", within=10)

        # ThingSpace re-sends: the claim was released, so the handler runs again.
        resend = httpx.post(url, json=msg.m2m(callbackCount=2), timeout=60)
        assert (resend.status_code, resend.json()["status"]) == (503, "timed_out")
        assert listener.wait_for_log(2, "cancelled", within=10).count("start") == 2


def test_a_handler_whose_sender_hung_up_is_cancelled_and_its_claim_released(
    tmp_path: Path,
) -> None:
    handler = stuck_handler_module(tmp_path)
    # A time limit far beyond the test: only the hang-up can stop the handler.
    with listening(tmp_path, ["--handler", handler, "--handler-timeout", "600"]) as listener:
        sender = raw_post(listener.port, msg.encode(msg.m2m()))
        listener.wait_for_log(1, "start", within=15)
        sender.close()
        listener.wait_for_log(1, "cancelled", within=15)

        # The re-send is handled (not refused as busy behind a claim nobody holds).
        again = raw_post(listener.port, msg.encode(msg.m2m(callbackCount=2)))
        listener.wait_for_log(2, "start", within=15)
        again.close()
        log = listener.wait_for_log(2, "cancelled", within=15)
        assert log.count("start") == 2


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_listen_within_its_grace_period_despite_a_stuck_handler(
    tmp_path: Path, sig: signal.Signals
) -> None:
    handler = stuck_handler_module(tmp_path)
    arguments = ["--handler", handler, "--handler-timeout", "600", "--shutdown-timeout", "1"]
    with listening(tmp_path, arguments) as listener:
        sender = raw_post(listener.port, msg.encode(msg.m2m()))
        listener.wait_for_log(1, "start", within=15)
        signalled = time.monotonic()
        listener.process.send_signal(sig)
        try:
            listener.process.wait(timeout=1 + 20)
        except subprocess.TimeoutExpired:
            pytest.fail(f"listen still running {time.monotonic() - signalled:.1f} s after {sig!r}")
        assert listener.handler_log() == ["start", "cancelled"]
        # The sender is answered (503: ThingSpace re-sends), not left hanging.
        assert read_status(sender) == 503
        sender.close()
