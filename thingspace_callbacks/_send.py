"""Putting one request on the wire and reading its answer, bounded in size and time: the
step below both the request pipeline and the credential providers, which send token and
login requests through the same connection pool.

Whatever ``httpx.AsyncClient`` the SDK was handed, its requests never follow redirects
(so no credential is re-sent to another origin), an answer is read and decompressed
only up to a size limit (so a broken gateway or a compression bomb cannot fill the
memory), and the whole exchange of one
attempt, from sending to the last byte of the answer, runs within a time limit (so a
body trickled a byte at a time cannot outlast the read timeout forever).
"""

from __future__ import annotations

import asyncio
from typing import cast

import anyio
import httpx

from ._constants import DEFAULT_MAX_RESPONSE_SIZE
from ._deadlines import Deadline, Task, deadlines
from ._decode import (
    DecodedTooLargeError,
    Decoder,
    UnsupportedEncodingError,
    accept_encoding,
    decoder_for,
)
from ._errors import (
    APIResponseValidationError,
    InvalidArgumentError,
    ResponseTooLargeError,
    connection_error,
)

__all__ = ["AnswerTimeout", "attempt_time_limit", "fetch", "send"]

_UNCANCEL = hasattr(asyncio.Task, "uncancel")
"""Python 3.11 or newer: a task's own time limit can tell its cancellation from others'."""


class AnswerTimeout(httpx.ReadTimeout):
    """The whole answer did not arrive within the attempt's time limit."""


def attempt_time_limit(timeout: httpx.Timeout | dict[str, float | None]) -> float | None:
    """How long one attempt may take in all: the longest of the timeout's phases
    (``timeout=3`` gives 3 s; the default 30 s), or ``None`` when none is set."""
    phases = timeout.as_dict() if isinstance(timeout, httpx.Timeout) else timeout
    finite = [value for value in phases.values() if value is not None]
    return max(finite) if finite else None


async def fetch(
    http_client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    max_size: int | None,
    time_limit: float | None,
) -> httpx.Response:
    """Send ``request`` and read its answer whole, raising httpx's exceptions as they
    come (the retry loop decides about them), :class:`AnswerTimeout` past
    ``time_limit`` seconds, :class:`ResponseTooLargeError` past ``max_size`` bytes
    (encoded or decoded) and :class:`APIResponseValidationError` for a
    ``Content-Encoding`` not decoded within bounds (see :mod:`._decode`)."""
    deadline: Deadline | None = None
    if time_limit is not None:
        task = _asyncio_task() if _UNCANCEL else None
        if task is None:
            return await _fetch_in_scope(http_client, request, max_size, time_limit)
        # One timer per loop for all requests (see _deadlines): arming and disarming
        # one per request is a measurable share of the SDK's CPU time per request.
        deadline = deadlines(task.get_loop()).start(cast("Task", task), time_limit)
    # Sending and reading are written out here rather than in a helper coroutine: every
    # coroutine layer is paid again each time the request's task resumes.
    try:
        response = await http_client.send(request, stream=True, follow_redirects=False)
        try:
            # Counted as it arrives rather than trusted from Content-Length: a chunked
            # body declares nothing. The raw bytes are read and any Content-Encoding is
            # decoded here, a bounded step at a time (see _decode): httpx would inflate
            # each network chunk whole, and a few KB can inflate to gigabytes.
            chunks: list[bytes] = []
            size = 0
            encoding = response.headers.get("content-encoding")
            if response.is_stream_consumed:
                # An in-process transport's answer (httpx.MockTransport's), which httpx
                # read and decoded as it was built.
                chunks.append(response.content)
                if max_size is not None and len(response.content) > max_size:
                    raise ResponseTooLargeError(response, limit=max_size)
            elif encoding is None or (decoder := _decoder(response, encoding, max_size)) is None:
                async for chunk in response.aiter_raw():
                    size += len(chunk)
                    if max_size is not None and size > max_size:
                        raise ResponseTooLargeError(response, limit=max_size)
                    chunks.append(chunk)
            else:
                try:
                    async for raw in response.aiter_raw():
                        # The encoded size counts too: past the end of a stream,
                        # decoders discard what follows.
                        size += len(raw)
                        if max_size is not None and size > max_size:
                            raise DecodedTooLargeError
                        chunks.extend(decoder.feed(raw))
                    chunks.extend(decoder.finish())
                except DecodedTooLargeError:
                    raise ResponseTooLargeError(response, limit=max_size or 0) from None
        except BaseException:
            # Cancelled or refused mid-body: give the connection back, even while the
            # cancellation that got us here is still being delivered.
            with anyio.CancelScope(shield=True):
                await response.aclose()
            raise
    except asyncio.CancelledError:
        if deadline is not None and time_limit is not None and deadline.caught():
            raise _answer_timeout(request, time_limit) from None
        raise
    finally:
        if deadline is not None:
            deadline.end()
    # What httpx's own `aread()` does, with the size checked on the way; the content is
    # already decoded, and httpx does not decode a response's `_content` again. httpx
    # has no public way to give a response a decoded body while its headers keep the
    # Content-Encoding the server sent, which users of raw responses read.
    content = response._content = b"".join(chunks)  # noqa: SLF001
    # httpx's stream and response refer to each other, so every response read would
    # otherwise wait for the cycle collector, whose passes over those dead responses
    # cost a fan-out as much as a few percent of its CPU time. The stream has been read
    # and closed; an equivalent in-memory one replaces it.
    response.stream = httpx.ByteStream(content)
    return response


async def _fetch_in_scope(
    http_client: httpx.AsyncClient, request: httpx.Request, max_size: int | None, time_limit: float
) -> httpx.Response:
    # Python 3.10, or trio: the time limit is an anyio cancel scope.
    response: httpx.Response | None = None
    with anyio.CancelScope(deadline=anyio.current_time() + time_limit) as scope:
        response = await fetch(http_client, request, max_size=max_size, time_limit=None)
    if scope.cancelled_caught:
        raise _answer_timeout(request, time_limit)
    assert response is not None  # the scope was not cancelled, so fetch returned
    return response


def _decoder(response: httpx.Response, encoding: str, max_size: int | None) -> Decoder | None:
    try:
        return decoder_for(encoding, response.request, max_size)
    except UnsupportedEncodingError as exc:
        raise APIResponseValidationError(
            httpx.Response(
                response.status_code, headers=response.headers, request=response.request
            ),
            message=f"{response.status_code} answer is encoded as {encoding!r} "
            f"(Content-Encoding), which this client does not decode: {exc}; not read",
        ) from None


def _asyncio_task() -> asyncio.Task[object] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no asyncio loop: trio
        return None


def _answer_timeout(request: httpx.Request, time_limit: float) -> AnswerTimeout:
    return AnswerTimeout(f"the whole answer took longer than {time_limit:g} s", request=request)


async def send(http_client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """:func:`fetch` with the default bounds (the client's timeout), turning every
    failure to get an answer into one of ours."""
    # A client passed in by the user offers whatever encodings its httpx decodes.
    request.headers["Accept-Encoding"] = accept_encoding()
    try:
        return await fetch(
            http_client,
            request,
            max_size=DEFAULT_MAX_RESPONSE_SIZE,
            time_limit=_limit_of(request),
        )
    except httpx.RequestError as exc:
        raise connection_error(exc, attempts=1) from exc
    except httpx.InvalidURL as exc:
        raise InvalidArgumentError(f"invalid request URL: {exc}") from None


def _limit_of(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout")
    return attempt_time_limit(timeout) if timeout else None
