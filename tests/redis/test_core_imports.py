"""The SDK never imports the ``redis`` extra: not on import, not when a client is built,
not when it obtains tokens and calls. Each check runs in a fresh interpreter, as in
``tests/test_imports.py``."""

from __future__ import annotations

from ..test_imports import _fresh, _loaded

EXTRA = ("redis", "arq", "thingspace_callbacks.redis")

USE_A_CLIENT = """
import asyncio
import httpx
from thingspace_callbacks import AsyncThingSpaceClient, MemoryTokenStore

def answer(request):
    if request.url.path.endswith("/oauth2/token"):
        return httpx.Response(200, json={"access_token": "a", "expires_in": 3600})
    if request.url.path.endswith("/session/login"):
        return httpx.Response(200, json={"sessionToken": "s"})
    return httpx.Response(200, json=[])

async def main():
    http_client = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    async with http_client, AsyncThingSpaceClient(
        client_id="id", client_secret="secret", username="user", password="password",
        token_store=MemoryTokenStore(), rate_limit=5, http_client=http_client,
    ) as client:
        await client.location.list("0252012345-00001")
        await client.fan_out(["0252012345-00001"], client.location.list, rate_limit=5).collect()

asyncio.run(main())
result = sorted(sys.modules)
"""


def test_importing_the_package_loads_no_redis() -> None:
    modules = _fresh("import thingspace_callbacks\nresult = sorted(sys.modules)")
    assert _loaded(modules, EXTRA) == set()


def test_using_a_client_loads_no_redis() -> None:
    modules = _fresh(USE_A_CLIENT)
    assert "thingspace_callbacks._auth.renewing" in modules  # the check saw real use
    assert _loaded(modules, EXTRA) == set()
