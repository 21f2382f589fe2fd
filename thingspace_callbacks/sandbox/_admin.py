"""Admin routes under ``/sandbox``: deliver notifications, set faults, expire
credentials, inspect and reset state. They need no credentials and meet no faults."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .._checks import count
from ._context import BadRequest, error, json_body, ok
from ._delivery import NoListenerError
from ._faults import Faults, describe_invalid
from ._state import family_name

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from ._delivery import Delivery
    from ._state import Family, Registration

__all__ = ["Administered", "admin_routes"]


class Administered(Protocol):
    """What the admin routes drive: the :class:`Sandbox` (named here by what it does,
    so this module need not import the one that mounts it)."""

    faults: Faults

    def registrations(
        self, family: Family | str | None = None, account: str | None = None
    ) -> list[Registration]: ...

    def reset(self) -> None: ...

    def drift(
        self,
        family: Family | str,
        accounts: Iterable[str],
        how: Literal["url", "remove", "extra"] = "url",
        *,
        service: str | None = None,
        url: str | None = None,
    ) -> list[Registration]: ...

    def expire_tokens(self) -> None: ...

    def expire_sessions(self) -> None: ...

    async def emit(
        self,
        family: Family | str,
        account: str,
        service: str | None = None,
        *,
        message: Mapping[str, Any] | None = None,
        max_attempts: int = 1,
        retry_interval: float = 0.0,
    ) -> list[Delivery]: ...


def admin_routes(sandbox: Administered) -> list[BaseRoute]:
    """``POST /sandbox/emit``, ``GET|PUT|DELETE /sandbox/faults``,
    ``POST /sandbox/expire``, ``GET /sandbox/registrations``, ``POST /sandbox/reset``,
    ``POST /sandbox/drift``."""

    async def emit(request: Request) -> Response:
        try:
            data = await json_body(request, code="INVALID_REQUEST")
            if not isinstance(data, dict):
                raise BadRequest(400, "INVALID_REQUEST", "expected a JSON object")
            family = family_name(str(data.get("family", "")))
            account = data.get("account")
            if not isinstance(account, str) or not account:
                raise BadRequest(400, "INVALID_REQUEST", "account is required")
            service = data.get("service")
            message = data.get("message")
            if message is not None and not isinstance(message, dict):
                raise BadRequest(400, "INVALID_REQUEST", "message must be an object")
            deliveries = await sandbox.emit(
                family,
                account,
                service if isinstance(service, str) and service else None,
                message=message,
                max_attempts=count(data.get("attempts", 1), "attempts", minimum=1),
            )
        except BadRequest as exc:
            return error(exc.status, exc.code, exc.message)
        except NoListenerError as exc:
            return error(404, "NO_LISTENER", str(exc))
        except ValueError as exc:
            return error(400, "INVALID_REQUEST", str(exc))
        return ok({"deliveries": [d.to_dict() for d in deliveries]})

    async def get_faults(request: Request) -> Response:
        return ok(sandbox.faults.model_dump(mode="json"))

    async def put_faults(request: Request) -> Response:
        try:
            data = await json_body(request, code="INVALID_REQUEST")
            if not isinstance(data, dict):
                raise BadRequest(400, "INVALID_REQUEST", "expected a JSON object")
            sandbox.faults = Faults.model_validate(data)
        except BadRequest as exc:
            return error(exc.status, exc.code, exc.message)
        except ValidationError as exc:
            return error(400, "INVALID_REQUEST", describe_invalid(exc))
        return ok(sandbox.faults.model_dump(mode="json"))

    async def clear_faults(request: Request) -> Response:
        sandbox.faults = Faults()
        return ok(sandbox.faults.model_dump(mode="json"))

    async def expire(request: Request) -> Response:
        try:
            data = await json_body(request, code="INVALID_REQUEST")
        except BadRequest as exc:
            return error(exc.status, exc.code, exc.message)
        what: dict[str, Any] = data if isinstance(data, dict) else {}
        tokens = bool(what.get("tokens", True))
        sessions = bool(what.get("sessions", True))
        if tokens:
            sandbox.expire_tokens()
        if sessions:
            sandbox.expire_sessions()
        return ok({"tokens": tokens, "sessions": sessions})

    async def registrations(request: Request) -> Response:
        return ok(
            [
                {
                    "family": r.family,
                    "account": r.account,
                    "service": r.service,
                    "url": r.url,
                    "createdOn": r.created_on.isoformat(),
                }
                for r in sandbox.registrations()
            ]
        )

    async def drift(request: Request) -> Response:
        try:
            data = await json_body(request, code="INVALID_REQUEST")
            if not isinstance(data, dict):
                raise BadRequest(400, "INVALID_REQUEST", "expected a JSON object")
            accounts = data.get("accounts")
            if not isinstance(accounts, list) or not all(isinstance(a, str) for a in accounts):
                raise BadRequest(400, "INVALID_REQUEST", "accounts must be a list of strings")
            how = data.get("how", "url")
            service, url = data.get("service"), data.get("url")
            for name, value in (("how", how), ("service", service), ("url", url)):
                if value is not None and not isinstance(value, str):
                    raise BadRequest(400, "INVALID_REQUEST", f"{name} must be a string")
            changed = sandbox.drift(
                family_name(str(data.get("family", ""))),
                accounts,
                how,
                service=service,
                url=url,
            )
        except BadRequest as exc:
            return error(exc.status, exc.code, exc.message)
        except ValueError as exc:
            return error(400, "INVALID_REQUEST", str(exc))
        return ok(
            {
                "changed": [
                    {"family": r.family, "account": r.account, "service": r.service}
                    for r in changed
                ]
            }
        )

    async def reset(request: Request) -> Response:
        sandbox.reset()
        return ok({"reset": True})

    return [
        Route("/emit", emit, methods=["POST"]),
        Route("/faults", get_faults, methods=["GET"]),
        Route("/faults", put_faults, methods=["PUT"]),
        Route("/faults", clear_faults, methods=["DELETE"]),
        Route("/expire", expire, methods=["POST"]),
        Route("/registrations", registrations, methods=["GET"]),
        Route("/reset", reset, methods=["POST"]),
        Route("/drift", drift, methods=["POST"]),
    ]
