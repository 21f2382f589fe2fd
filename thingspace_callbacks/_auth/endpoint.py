"""The HTTP call to a credential endpoint (the OAuth token, the M2M login and logout),
and reading its answer without letting a credential reach an exception: the request
kept on the answer is a copy without credentials or body, a token answer that cannot be
read keeps no body, and parse errors, which quote the body, are dropped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from .._error_body import decoded_body, describe_answer, error_fields, request_id_of
from .._errors import APIConnectionError, AuthenticationError
from .._redact import without_credentials
from .._send import send
from .base import AuthContext

__all__ = ["auth_failure", "json_object", "post_credentials"]


async def post_credentials(
    context: AuthContext,
    path: str,
    *,
    headers: Mapping[str, str],
    data: Mapping[str, str] | None = None,
    json_body: Any = None,
) -> httpx.Response:
    """POST to a credential endpoint through the shared pool and read the answer.

    The request kept on the answer (and on a connection error) is a copy without
    credentials or body, so an exception built from it cannot leak them.
    """
    request = context.http_client.build_request(
        "POST",
        context.base_url + path,
        headers={"Accept": "application/json", "User-Agent": context.user_agent, **headers},
        data=data,
        json=json_body,
        timeout=context.timeout,
    )
    telemetry = context.telemetry
    if telemetry is not None and telemetry.active():
        async with telemetry.credential_request(path) as record:
            response = await _send(context, request)
            record(response.status_code)
        return response
    return await _send(context, request)


async def _send(context: AuthContext, request: httpx.Request) -> httpx.Response:
    try:
        response = await send(context.http_client, request)
    except APIConnectionError as exc:
        exc.request = without_credentials(request)
        raise
    response.request = without_credentials(request)
    return response


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The answer's JSON object, or ``{}`` when it is not one."""
    body = decoded_body(response)
    return body if isinstance(body, dict) else {}


def auth_failure(
    response: httpx.Response, what: str, *, keep_body: bool = True
) -> AuthenticationError:
    """An :class:`AuthenticationError` for a credential endpoint's answer: ``what``, then
    the status and the provider's error code and message. ``keep_body=False`` for
    answers that may hold a credential (a success answer we could not read): the error
    then keeps neither the body nor the provider's fields."""
    if not keep_body:
        bare = httpx.Response(
            response.status_code, headers=response.headers, request=response.request
        )
        return AuthenticationError(bare, body={}, message=f"{what}: {response.status_code}")
    answer = describe_answer(
        response.status_code,
        response.reason_phrase,
        *error_fields(response),
        request_id_of(response.headers),
    )
    return AuthenticationError(response, message=f"{what}: {answer}")
