"""Decoding an answer's ``Content-Encoding`` a bounded step at a time.

httpx (and aiohttp, when it decodes) inflate each network chunk whole: a few KB of
nested gzip can expand to gigabytes before any size check runs. Here every step of a
chain emits at most :data:`STEP` bytes per call, so a reader that counts what comes out
and stops at its limit never holds more than the limit plus a few steps, whatever the
compression ratio or the number of layers.

Only the encodings that can be decoded that way are accepted, and only those are
offered in ``Accept-Encoding``: identity, ``gzip`` (and ``x-gzip``), ``deflate`` (with
or without its zlib wrapper), ``br`` with ``brotli`` >= 1.2 or ``brotlicffi`` >= 1.2
(earlier versions cannot cap their output), and ``zstd`` with the standard library's
``compression.zstd`` (Python 3.14) or ``backports.zstd``. Any other encoding, or a chain
of more than :data:`MAX_LAYERS`, is refused before the body is read.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any, Protocol

import httpx

__all__ = [
    "MAX_LAYERS",
    "STEP",
    "DecodedTooLargeError",
    "Decoder",
    "UnsupportedEncodingError",
    "accept_encoding",
    "decoder_for",
]

STEP = 64 * 1024
"""The most bytes one decoding step emits (brotli may exceed it by one of its output
blocks, tens of KB)."""

MAX_LAYERS = 4
"""The most encodings in one ``Content-Encoding`` chain: each holds a decompressor's
window (32 KB to a few MB), and real servers apply one."""


class UnsupportedEncodingError(ValueError):
    """The answer's ``Content-Encoding`` is one this client cannot decode within
    bounds."""


class _Step(Protocol):
    def push(self, data: bytes) -> None:
        """Take more encoded input."""

    def pull(self, size: int) -> bytes:
        """Up to ``size`` decoded bytes (brotli: about that many); ``b""`` when the step
        needs more input or its stream has ended."""

    def finish(self) -> None:
        """Check, once the input has ended, that it was not cut short."""


class _Zlib:
    """gzip, or deflate with or without its zlib wrapper (told apart by the first two
    bytes, as servers send both under the name ``deflate``)."""

    __slots__ = ("_decompressor", "_pending")

    def __init__(self, wbits: int | None) -> None:
        """:param wbits: zlib's window bits, ``None`` to tell from the stream's start."""
        self._decompressor = None if wbits is None else zlib.decompressobj(wbits)
        self._pending = b""

    def push(self, data: bytes) -> None:
        self._pending = self._pending + data if self._pending else data

    def pull(self, size: int) -> bytes:
        decompressor = self._decompressor
        if decompressor is None:
            if len(self._pending) < 2:
                return b""
            decompressor = self._decompressor = zlib.decompressobj(
                zlib.MAX_WBITS if _zlib_header(self._pending) else -zlib.MAX_WBITS
            )
        if decompressor.eof:
            # What follows the end of the stream is ignored, as httpx does.
            self._pending = b""
            return b""
        out = decompressor.decompress(self._pending, size)
        # Input past what fitted in `size` bytes of output is handed back, not kept.
        self._pending = decompressor.unconsumed_tail
        return out

    def finish(self) -> None:
        if self._decompressor is None and self._pending:
            # One byte of deflate: too short for any stream.
            raise zlib.error("incomplete deflate stream")


def _zlib_header(data: bytes) -> bool:
    """Whether ``data`` starts with a zlib header (RFC 1950: method 8, check bits)."""
    return data[0] & 0x0F == 8 and data[0] >> 4 <= 7 and (data[0] << 8 | data[1]) % 31 == 0


class _Brotli:
    __slots__ = ("_decompressor", "_pending", "_process")

    def __init__(self, module: Any) -> None:
        self._decompressor = module.Decompressor()
        # `brotli` names it process, `brotlicffi` decompress; both take the output
        # limit as their second argument (since 1.2).
        self._process: Callable[[bytes, int], bytes] = (
            getattr(self._decompressor, "process", None) or self._decompressor.decompress
        )
        self._pending = b""

    def push(self, data: bytes) -> None:
        self._pending = self._pending + data if self._pending else data

    def pull(self, size: int) -> bytes:
        decompressor = self._decompressor
        if decompressor.is_finished():
            self._pending = b""
            return b""
        # Output held back by the last limit must come out before more input goes in.
        if self._pending and decompressor.can_accept_more_data():
            data, self._pending = self._pending, b""
        else:
            data = b""
        return self._process(data, size)

    def finish(self) -> None:
        pass


class _Zstd:
    """zstd, frame after frame (RFC 8878 lets a stream hold several)."""

    __slots__ = ("_decompressor", "_new", "_pending")

    def __init__(self, new: Callable[[], Any]) -> None:
        self._new = new
        self._decompressor = new()
        self._pending = b""

    def push(self, data: bytes) -> None:
        self._pending = self._pending + data if self._pending else data

    def pull(self, size: int) -> bytes:
        while True:
            decompressor = self._decompressor
            if decompressor.eof:
                rest = decompressor.unused_data + self._pending
                if not rest:
                    return b""
                decompressor = self._decompressor = self._new()
                self._pending = rest
            if decompressor.needs_input:
                if not self._pending:
                    return b""
                data, self._pending = self._pending, b""
            else:
                data = b""
            out: bytes = decompressor.decompress(data, size)
            if out:
                return out

    def finish(self) -> None:
        pass


class DecodedTooLargeError(Exception):
    """The decoded answer, or what one layer of it expanded to, passed the limit."""


class Decoder:
    """A chain of decoding steps, the last encoding applied decoded first, counting
    what comes out against a size limit.

    :param limit: The most decoded bytes; each layer in between may emit a little more
        (compressed data can be a hair larger than what it holds), not without bound:
        data a layer discards (past its end) or input that expands to nothing (empty
        blocks) cannot keep a reader busy without counting.
    """

    __slots__ = ("_inner", "_inner_limit", "_limit", "_request", "_steps", "size")

    def __init__(self, steps: list[_Step], request: httpx.Request, limit: int | None) -> None:
        self._steps = steps
        self._request = request
        self._limit = limit
        self._inner_limit = None if limit is None else limit + limit // 1024 + STEP
        self._inner = [0] * len(steps)
        self.size = 0
        """Decoded bytes so far."""

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded bytes ``data`` completes, in pieces of at most :data:`STEP`.

        :raises DecodedTooLargeError: past the limit, before more than a piece is decoded.
        :raises httpx.DecodingError: for data that is not in its encoding.
        """
        self._steps[0].push(data)
        yield from self._drain()

    def finish(self) -> Iterator[bytes]:
        """What is left once the input has ended."""
        yield from self._drain()
        try:
            for step in self._steps:
                step.finish()
        except zlib.error as exc:
            raise httpx.DecodingError(str(exc), request=self._request) from exc

    def _drain(self) -> Iterator[bytes]:
        last = len(self._steps) - 1
        limit = self._limit
        try:
            while out := self._pull(last):
                self.size += len(out)
                if limit is not None and self.size > limit:
                    raise DecodedTooLargeError
                yield out
        except (DecodedTooLargeError, httpx.DecodingError):
            raise
        except Exception as exc:  # zlib.error, brotli.error, ZstdError
            raise httpx.DecodingError(str(exc), request=self._request) from exc

    def _pull(self, index: int) -> bytes:
        step = self._steps[index]
        while True:
            out = step.pull(STEP)
            if out or index == 0:
                return out
            # This step needs input: one bounded piece from the step before it.
            more = self._pull(index - 1)
            if not more:
                return b""
            self._inner[index - 1] += len(more)
            if self._inner_limit is not None and self._inner[index - 1] > self._inner_limit:
                raise DecodedTooLargeError
            step.push(more)


def decoder_for(content_encoding: str, request: httpx.Request, limit: int | None) -> Decoder | None:
    """The decoder for an answer's ``Content-Encoding`` header value(s), or ``None``
    when it names no encoding but identity; ``limit`` is the most decoded bytes.

    :raises UnsupportedEncodingError: for an encoding not decoded within bounds, or a
        chain longer than :data:`MAX_LAYERS`.
    """
    steps: list[_Step] = []
    names = [name.strip().lower() for name in content_encoding.split(",")]
    for name in reversed(names):
        if name in ("", "identity"):
            continue
        if len(steps) == MAX_LAYERS:
            raise UnsupportedEncodingError(
                f"more than {MAX_LAYERS} content encodings in {content_encoding!r}"
            )
        steps.append(_step(name))
    return Decoder(steps, request, limit) if steps else None


def _step(name: str) -> _Step:
    if name in ("gzip", "x-gzip"):
        return _Zlib(zlib.MAX_WBITS | 16)
    if name == "deflate":
        return _Zlib(None)
    if name == "br" and (brotli := _brotli()) is not None:
        return _Brotli(brotli)
    if name == "zstd" and (zstd := _zstd()) is not None:
        return _Zstd(zstd)
    raise UnsupportedEncodingError(f"content encoding {name!r} is not supported")


@cache
def _brotli() -> Any:
    """``brotli`` or ``brotlicffi`` when one that can cap its output is installed."""
    for name in ("brotli", "brotlicffi"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module.Decompressor, "can_accept_more_data"):
            return module
    return None


@cache
def _zstd() -> Callable[[], Any] | None:
    """The zstd decompressor class that can cap its output (PEP 784's), if any."""
    for name in ("compression.zstd", "backports.zstd"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        decompressor: Callable[[], Any] = module.ZstdDecompressor
        return decompressor
    return None


@cache
def accept_encoding() -> str:
    """The ``Accept-Encoding`` value listing what :func:`decoder_for` decodes here."""
    names = ["gzip", "deflate"]
    if _brotli() is not None:
        names.append("br")
    if _zstd() is not None:
        names.append("zstd")
    return ", ".join(names)
