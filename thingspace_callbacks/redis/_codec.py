"""How a token is written to Redis: a fingerprint to compare it by, then the token as
JSON, sealed with Fernet when an encryption key is given."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from .._auth.tokens import Token
from .._errors import InvalidArgumentError
from .._extras import install_command
from ._connection import log

if TYPE_CHECKING:
    from cryptography.fernet import Fernet
    from pydantic import SecretStr

__all__ = ["FINGERPRINT_SIZE", "Codec"]

FINGERPRINT_SIZE = 32
"""Hex digits of the fingerprint that starts every stored value."""


class Codec:
    """Turns tokens into stored values and back.

    A stored value is ``FINGERPRINT:PAYLOAD``. The fingerprint is the first 128 bits of
    SHA-256 over the token's kind and value, which lets a Lua script compare tokens
    without reading them, and never reveals one (tokens are long random strings). The
    payload is :meth:`Token.to_dict` as JSON, or that JSON sealed with Fernet
    (AES-128-CBC with HMAC-SHA256) under ``encryption_key``: then Redis never holds a
    token in the clear, and a value that was not sealed with the key is refused.
    """

    __slots__ = ("_fernet",)

    def __init__(self, encryption_key: str | bytes | SecretStr | None) -> None:
        self._fernet = None if encryption_key is None else _fernet(encryption_key)

    @property
    def encrypted(self) -> bool:
        """Whether values are sealed with an encryption key."""
        return self._fernet is not None

    @staticmethod
    def fingerprint(token: Token) -> str:
        """What a stored value starts with, for comparing tokens in Redis."""
        text = f"{token.kind}:{token.value.get_secret_value()}"
        return hashlib.sha256(text.encode()).hexdigest()[:FINGERPRINT_SIZE]

    def encode(self, token: Token) -> bytes:
        """The value to store for ``token``."""
        payload = json.dumps(token.to_dict(), separators=(",", ":")).encode()
        if self._fernet is not None:
            payload = self._fernet.encrypt(payload)
        return self.fingerprint(token).encode() + b":" + payload

    def decode(self, value: bytes) -> Token | None:
        """The token in a stored value, or ``None`` (with a warning) when it cannot be
        read: sealed with another key, not sealed although a key is set, or damaged."""
        _, _, payload = value.partition(b":")
        try:
            if self._fernet is not None:
                payload = self._fernet.decrypt(payload)
            return Token.from_dict(json.loads(payload))
        except Exception as exc:
            # The exception's text is not logged: it could quote the payload.
            log.warning(
                "ignored a token in Redis that could not be read (%s); %s",
                type(exc).__name__,
                "is it sealed with another encryption key?"
                if self._fernet is not None
                else "is it sealed with an encryption key this process lacks?",
            )
            return None

    def __repr__(self) -> str:
        return f"Codec(encrypted={self.encrypted})"


def _fernet(key: object) -> Fernet:
    try:
        from cryptography.fernet import Fernet
    except ImportError:
        raise InvalidArgumentError(
            f"'encryption_key' needs the cryptography package: {install_command('redis')}"
        ) from None
    from pydantic import SecretStr

    raw = key.get_secret_value() if isinstance(key, SecretStr) else key
    if not isinstance(raw, (str, bytes)):
        raise InvalidArgumentError(
            f"'encryption_key' must be a str, bytes or SecretStr, not {type(key).__name__}"
        )
    try:
        return Fernet(raw)
    except ValueError:
        # Not chained: the error could show the key.
        raise InvalidArgumentError(
            "'encryption_key' must be a Fernet key, 32 url-safe base64-encoded bytes "
            "(make one with cryptography.fernet.Fernet.generate_key())"
        ) from None
