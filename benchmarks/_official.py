"""Verizon's official SDK (``sdksio-verizon-apis-sdk``) making the benchmark's calls:
run by ``bench_sync.py`` with the Python of the environment it is installed in (never
this project's: it is not a dependency), and prints one JSON line of figures.

    python benchmarks/_official.py URL CALLS THREADS
"""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

ACCOUNT_FORMAT = "{:010d}-00001"
LISTENER_URL = "https://listener.example.com/hooks/location"
TOKEN = "bench-token"


def main() -> None:
    url, calls, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    # Installed in the official SDK's own environment only (hence no types here).
    from verizon.configuration import (  # type: ignore[import-not-found]
        Configuration,
        Environment,
        Server,
    )
    from verizon.http.auth.thingspace_oauth import (  # type: ignore[import-not-found]
        ThingspaceOauthCredentials,
    )
    from verizon.http.auth.vz_m2m_token import (  # type: ignore[import-not-found]
        VZM2mTokenCredentials,
    )
    from verizon.models.device_location_callback import (  # type: ignore[import-not-found]
        DeviceLocationCallback,
    )
    from verizon.models.oauth_token import OauthToken  # type: ignore[import-not-found]
    from verizon.verizon_client import VerizonClient  # type: ignore[import-not-found]

    # The SDK's environments are a class-level table: point the one used at the server.
    Configuration.environments[Environment.PRODUCTION][Server.DEVICE_LOCATION] = f"{url}/loc/v1"
    client = VerizonClient(
        environment=Environment.PRODUCTION,
        # A token given, not fetched: the benchmark compares calls, as the SDK under
        # test does with a fixed token.
        thingspace_oauth_credentials=ThingspaceOauthCredentials(
            oauth_client_id="bench",
            oauth_client_secret="bench",
            oauth_token=OauthToken(
                access_token=TOKEN, token_type="Bearer", expiry=int(time.time()) + 3600
            ),
        ),
        vz_m2m_token_credentials=VZM2mTokenCredentials(vz_m2m_token="bench-session"),
    )
    controller = client.device_location_callbacks
    body = DeviceLocationCallback(name="Location", url=LISTENER_URL)
    counter = iter(range(calls))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                number = next(counter, None)
            if number is None:
                return
            answer = controller.register_callback(ACCOUNT_FORMAT.format(number), body)
            if not answer.is_success():
                raise RuntimeError(f"official SDK answer {answer.status_code}")

    for number in range(min(threads, 50)):  # warm-up: connections and imports
        controller.register_callback(ACCOUNT_FORMAT.format(number), body)
    started, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(work) for _ in range(threads)]:
            future.result()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(json.dumps({"calls": calls, "seconds": elapsed, "cpu": cpu}))


if __name__ == "__main__":
    main()
