"""Compressed answers on a real socket, on httpx's transport and on aiohttp's: every
``Content-Encoding`` the SDK offers decodes to the same body, decompression stops at the
size limit as it happens (a 2.5 KB nested gzip bomb of 1 GiB leaves the process's peak
memory where it was), and an encoding it cannot decode within bounds is refused."""

from __future__ import annotations

import gzip
import importlib
import json
import os
import struct
import subprocess
import sys
import types
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from thingspace_callbacks import (
    APIConnectionError,
    APIResponseValidationError,
    AsyncThingSpaceClient,
    ResponseTooLargeError,
    ThingSpaceAuth,
    _decode,
)
from thingspace_callbacks._decode import STEP, decoder_for

from ._encoded import Answer, EncodedServer, encoded_server

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
WARM = "0252012345-00001"
BOMB = "0252012345-00002"
ANSWER = "0252012345-00003"
GIB = 1 << 30
CAP = 4 * 1024 * 1024  # the default max_response_size
TRANSPORTS = [pytest.param(False, id="httpx"), pytest.param(True, id="aiohttp")]

BODY = json.dumps(
    [{"name": "Location", "url": f"https://listener.example.com/hooks/{i}"} for i in range(400)]
).encode()
"""A callback list of 24 KB: several network chunks when compressed or not."""


def _optional(*modules: str) -> Any:
    for name in modules:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


_BROTLI = _optional("brotli", "brotlicffi")
_ZSTD = _optional("compression.zstd", "backports.zstd")
BROTLI_BOUNDED = _BROTLI is not None and hasattr(_BROTLI.Decompressor, "can_accept_more_data")


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def _deflate_raw(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": _gzip,
    "x-gzip": _gzip,
    "deflate": zlib.compress,  # with its zlib wrapper (RFC 9110)
    "deflate-raw": _deflate_raw,  # without it, as some servers send "deflate"
    "identity": lambda data: data,
}
if BROTLI_BOUNDED:
    ENCODERS["br"] = _BROTLI.compress
if _ZSTD is not None:
    ENCODERS["zstd"] = _ZSTD.compress


def encode(chain: list[str], data: bytes) -> tuple[str, bytes]:
    """``data`` encoded by each of ``chain`` in turn, and its Content-Encoding value."""
    for name in chain:
        data = ENCODERS[name](data)
    return ", ".join("deflate" if name == "deflate-raw" else name for name in chain), data


def gzip_of_zeros(size: int) -> bytes:
    """A gzip member of ``size`` zero bytes (a multiple of 1 MiB), built in a fraction
    of a second: each MiB compressed after a full flush is the same bytes, so one is
    compressed and repeated, and the trailer's CRC is computed apart."""
    mib = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    first = compressor.compress(mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(mib) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()[:-8]  # the final empty block, without this member's trailer
    crc = 0
    for _ in range(size >> 20):
        crc = zlib.crc32(mib, crc)
    return first + repeated * ((size >> 20) - 1) + end + struct.pack("<II", crc, size & 0xFFFFFFFF)


@pytest.fixture(scope="module")
def plain_bomb() -> bytes:
    """gzip of 1 GiB of zeros: about 1 MB."""
    bomb = gzip_of_zeros(GIB)
    assert len(bomb) < 1_100_000
    return bomb


@pytest.fixture(scope="module")
def nested_bomb(plain_bomb: bytes) -> bytes:
    """gzip of the plain bomb (``Content-Encoding: gzip, gzip``): about 2.5 KB."""
    bomb = _gzip(plain_bomb)
    assert len(bomb) < 4096
    return bomb


@pytest.fixture(scope="module")
def server() -> Iterator[EncodedServer]:
    with encoded_server() as running:
        yield running


@pytest.fixture(params=TRANSPORTS)
async def client(
    request: pytest.FixtureRequest, server: EncodedServer
) -> AsyncIterator[AsyncThingSpaceClient]:
    server.answers.clear()
    server.received.clear()
    async with AsyncThingSpaceClient(
        base_url=server.url, auth=ThingSpaceAuth(access_token="it-access"), speedups=request.param
    ) as client:
        yield client


def _peak_during_call(
    server: EncodedServer, bomb: bytes, encoding: str, speedups: bool
) -> dict[str, Any]:
    server.answers[WARM] = Answer(_gzip(b"[]"), "gzip")
    server.answers[BOMB] = Answer(bomb, encoding)
    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.integration._rss_child",
            server.url,
            WARM,
            BOMB,
            "1" if speedups else "0",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=100,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        },
    )
    assert child.returncode == 0, child.stderr
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["transport"] == ("aiohttp" if speedups else "httpx")
    return result


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads Linux's /proc")
@pytest.mark.parametrize("speedups", TRANSPORTS)
@pytest.mark.parametrize("kind", ["nested", "plain"])
def test_a_gzip_bomb_stops_at_the_limit_without_inflating(
    server: EncodedServer, nested_bomb: bytes, plain_bomb: bytes, kind: str, speedups: bool
) -> None:
    bomb, encoding = (nested_bomb, "gzip, gzip") if kind == "nested" else (plain_bomb, "gzip")
    result = _peak_during_call(server, bomb, encoding, speedups)
    assert result["error"] == "ResponseTooLargeError"
    growth_mib = (result["peak_kib"] - result["baseline_kib"]) / 1024
    # The limit (4 MiB) and a few decoding steps, about 5 MiB in all, not the gigabyte
    # it inflates to; inflating each network chunk whole took 30 MiB (a plain bomb on
    # aiohttp's 16 KiB chunks) to 2 GiB (the nested one).
    assert growth_mib < 24, f"peak RSS grew by {growth_mib:.0f} MiB during the call"


CHAINS = [
    ["gzip"],
    ["x-gzip"],
    ["deflate"],
    ["deflate-raw"],
    ["identity"],
    ["gzip", "gzip"],
    ["deflate", "gzip"],
    ["gzip", "identity", "deflate-raw"],
    pytest.param(["br"], marks=pytest.mark.skipif(not BROTLI_BOUNDED, reason="brotli >= 1.2")),
    pytest.param(
        ["gzip", "br"], marks=pytest.mark.skipif(not BROTLI_BOUNDED, reason="brotli >= 1.2")
    ),
    pytest.param(["zstd"], marks=pytest.mark.skipif(_ZSTD is None, reason="backports.zstd")),
]


@pytest.mark.parametrize("chain", CHAINS, ids=lambda chain: "+".join(chain))
async def test_every_offered_encoding_decodes_to_the_body(
    client: AsyncThingSpaceClient, server: EncodedServer, chain: list[str]
) -> None:
    encoding, body = encode(chain, BODY)
    server.answers[ANSWER] = Answer(body, encoding)
    raw = await client.location.with_raw_response.list(ANSWER)
    response = raw.http_response
    # Decoded once: what httpx hands out is the body, however it is read afterwards.
    assert raw.content == response.content == BODY
    assert response.read() == BODY
    assert b"".join([chunk async for chunk in response.aiter_bytes()]) == BODY
    assert response.json() == json.loads(BODY)
    assert response.headers["content-encoding"] == encoding
    await response.aclose()
    assert len(raw.parse()) == 400


async def test_only_what_can_be_decoded_within_bounds_is_offered(
    client: AsyncThingSpaceClient, server: EncodedServer
) -> None:
    server.answers[ANSWER] = Answer(b"[]")
    await client.location.list(ANSWER)
    offered = [name.strip() for name in server.received[-1]["accept-encoding"].split(",")]
    expected = ["gzip", "deflate"]
    expected += ["br"] if BROTLI_BOUNDED else []
    expected += ["zstd"] if _ZSTD is not None else []
    assert offered == expected


@pytest.mark.parametrize("chain", [["identity"], ["gzip"], ["gzip", "gzip"], ["deflate"]])
async def test_a_body_at_the_limit_passes_and_one_byte_more_is_refused(
    client: AsyncThingSpaceClient, server: EncodedServer, chain: list[str]
) -> None:
    limit = 300_000
    at_limit = b"[" + b" " * (limit - 2) + b"]"
    encoding, body = encode(chain, at_limit)
    server.answers[ANSWER] = Answer(body, encoding)
    assert await client.location.list(ANSWER, max_response_size=limit) == []
    encoding, body = encode(chain, at_limit[:-1] + b" ]")
    server.answers[ANSWER] = Answer(body, encoding)
    with pytest.raises(ResponseTooLargeError) as caught:
        await client.location.list(ANSWER, max_response_size=limit)
    assert caught.value.limit == limit
    assert caught.value.response.content == b""


async def test_a_compressed_body_larger_than_the_limit_is_refused_before_decoding(
    client: AsyncThingSpaceClient, server: EncodedServer
) -> None:
    # Past its end, a gzip stream's trailing bytes decode to nothing: they still count.
    body = _gzip(b"[]") + os.urandom(200_000)
    server.answers[ANSWER] = Answer(body, "gzip")
    with pytest.raises(ResponseTooLargeError):
        await client.location.list(ANSWER, max_response_size=100_000)


async def test_what_an_inner_layer_discards_still_counts(
    client: AsyncThingSpaceClient, server: EncodedServer
) -> None:
    # The inner gzip ends after "[]"; the 64 MiB of zeros behind it, which the outer
    # layer inflates to, decode to nothing and must not be inflated without limit.
    body = _gzip(_gzip(b"[]") + bytes(64 << 20))
    server.answers[ANSWER] = Answer(body, "gzip, gzip")
    with pytest.raises(ResponseTooLargeError):
        await client.location.list(ANSWER, max_response_size=1 << 20)


UNBOUNDED = ["compress", "aes128gcm", "gzip, gzip, gzip, gzip, gzip"]
UNBOUNDED += [] if BROTLI_BOUNDED else ["br"]
UNBOUNDED += [] if _ZSTD is not None else ["zstd"]


@pytest.mark.parametrize("encoding", UNBOUNDED)
async def test_an_encoding_not_decoded_within_bounds_is_refused_unread(
    client: AsyncThingSpaceClient, server: EncodedServer, encoding: str
) -> None:
    server.answers[ANSWER] = Answer(b"\x1f\x8b" + os.urandom(64), encoding)
    with pytest.raises(APIResponseValidationError) as caught:
        await client.location.list(ANSWER)
    assert caught.value.status_code == 200
    assert caught.value.headers["content-encoding"] == encoding
    assert f"encoded as {encoding!r}" in str(caught.value)
    assert caught.value.response.content == b""
    assert len(server.received) == 1  # not retried


async def test_a_corrupt_compressed_body_is_a_typed_error(
    client: AsyncThingSpaceClient, server: EncodedServer
) -> None:
    server.answers[ANSWER] = Answer(b"\x1f\x8b\x08\x00garbage that is not deflate", "gzip")
    with pytest.raises(APIConnectionError):
        await client.location.list(ANSWER, max_retries=0)


@pytest.mark.parametrize("piece", [1, 7, 4096])
@pytest.mark.parametrize(
    "chain", [chain for chain in CHAINS if chain != ["identity"]], ids=lambda chain: "+".join(chain)
)
def test_decoding_does_not_depend_on_how_the_body_is_cut(chain: list[str], piece: int) -> None:
    """A network may deliver any cut (a zlib header split in two, a gzip trailer alone);
    every piece decoded is one bounded step."""
    encoding, body = encode(chain, BODY * 8)
    decoder = decoder_for(encoding, httpx.Request("GET", "http://127.0.0.1/"), len(BODY) * 8)
    assert decoder is not None
    pieces: list[bytes] = []
    for at in range(0, len(body), piece):
        pieces += decoder.feed(body[at : at + piece])
    pieces += decoder.finish()
    assert b"".join(pieces) == BODY * 8
    # brotli rounds its output up to one of its blocks (32 KiB).
    assert max(map(len, pieces)) <= STEP + (32 * 1024 if "br" in chain else 0)


def test_codecs_that_cannot_cap_their_output_are_neither_offered_nor_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # brotli before 1.2 has no way to stop mid-block, and zstandard (httpx's zstd
    # decoder) none at all: with only those installed, br and zstd must be refused.
    class OldDecompressor:
        pass

    old_brotli = types.ModuleType("brotli")
    old_brotli.Decompressor = OldDecompressor  # type: ignore[attr-defined]
    real_import = importlib.import_module

    def import_module(name: str, package: str | None = None) -> types.ModuleType:
        if name == "brotli":
            return old_brotli
        if name in ("brotlicffi", "compression.zstd", "backports.zstd"):
            raise ImportError(name)
        return real_import(name, package)

    monkeypatch.setattr(importlib, "import_module", import_module)
    for cached in (_decode._brotli, _decode._zstd, _decode.accept_encoding):
        cached.cache_clear()
    try:
        assert _decode.accept_encoding() == "gzip, deflate"
        request = httpx.Request("GET", "https://thingspace.verizon.com/api/loc/v1/callbacks/a")
        for encoding in ("br", "zstd", "gzip, br"):
            with pytest.raises(_decode.UnsupportedEncodingError):
                _decode.decoder_for(encoding, request, 1 << 20)
    finally:
        monkeypatch.undo()
        for cached in (_decode._brotli, _decode._zstd, _decode.accept_encoding):
            cached.cache_clear()
