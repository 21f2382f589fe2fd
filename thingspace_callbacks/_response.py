"""``APIResponse``: status, headers and the parsed model of one answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import httpx

from ._error_body import request_id_of
from ._errors import APIResponseValidationError
from ._exports import publish
from ._validation_errors import describe_problems

if TYPE_CHECKING:
    from pydantic import TypeAdapter, ValidationError

__all__ = ["APIResponse", "ResponseShape"]

_T = TypeVar("_T")

_MAX_PROBLEMS = 5
"""Problems an answer's error names; a broken answer can have thousands."""


class ResponseShape(Generic[_T]):
    """What an operation's 2xx body must look like; the validator is built on first use."""

    __slots__ = ("_adapter", "_type", "empty_is_list")

    def __init__(self, type_: Any, *, empty_is_list: bool = False) -> None:
        self._type = type_
        self._adapter: TypeAdapter[_T] | None = None
        self.empty_is_list = empty_is_list
        """An empty body means "none" (an empty list) rather than a broken answer."""

    def validate_json(self, content: bytes) -> _T:
        adapter = self._adapter
        if adapter is None:
            # Once per operation, at its first answer: pydantic's validation machinery
            # takes long to import, and building a client does not need it.
            from pydantic import TypeAdapter

            adapter = self._adapter = TypeAdapter(self._type)
        return adapter.validate_json(content)

    @property
    def name(self) -> str:
        return getattr(self._type, "__name__", None) or str(self._type)


class APIResponse(Generic[_T]):
    """One successful answer: what the server sent, and the model parsed from it.

    Returned by every operation called through ``with_raw_response``, e.g.
    ``await client.location.with_raw_response.register(...)``. The body is validated on
    the first :meth:`parse` and cached.
    """

    __slots__ = ("_parsed", "_shape", "http_response")

    http_response: httpx.Response
    """The underlying ``httpx.Response`` (already read)."""

    def __init__(self, response: httpx.Response, shape: ResponseShape[_T]) -> None:
        self.http_response = response
        self._shape = shape
        self._parsed: tuple[_T] | None = None

    @property
    def status_code(self) -> int:
        """The HTTP status code."""
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The response headers (case-insensitive)."""
        return self.http_response.headers

    @property
    def content(self) -> bytes:
        """The body, decompressed (whatever its ``Content-Encoding``)."""
        return self.http_response.content

    @property
    def request_id(self) -> str | None:
        """The server's id for the request, when a header carries one."""
        return request_id_of(self.http_response.headers)

    def parse(self) -> _T:
        """Validate the body into the operation's model.

        Raises :class:`APIResponseValidationError` (keeping status, headers and the
        body's text) when the body is empty, not JSON, or not of the expected shape.
        """
        if self._parsed is None:
            self._parsed = (self._validate(),)
        return self._parsed[0]

    def _validate(self) -> _T:
        response = self.http_response
        if not response.content.strip():
            if self._shape.empty_is_list:
                return cast(_T, [])
            raise APIResponseValidationError(
                response,
                message=f"{response.status_code} answer has an empty body, "
                f"expected {self._shape.name}",
            )
        try:
            return self._shape.validate_json(response.content)
        except ValueError as exc:
            # pydantic's ValidationError is a ValueError; its module is loaded by now
            # (the validator raised it), so this import is a lookup.
            from pydantic import ValidationError

            if not isinstance(exc, ValidationError):
                raise
            kind = "is not JSON" if _is_json_error(exc) else f"is not a valid {self._shape.name}"
            raise APIResponseValidationError(
                response,
                message=f"{response.status_code} answer {kind}: "
                + describe_problems(exc, limit=_MAX_PROBLEMS),
            ) from None

    def __repr__(self) -> str:
        return f"<APIResponse [{self.status_code}] {self._shape.name}>"


def _is_json_error(exc: ValidationError) -> bool:
    return any(error["type"] == "json_invalid" for error in exc.errors(include_url=False))


publish(globals())  # exported classes report the package as their module
