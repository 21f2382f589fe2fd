"""The slow digest of a secret kept where others may read it: the key of a refused
login's record in the token store, a queued job's listener password or URL in Redis, a
``bulk`` results line's.

PBKDF2-HMAC-SHA256, salted and with many rounds, so that whoever reads the digest
cannot cheaply try passwords against it. It costs tens of milliseconds of CPU: compute
it once per secret (and, in an event loop, in a worker thread).

:func:`digest` writes a digest that says how it was made
(``pbkdf2_sha256$ITERATIONS$SALT$HEX``), so a reader can check a secret against it
(:func:`matches`) without knowing the salt beforehand.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["DIGEST_ITERATIONS", "digest", "matches", "parse_digest", "pbkdf2_sha256"]

SCHEME = "pbkdf2_sha256"
"""The first field of a :func:`digest`."""

DIGEST_ITERATIONS = 200_000
"""PBKDF2 rounds of a :func:`digest` unless told otherwise."""

_MAX_ITERATIONS = 10 * DIGEST_ITERATIONS
"""The most rounds a recorded digest may ask for: more is not ours, or an attempt to
make the reader spin."""


def pbkdf2_sha256(secret: str | bytes, salt: str | bytes, iterations: int) -> str:
    """The PBKDF2-HMAC-SHA256 digest of ``secret`` with ``salt``, in hex; text is
    taken as UTF-8."""
    return hashlib.pbkdf2_hmac("sha256", _bytes(secret), _bytes(salt), iterations).hex()


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
