"""Error answers become typed exceptions that keep status, headers and body."""

from __future__ import annotations

import json
from types import SimpleNamespace

import httpx
import pytest
import respx

import thingspace_callbacks
from thingspace_callbacks import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncThingSpaceClient,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ErrorException,
    ErrorResponseError2Exception,
    InternalServerError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RestErrorResponseException,
    ThingSpaceError,
    UnprocessableEntityError,
)
from thingspace_callbacks import _error_body as error_body

from .resources._seed_calls import SEED_CALLS, SeedCall
from .resources._wire import ACCESS_TOKEN, M2M_TOKEN

STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    500: InternalServerError,
    502: InternalServerError,
    503: InternalServerError,
}

# One body per seed error model, with codes the services document.
SEED_ERROR_BODIES = {
    "ErrorException": {"errorCode": "INVALID_PARAMETER", "errorMessage": "Invalid account"},
    "RestErrorResponseException": {
        "errorCode": "UnifiedWebService.REQUEST_FAILED.AccountNotFound",
        "errorMessage": "Account not found",
    },
    "ErrorResponseError2Exception": {
        "errorCode": "INVALID_ACCESS",
        "errorMessage": "Access token is missing or invalid",
    },
}

GATEWAY_FAULT = {
    "fault": {
        "code": "900901",
        "message": "Invalid Credentials",
        "description": "Access failure for API: /m2m/v1, version: v1 status: (900901)",
    }
}

DOCUMENTED = [
    pytest.param(call, status, id=f"{call.name}-{status}")
    for call in SEED_CALLS
    for status in call.errors
]


async def _call(client: AsyncThingSpaceClient, call: SeedCall) -> object:
    # Retries are not the subject here: one attempt, one answer.
    return await getattr(client.callbacks, call.name)(*call.args, max_retries=0)


def _assert_no_secret(exc: BaseException) -> None:
    for text in (str(exc), repr(exc)):
        assert ACCESS_TOKEN not in text
        assert M2M_TOKEN not in text


@pytest.mark.parametrize(("call", "status"), DOCUMENTED)
async def test_documented_error_status(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, call: SeedCall, status: int
) -> None:
    body = SEED_ERROR_BODIES[call.seed_error]
    mock_api.route().respond(status, json=body, headers={"x-request-id": "req-42"})
    with pytest.raises(getattr(thingspace_callbacks, call.seed_error)) as info:
        await _call(client, call)
    exc = info.value
    assert type(exc) is STATUS_CLASSES[status]
    assert (exc.status_code, exc.attempts) == (status, 1)
    assert (exc.error_code, exc.error_message) == (body["errorCode"], body["errorMessage"])
    assert exc.body == body
    assert exc.headers["x-request-id"] == exc.request_id == "req-42"
    assert exc.request.method == call.method
    assert str(exc).startswith(f"{status} ")
    assert body["errorCode"] in str(exc)
    assert "req-42" in str(exc)
    _assert_no_secret(exc)


@pytest.mark.parametrize("call", SEED_CALLS, ids=lambda call: call.name)
async def test_gateway_fault_shape(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, call: SeedCall
) -> None:
    mock_api.route().respond(401, json=GATEWAY_FAULT)
    with pytest.raises(AuthenticationError) as info:
        await _call(client, call)
    assert (info.value.error_code, info.value.error_message) == ("900901", "Invalid Credentials")
    assert info.value.body == GATEWAY_FAULT
    _assert_no_secret(info.value)


def _error(status: int, **kwargs: object) -> APIStatusError:
    request = httpx.Request("GET", "https://thingspace.verizon.com/api/m2m/v1/callbacks/a")
    response = httpx.Response(status, request=request, **kwargs)  # type: ignore[arg-type]
    return thingspace_callbacks._errors.make_status_error(response)


@pytest.mark.parametrize(
    ("status", "cls"),
    [*STATUS_CLASSES.items(), (418, APIStatusError), (599, InternalServerError)],
)
def test_status_maps_to_class(status: int, cls: type[APIStatusError]) -> None:
    exc = _error(status, json={})
    assert type(exc) is cls
    assert isinstance(exc, ErrorException)


@pytest.mark.parametrize(
    ("kwargs", "code", "message"),
    [
        pytest.param(
            {"json": {"errorCode": "E1", "errorMessage": "m1"}}, "E1", "m1", id="thingspace"
        ),
        pytest.param({"json": GATEWAY_FAULT}, "900901", "Invalid Credentials", id="gateway"),
        pytest.param(
            {"json": {"error": "invalid_client", "error_description": "bad client"}},
            "invalid_client",
            "bad client",
            id="oauth",
        ),
        pytest.param(
            {"json": {"responseCode": "INVALID_PARAMETER", "message": "Service Not Purchased"}},
            "INVALID_PARAMETER",
            "Service Not Purchased",
            id="hyper-precise-newest-sdk",
        ),
        pytest.param({"json": {"errorCode": 1001}}, "1001", None, id="numeric-code"),
        pytest.param(
            {"text": "<html>Bad Gateway</html>"}, None, "<html>Bad Gateway</html>", id="text"
        ),
        pytest.param({"content": b""}, None, None, id="empty"),
        pytest.param({"json": ["not", "an", "object"]}, None, None, id="json-array"),
    ],
)
def test_error_fields_from_each_body_shape(
    kwargs: dict[str, object], code: str | None, message: str | None
) -> None:
    exc = _error(400, **kwargs)
    assert (exc.error_code, exc.error_message) == (code, message)


def test_message_without_details_is_the_status_line() -> None:
    assert str(_error(404, content=b"")) == "404 Not Found"


def test_long_text_body_is_cut() -> None:
    exc = _error(502, text="x" * 10_000)
    assert isinstance(exc.body, str)
    assert len(exc.body) == 4096


def test_undecodable_body_does_not_raise() -> None:
    exc = _error(500, content=b"\xff\xfe broken", headers={"content-type": "text/plain"})
    assert isinstance(exc.body, str)
    assert "broken" in exc.body


async def test_seed_aliases_catch_error_answers(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    assert ErrorException is RestErrorResponseException is ErrorResponseError2Exception
    assert ErrorException is APIStatusError
    mock_api.route().respond(400, json={"errorCode": "INVALID_PARAMETER"})
    with pytest.raises(ErrorException) as info:
        await client.location.list("0252012345-00001", max_retries=0)
    assert info.value.status_code == 400


def test_hierarchy() -> None:
    assert issubclass(InvalidArgumentError, ThingSpaceError)
    assert issubclass(InvalidArgumentError, ValueError)
    assert not issubclass(InvalidArgumentError, APIError)
    assert issubclass(APITimeoutError, APIConnectionError)
    for cls in (APIConnectionError, APIResponseValidationError, APIStatusError):
        assert issubclass(cls, APIError)
    for cls in set(STATUS_CLASSES.values()):
        assert issubclass(cls, APIStatusError)


async def test_raw_response_raises_on_error_status_too(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.route().respond(409, json={"errorCode": "INVALID_PARAMETER"})
    with pytest.raises(ConflictError):
        await client.hyper_precise.with_raw_response.list("a")


@pytest.mark.parametrize(
    ("response", "match"),
    [
        pytest.param(httpx.Response(200, text="<html>ok</html>"), "is not JSON", id="not-json"),
        pytest.param(
            httpx.Response(200, json={"accountName": "a"}),
            "is not a valid DiagnosticsCallback",
            id="wrong-shape",
        ),
        pytest.param(httpx.Response(200, content=b""), "empty body", id="empty"),
    ],
)
async def test_unexpected_success_body(
    client: AsyncThingSpaceClient,
    mock_api: respx.MockRouter,
    response: httpx.Response,
    match: str,
) -> None:
    mock_api.route().mock(return_value=response)
    with pytest.raises(APIResponseValidationError, match=match) as info:
        await client.diagnostics.get("a")
    assert info.value.status_code == 200
    assert info.value.body == response.text
    _assert_no_secret(info.value)


async def test_raw_response_defers_validation_to_parse(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.route().respond(200, text="not json", headers={"x-request-id": "r"})
    response = await client.diagnostics.with_raw_response.get("a")
    assert (response.status_code, response.content) == (200, b"not json")
    with pytest.raises(APIResponseValidationError):
        response.parse()


@pytest.mark.parametrize(
    ("side_effect", "cls"),
    [
        pytest.param(httpx.ConnectError("refused"), APIConnectionError, id="connect"),
        pytest.param(httpx.ReadTimeout("slow"), APITimeoutError, id="timeout"),
    ],
)
async def test_transport_failures(
    client: AsyncThingSpaceClient,
    mock_api: respx.MockRouter,
    side_effect: Exception,
    cls: type[APIConnectionError],
) -> None:
    mock_api.route().mock(side_effect=side_effect)
    with pytest.raises(cls) as info:
        await client.firmware.register("a", url="https://example.com/h", max_retries=0)
    assert info.value.body is None
    assert info.value.request.method == "POST"
    _assert_no_secret(info.value)


async def test_errors_keep_the_request_without_credentials_or_body(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.post("/m2m/v1/callbacks/acct").respond(
        400, json={"errorCode": "INVALID_PARAMETER", "errorMessage": "bad"}
    )
    with pytest.raises(BadRequestError) as caught:
        await client.connectivity.register(
            "acct",
            service="CarrierService",
            url="https://hooks.example.com/m2m",
            password="listener-pass-77",
            max_retries=0,
        )
    for request in (caught.value.request, caught.value.response.request):
        assert "authorization" not in request.headers
        assert "vz-m2m-token" not in request.headers
        assert b"listener-pass-77" not in request.content
        assert request.url.path == "/api/m2m/v1/callbacks/acct"
    assert ACCESS_TOKEN not in repr(vars(caught.value))
    assert M2M_TOKEN not in repr(vars(caught.value))


async def test_connection_errors_keep_the_request_without_credentials(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter
) -> None:
    mock_api.get("/loc/v1/callbacks/acct").mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(APIConnectionError) as caught:
        await client.location.list("acct", max_retries=0)
    assert "authorization" not in caught.value.request.headers
    assert "vz-m2m-token" not in caught.value.request.headers


async def test_an_error_body_is_decoded_once_per_answer(
    client: AsyncThingSpaceClient, mock_api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 401 is read by the replay check, the credentials and the exception: one decode
    # serves them all (a large error body must not be parsed three times).
    decoded: list[bytes] = []
    decode = json.loads

    def counting_loads(text: bytes) -> object:
        decoded.append(text)
        return decode(text)

    monkeypatch.setattr(error_body, "json", SimpleNamespace(loads=counting_loads))
    mock_api.get("/loc/v1/callbacks/acct").respond(401, json=GATEWAY_FAULT)
    with pytest.raises(AuthenticationError) as caught:
        await client.location.list("acct", max_retries=0)
    assert caught.value.error_code == "900901"
    assert caught.value.body == GATEWAY_FAULT
    assert len(decoded) == 1
