"""OAuth tokens (``/ts/v1/oauth2``) and M2M sessions (``/m2m/v1/session``)."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .._body import read_body
from .._context import BadRequest, SandboxContext, json_body, ok, refused

__all__ = ["routes"]


def _oauth_error(status: int, code: str, description: str) -> Response:
    return JSONResponse({"error": code, "error_description": description}, status_code=status)


def _basic_client(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, client_secret = decoded.partition(":")
    return (client_id, client_secret) if sep else None


async def _form(request: Request) -> dict[str, str]:
    # Parsed by hand: Starlette's form parser needs python-multipart, an extra dependency.
    fields = parse_qs((await read_body(request)).decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[-1] for name, values in fields.items()}


def routes(ctx: SandboxContext) -> list[BaseRoute]:
    """Token, revoke, login and logout."""
    credentials = ctx.credentials

    def authenticated_client(request: Request) -> str | Response:
        client = _basic_client(request)
        if client is None or not credentials.client_allowed(*client):
            return _oauth_error(401, "invalid_client", "Client Authentication failed.")
        return client[0]

    async def token(request: Request) -> Response:
        ctx.count("token")
        client = authenticated_client(request)
        if isinstance(client, Response):
            return client
        form = await _form(request)
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type", "Unsupported grant_type value")
        issued = credentials.issue_token(client, form.get("scope") or None)
        return ok(
            {
                "access_token": issued.value,
                "scope": issued.scope,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
            }
        )

    async def revoke(request: Request) -> Response:
        ctx.count("revoke")
        client = authenticated_client(request)
        if isinstance(client, Response):
            return client
        form = await _form(request)
        value = form.get("token", "")
        if not value:
            return _oauth_error(400, "invalid_request", "token is required")
        credentials.revoke_token(client, value)
        # ThingSpace answers with no body and names the revoked token in a header.
        return Response(status_code=200, headers={"Revoked-Access-Token": "true"})

    async def login(request: Request) -> Response:
        ctx.count("login")
        if ctx.require_auth:
            failure = credentials.check_bearer(request.headers.get("authorization"), "/m2m/v1")
            if failure is not None:
                return refused(failure)
        try:
            data = await json_body(request, code="INPUT_INVALID.Login.Body")
        except BadRequest:  # answered below, like missing fields
            data = None
        username = data.get("username") if isinstance(data, dict) else None
        password = data.get("password") if isinstance(data, dict) else None
        if not isinstance(username, str) or not isinstance(password, str):
            return JSONResponse(
                {
                    "errorCode": "INPUT_INVALID.Login.Body",
                    "errorMessage": "username and password are required.",
                },
                status_code=400,
            )
        result = credentials.login(username, password)
        if not isinstance(result, str):
            return refused(result)
        return ok({"sessionToken": result})

    async def logout(request: Request) -> Response:
        ctx.count("logout")
        if ctx.require_auth:
            failure = credentials.check_bearer(request.headers.get("authorization"), "/m2m/v1")
            if failure is not None:
                return refused(failure)
        session = request.headers.get("vz-m2m-token", "")
        failure = credentials.check_session(session)
        if failure is not None:
            return refused(failure)
        credentials.logout(session)
        return ok({"sessionToken": session})

    return [
        Route("/ts/v1/oauth2/token", token, methods=["POST"]),
        Route("/ts/v1/oauth2/revoke", revoke, methods=["POST"]),
        Route("/m2m/v1/session/login", login, methods=["POST"]),
        Route("/m2m/v1/session/logout", logout, methods=["POST"]),
    ]
