"""The slow digest of a secret kept where others may read it: the key of a refused
login's record in the token store, a queued job's listener password or URL in Redis, a
``bulk`` results line's.

PBKDF2-HMAC-SHA256, salted and with many rounds, so that whoever reads the digest
cannot cheaply try passwords against it. It costs tens of milliseconds of CPU: compute
it once per secret (and, in an event loop, in a worker thread). A process computes
each (secret, salt, rounds) once: the many clients of one process that share
credentials (short-lived clients, a web app's, a plan and then its apply) pay the
rounds once between them.

:func:`digest` writes a digest that says how it was made
(``pbkdf2_sha256$ITERATIONS$SALT$HEX``), so a reader can check a secret against it
(:func:`matches`) without knowing the salt beforehand.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import OrderedDict

__all__ = ["DIGEST_ITERATIONS", "digest", "matches", "parse_digest", "pbkdf2_sha256"]

SCHEME = "pbkdf2_sha256"
"""The first field of a :func:`digest`."""

DIGEST_ITERATIONS = 200_000
"""PBKDF2 rounds of a :func:`digest` unless told otherwise."""

_MAX_ITERATIONS = 10 * DIGEST_ITERATIONS
"""The most rounds a recorded digest may ask for: more is not ours, or an attempt to
make the reader spin."""


_COMPUTED_SIZE = 256
"""How many digests a process keeps (a few bytes each)."""

_computed: OrderedDict[bytes, str] = OrderedDict()
_computed_lock = threading.Lock()  # digests are computed in worker threads


def pbkdf2_sha256(secret: str | bytes, salt: str | bytes, iterations: int) -> str:
    """The PBKDF2-HMAC-SHA256 digest of ``secret`` with ``salt``, in hex; text is
    taken as UTF-8. Computed once per process for each (secret, salt, iterations):
    the process's recent digests are kept under a fast hash of the three (never the
    secret itself, which whoever reads the process's memory has anyway)."""
    raw_secret, raw_salt = _bytes(secret), _bytes(salt)
    key = hashlib.sha256(b"%d:%d:" % (iterations, len(raw_salt)) + raw_salt + raw_secret).digest()
    with _computed_lock:
        found = _computed.get(key)
        if found is not None:
            _computed.move_to_end(key)
            return found
    value = hashlib.pbkdf2_hmac("sha256", raw_secret, raw_salt, iterations).hex()
    with _computed_lock:
        _computed[key] = value
        if len(_computed) > _COMPUTED_SIZE:
            _computed.popitem(last=False)
    return value


def digest(secret: str, salt: str, iterations: int = DIGEST_ITERATIONS) -> str:
    """``secret`` as it is recorded: ``pbkdf2_sha256$ITERATIONS$SALT$HEX``."""
    return f"{SCHEME}${iterations}${salt}${pbkdf2_sha256(secret, salt, iterations)}"


def parse_digest(recorded: object) -> tuple[int, str] | None:
    """The iterations and salt of a recorded :func:`digest`; ``None`` when it is not
    one (or would take unreasonably long to check)."""
    if not isinstance(recorded, str):
        return None
    scheme, _, rest = recorded.partition("$")
    iterations, _, rest = rest.partition("$")
    salt, _, _ = rest.partition("$")
    # ASCII only: int() would refuse digits such as "²", and compare_digest() any
    # text that is not ASCII; neither is in a digest of ours.
    if scheme != SCHEME or not (iterations.isascii() and iterations.isdigit()):
        return None
    if not salt or not recorded.isascii():
        return None
    if not 0 < int(iterations) <= _MAX_ITERATIONS:
        return None
    return int(iterations), salt


def matches(secret: str, recorded: object) -> bool:
    """Whether ``recorded`` is the :func:`digest` of ``secret`` (compared in constant
    time); a digest of another scheme, or of unreasonably many rounds, is not."""
    parsed = parse_digest(recorded)
    if parsed is None:
        return False
    iterations, salt = parsed
    return hmac.compare_digest(str(recorded), digest(secret, salt, iterations))


def _bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value
