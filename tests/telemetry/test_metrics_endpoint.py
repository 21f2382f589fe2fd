"""``--metrics-port``: the long-running commands serve the SDK's metrics in Prometheus's
text format, scraped over HTTP from a real process, and the counters move."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ..receiver import _messages as msg
from ..receiver._listening import free_port, listening

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def scrape(port: int) -> str:
    return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the sample ``name`` whose labels include ``labels``, if any."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.partition("}")[0]))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_listen_serves_its_received_messages_by_verdict(tmp_path: Path) -> None:
    metrics_port = free_port()
    with listening(tmp_path, ["--metrics-port", str(metrics_port)]) as listener:
        before = scrape(metrics_port)
        accepted = httpx.post(
            f"{listener.base_url}/CarrierService", content=msg.encode(msg.m2m()), timeout=5
        )
        forged = httpx.post(
            f"{listener.base_url}/CarrierService",
            content=msg.encode(msg.m2m(password="forged-Hh4", requestId="another")),
            timeout=5,
        )
        # The readiness probes of `listening` (GET /) were rejected as not POSTed.
        probes = sample(before, "thingspace_receiver_messages_total", thingspace_verdict="rejected")
        assert probes is not None
        # Counted once the answer is sent: poll until the two deliveries are.
        deadline = time.monotonic() + 10
        while True:
            after = scrape(metrics_port)
            rejected = sample(
                after, "thingspace_receiver_messages_total", thingspace_verdict="rejected"
            )
            if rejected == probes + 1 or time.monotonic() > deadline:
                break
            time.sleep(0.02)

    assert (accepted.status_code, forged.status_code) == (200, 401)
    assert (
        sample(before, "thingspace_receiver_messages_total", thingspace_verdict="accepted") is None
    )
    assert sample(after, "thingspace_receiver_messages_total", thingspace_verdict="accepted") == 1
    assert (
        sample(after, "thingspace_receiver_messages_total", thingspace_verdict="rejected")
        == probes + 1
    )
    assert sample(after, "thingspace_receiver_handler_duration_seconds_count") == 1
    assert "forged-Hh4" not in after
    assert msg.PASSWORD not in after


def test_metrics_port_refuses_a_process_whose_meter_provider_is_set(tmp_path: Path) -> None:
    # What opentelemetry-instrument does before the command runs.
    program = (
        "from opentelemetry import metrics\n"
        "from opentelemetry.sdk.metrics import MeterProvider\n"
        "metrics.set_meter_provider(MeterProvider())\n"
        "import sys\n"
        "from thingspace_callbacks.cli import main\n"
        "sys.argv = ['thingspace-callbacks', 'listen', '--port', '0', '--metrics-port', '0']\n"
        "sys.exit(main())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 1, done.stderr
    assert "already has an OpenTelemetry meter provider" in done.stderr
