"""``worker --refusal-ttl``: how long the fleet leaves refused credentials alone."""

from __future__ import annotations

import pytest
import respx
from click.testing import CliRunner
from pydantic import SecretStr

from thingspace_callbacks import AuthenticationError, MemoryTokenStore, Refusal
from thingspace_callbacks import _transport as transport
from thingspace_callbacks.cli import main
from thingspace_callbacks.cli._common import Settings
from thingspace_callbacks.cli.worker import _client

BASE_URL = "https://thingspace.verizon.com/api"


class RecordingStore(MemoryTokenStore):
    """Keeps the refusals it is asked to save, to read their lifetimes."""

    def __init__(self) -> None:
        super().__init__()
        self.saved: list[Refusal] = []

    async def save_refusal(self, key: str, refusal: Refusal) -> None:
        self.saved.append(refusal)
        await super().save_refusal(key, refusal)


@pytest.mark.parametrize("ttl", [90.0, 1800.0])
async def test_a_refusal_is_kept_for_the_workers_refusal_ttl(
    ttl: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # httpx's own transport, which respx sees (the worker would pick aiohttp's).
    monkeypatch.setattr(transport, "fast_transport_available", lambda: False)
    settings = Settings(
        client_id="app",
        client_secret=SecretStr("app-secret"),
        username="user",
        password=SecretStr("wrong"),
    )
    store = RecordingStore()
    client, shared = _client(settings, store, refusal_ttl=ttl)  # type: ignore[arg-type]
    with respx.mock(base_url=BASE_URL) as router:
        router.post("/ts/v1/oauth2/token").respond(
            json={"access_token": "t", "expires_in": 3600, "token_type": "Bearer"}
        )
        login = router.post("/m2m/v1/session/login").respond(
            400, json={"errorCode": "REQUEST_FAILED.UnexpectedError", "errorMessage": "bad"}
        )
        async with client:
            for _ in range(2):
                with pytest.raises(AuthenticationError):
                    await client.location.list("0252012345-00001")

    assert shared
    assert login.call_count == 1
    [refusal] = store.saved
    assert refusal.expires_at - refusal.refused_at == pytest.approx(ttl)


def test_a_refusal_ttl_that_is_not_positive_is_a_usage_error() -> None:
    result = CliRunner().invoke(
        main, ["worker", "--queue", "redis://127.0.0.1:1/0", "--refusal-ttl", "0"]
    )

    assert result.exit_code == 2
    assert "--refusal-ttl" in result.output
