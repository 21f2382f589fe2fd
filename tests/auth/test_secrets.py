"""No secret (client secret, password, bearer or session token) in what users print or
log: the client, its auth, tokens, log records and raised errors."""

from __future__ import annotations

import logging
import traceback

import httpx
import pytest

from thingspace_callbacks import AuthenticationError, ThingSpaceAuth, Token

from ._support import (
    ACCOUNT,
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    USERNAME,
    ThingSpace,
    make_auth,
    make_client,
)

pytestmark = pytest.mark.anyio

ACCESS_TOKEN = "tok-9f8e7d6c"
SESSION_TOKEN = "sess-6c5b4a39"
SECRETS = (CLIENT_SECRET, PASSWORD, ACCESS_TOKEN, SESSION_TOKEN)


async def test_secrets_never_show(thingspace: ThingSpace, caplog: pytest.LogCaptureFixture) -> None:
    thingspace.token_route.mock(
        return_value=httpx.Response(200, json={"access_token": ACCESS_TOKEN, "expires_in": 3600})
    )
    thingspace.login_route.mock(
        return_value=httpx.Response(200, json={"sessionToken": SESSION_TOKEN})
    )
    refused = httpx.Response(401, json={"fault": {"code": "900901", "message": "Invalid"}})
    # Renewing gets the same token back (as within its hour), so the call is not replayed.
    thingspace.operation_answers(refused)
    seen: list[Token] = []
    shown: list[str] = []

    caplog.set_level(logging.DEBUG)
    client = make_client(make_auth(on_token=seen.append))
    async with client:
        with pytest.raises(AuthenticationError) as caught:
            await client.location.list(ACCOUNT)
        shown += traceback.format_exception(caught.value)
        shown += [str(caught.value), repr(caught.value)]
        assert await client.location.list(ACCOUNT) == []
        auth = client.auth
        assert isinstance(auth, ThingSpaceAuth)
        # What it holds: the bearer-token and session credentials, with their tokens.
        # (and the API root of the last request, for clear_refusals).
        parts = [part for part in vars(auth).values() if not isinstance(part, str)]
        assert len(parts) == 2
        shown += [repr(client), str(client), repr(auth), str(auth)]
        shown += [repr(part) for part in parts] + [repr(vars(part)) for part in parts]
        shown += [repr(token) for token in seen] + [str(token) for token in seen]
    shown += [record.getMessage() for record in caplog.records]
    shown.append(caplog.text)

    assert thingspace.token_route.call_count == 2
    assert thingspace.list_route.call_count == 2
    # The scan saw what it should: a client, tokens, logs.
    assert {token.kind for token in seen} == {"access_token", "session_token"}
    assert seen[0].value.get_secret_value() == ACCESS_TOKEN
    assert any("OAuth bearer token" in record.getMessage() for record in caplog.records)
    text = "\n".join(shown)
    assert CLIENT_ID in text
    assert USERNAME in text
    for secret in SECRETS:
        assert secret not in text, secret


def test_token_repr_hides_the_value() -> None:
    token = Token(kind="access_token", value=ACCESS_TOKEN, expires_at=1.0)  # type: ignore[arg-type]
    assert ACCESS_TOKEN not in repr(token)
