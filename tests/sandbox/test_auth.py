"""The sandbox authenticates like ThingSpace: tokens, sessions, their expiry and errors."""

from __future__ import annotations

import httpx
import pytest

from thingspace_callbacks import AsyncThingSpaceClient, ThingSpaceAuth
from thingspace_callbacks.sandbox import (
    IN_PROCESS_BASE_URL,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_PASSWORD,
    Sandbox,
)

from ._support import FakeClock, credentials

ACCOUNT = "0000123456-00001"
OPERATION = f"loc/v1/callbacks/{ACCOUNT}"
M2M_OPERATION = f"m2m/v1/callbacks/{ACCOUNT}"
CLIENT = ("sandbox-client-id", "sandbox-client-secret")
LOCATION_SESSION_EXPIRED = {
    # The Location API's Error Codes page.
    "errorCode": "INVALID_PARAMETER",
    "errorMessage": "UWS verification failure (The Session has expired.)",
}
SESSION_EXPIRED = {
    "errorCode": "REQUEST_FAILED.SessionToken.Expired",
    "errorMessage": "The session has expired.",
}


async def token(http: httpx.AsyncClient, auth: tuple[str, str] = CLIENT) -> httpx.Response:
    return await http.post(
        "ts/v1/oauth2/token", data={"grant_type": "client_credentials"}, auth=auth
    )


async def test_token_answer_has_the_oauth_fields(http: httpx.AsyncClient) -> None:
    response = await token(http)

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"]
    assert body["scope"] == "default"


async def test_asking_again_within_the_hour_returns_the_same_token(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    first = (await token(http)).json()
    clock.advance(600)
    second = (await token(http)).json()
    clock.advance(3000)
    third = (await token(http)).json()

    assert second["access_token"] == first["access_token"]
    assert second["expires_in"] == 3000
    assert third["access_token"] != first["access_token"]
    assert third["expires_in"] == 3600


@pytest.mark.parametrize(
    ("auth", "form", "status", "error"),
    [
        (
            ("sandbox-client-id", "wrong"),
            {"grant_type": "client_credentials"},
            401,
            "invalid_client",
        ),
        (
            ("unknown", SANDBOX_CLIENT_SECRET),
            {"grant_type": "client_credentials"},
            401,
            "invalid_client",
        ),
        (None, {"grant_type": "client_credentials"}, 401, "invalid_client"),
        (CLIENT, {"grant_type": "password"}, 400, "unsupported_grant_type"),
        (CLIENT, {}, 400, "unsupported_grant_type"),
    ],
)
async def test_token_refusals(
    http: httpx.AsyncClient,
    auth: tuple[str, str] | None,
    form: dict[str, str],
    status: int,
    error: str,
) -> None:
    if auth is None:
        response = await http.post("ts/v1/oauth2/token", data=form)
    else:
        response = await http.post("ts/v1/oauth2/token", data=form, auth=auth)

    assert response.status_code == status
    assert response.json()["error"] == error


async def test_operation_without_bearer_is_refused_with_gateway_fault_900902(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get(OPERATION)

    assert response.status_code == 401
    assert response.json()["fault"]["code"] == "900902"


async def test_wrong_bearer_is_refused_with_gateway_fault_900901(http: httpx.AsyncClient) -> None:
    headers = await credentials(http)
    headers["Authorization"] = "Bearer not-a-token"

    response = await http.get(OPERATION, headers=headers)

    assert response.status_code == 401
    assert response.json()["fault"] == {
        "code": "900901",
        "message": "Invalid Credentials",
        "description": response.json()["fault"]["description"],
    }


async def test_expired_bearer_is_refused_with_900901(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    headers = await credentials(http)
    assert (await http.get(OPERATION, headers=headers)).status_code == 200

    clock.advance(3600)
    response = await http.get(OPERATION, headers=headers)

    assert response.status_code == 401
    assert response.json()["fault"]["code"] == "900901"


@pytest.mark.parametrize(
    ("session", "code"),
    [
        (None, "REQUEST_FAILED.SessionToken.Format"),
        ("not-a-guid", "INPUT_INVALID.SessionToken.Invalid"),
        ("6f1c2a5e-8d57-4a0e-9b1e-5d2f3c4b1a00", "REQUEST_FAILED.SessionToken.Expired"),
    ],
)
async def test_session_refusals(http: httpx.AsyncClient, session: str | None, code: str) -> None:
    headers = await credentials(http)
    del headers["VZ-M2M-Token"]
    if session is not None:
        headers["VZ-M2M-Token"] = session

    response = await http.get(M2M_OPERATION, headers=headers)

    assert response.status_code == 400
    assert response.json()["errorCode"] == code


async def test_session_expires_after_idle_time_but_use_keeps_it_alive(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    headers = await credentials(http)
    clock.advance(1100)
    assert (await http.get(OPERATION, headers=headers)).status_code == 200
    clock.advance(1100)
    assert (await http.get(OPERATION, headers=headers)).status_code == 200

    clock.advance(1200)
    response = await http.get(OPERATION, headers=headers)

    assert response.status_code == 400
    assert response.json() == LOCATION_SESSION_EXPIRED


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param(OPERATION, LOCATION_SESSION_EXPIRED, id="location"),
        pytest.param(f"diagnostics/v1/callbacks?accountName={ACCOUNT}", SESSION_EXPIRED, id="diag"),
        pytest.param(f"fota/v2/callbacks/{ACCOUNT}", SESSION_EXPIRED, id="fota-v2"),
        pytest.param(f"fota/v3/callbacks/{ACCOUNT}", SESSION_EXPIRED, id="fota-v3"),
        pytest.param(M2M_OPERATION, SESSION_EXPIRED, id="connectivity"),
        pytest.param(
            f"hyper-precise/v1/callbacks?accountNumber={ACCOUNT}", SESSION_EXPIRED, id="hpl"
        ),
    ],
)
async def test_expired_session_is_answered_as_each_family_documents_it(
    http: httpx.AsyncClient, clock: FakeClock, path: str, expected: dict[str, str]
) -> None:
    # Location's Error Codes page states its own answer; the others document none and
    # get the Connectivity Management code (docs/spec/sources.md).
    headers = await credentials(http)
    clock.advance(1200)

    response = await http.get(path, headers=headers)

    assert response.status_code == 400
    assert response.json() == expected


async def test_expired_session_status_is_configurable_where_no_family_doc_states_it() -> None:
    sandbox = Sandbox(session_expired_status=401)
    async with httpx.AsyncClient(
        transport=sandbox.transport(), base_url=IN_PROCESS_BASE_URL + "/"
    ) as http:
        headers = await credentials(http)
        sandbox.expire_sessions()

        connectivity = await http.get(M2M_OPERATION, headers=headers)
        location = await http.get(OPERATION, headers=headers)

    assert connectivity.status_code == 401
    assert connectivity.json() == SESSION_EXPIRED
    assert location.status_code == 400
    assert location.json() == LOCATION_SESSION_EXPIRED


async def test_login_needs_a_bearer_token(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "m2m/v1/session/login", json={"username": "sandbox-user", "password": SANDBOX_PASSWORD}
    )

    assert response.status_code == 401
    assert response.json()["fault"]["code"] == "900902"


async def test_five_failed_logins_lock_the_user_until_reset(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    bearer = {"Authorization": f"Bearer {(await token(http)).json()['access_token']}"}

    async def login(password: str) -> httpx.Response:
        return await http.post(
            "m2m/v1/session/login",
            json={"username": "sandbox-user", "password": password},
            headers=bearer,
        )

    for _ in range(5):
        wrong = await login("wrong")
        assert wrong.status_code == 401
        assert wrong.json()["errorCode"] == "REQUEST_FAILED.Login.InvalidCredentials"
    locked = await login(SANDBOX_PASSWORD)
    assert locked.status_code == 401
    assert locked.json()["errorCode"] == "REQUEST_FAILED.Login.UserLocked"

    sandbox.reset()
    bearer = {"Authorization": f"Bearer {(await token(http)).json()['access_token']}"}
    assert (await login(SANDBOX_PASSWORD)).status_code == 200


async def test_logout_ends_the_session(http: httpx.AsyncClient) -> None:
    headers = await credentials(http)

    logout = await http.post("m2m/v1/session/logout", headers=headers)
    after = await http.get(M2M_OPERATION, headers=headers)

    assert logout.status_code == 200
    assert logout.json() == {"sessionToken": headers["VZ-M2M-Token"]}
    assert after.json()["errorCode"] == "REQUEST_FAILED.SessionToken.Expired"


async def test_revoked_token_is_refused_and_a_new_one_issued(http: httpx.AsyncClient) -> None:
    old = (await token(http)).json()["access_token"]

    revoked = await http.post(
        "ts/v1/oauth2/revoke",
        data={"grant_type": "client_credentials", "token": old},
        auth=CLIENT,
    )
    new = (await token(http)).json()["access_token"]

    assert revoked.status_code == 200
    assert new != old


async def test_sdk_client_gets_and_renews_credentials_by_itself(sandbox: Sandbox) -> None:
    async with sandbox.client() as client:
        await client.location.list("0000123456-00001")
        sandbox.expire_tokens()
        await client.location.list("0000123456-00001")
        sandbox.expire_sessions()
        await client.location.list("0000123456-00001")

    assert sandbox.calls["location.list"] == 5  # three calls, two refused and replayed
    assert sandbox.calls["token"] == 2
    assert sandbox.calls["login"] == 2
    assert sandbox.calls["logout"] == 1


async def test_sdk_renews_a_session_the_location_api_says_expired_when_idle(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    # The SDK's own idle timer runs on real time, so it still sends the old session;
    # only the Location answer (400 INVALID_PARAMETER, "...The Session has expired.")
    # can tell it to log in again.
    async with sandbox.client(max_retries=0) as client:
        await client.location.register(
            ACCOUNT, service="Location", url="https://listener.example.com/hooks"
        )
        clock.advance(1201)

        listed = await client.location.list(ACCOUNT)

    assert [(c.service_name, c.url) for c in listed] == [
        ("Location", "https://listener.example.com/hooks")
    ]
    assert sandbox.calls["login"] == 2
    assert sandbox.calls["location.list"] == 2  # refused once, replayed once


async def test_open_mode_needs_no_credentials() -> None:
    sandbox = Sandbox(require_auth=False)
    async with sandbox.client() as client:
        assert await client.location.list("0000123456-00001") == []

    assert sandbox.calls["token"] == 0


async def test_client_with_fixed_tokens_from_issue_credentials(sandbox: Sandbox) -> None:
    access_token, m2m_token = sandbox.issue_credentials()
    async with AsyncThingSpaceClient(
        base_url=IN_PROCESS_BASE_URL,
        auth=ThingSpaceAuth(access_token=access_token, m2m_token=m2m_token),
        http_client=httpx.AsyncClient(transport=sandbox.transport()),
    ) as client:
        assert await client.hyper_precise.list("1234567890") == []


def test_reprs_show_no_secrets() -> None:
    sandbox = Sandbox(
        client_secret="s3cr3t-client", password="s3cr3t-password", shared_secret="k3y"
    )
    text = repr(sandbox) + repr(sandbox._context) + repr(sandbox.serve())

    for secret in ("s3cr3t-client", "s3cr3t-password", "k3y"):
        assert secret not in text


@pytest.mark.parametrize(
    "options",
    [{"session_expired_status": 403}, {"token_ttl": 0}, {"session_idle_timeout": -1}],
)
def test_invalid_options_are_refused(options: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must"):
        Sandbox(**options)  # type: ignore[arg-type]
