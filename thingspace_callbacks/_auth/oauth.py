"""OAuth 2 client credentials: the bearer token every ThingSpace call carries."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence

from pydantic import SecretStr

from .._checks import secret, text
from .._constants import DEFAULT_TOKEN_LIFETIME, OAUTH_TOKEN_PATH
from .._errors import InvalidArgumentError
from .base import AuthContext
from .endpoint import auth_failure, json_object, post_credentials
from .refusals import RefusalWords, refuses_credentials
from .renewing import Clock, RenewingCredential, log
from .tokens import Token, TokenCallback, TokenStore

__all__ = ["OAuthClientCredentials"]


class OAuthClientCredentials(RenewingCredential):
    """Gets bearer tokens from ``POST {root}/ts/v1/oauth2/token`` with the client
    credentials grant, caches them and renews them ``refresh_margin`` seconds before they
    expire (Verizon's tokens live an hour).

    However many requests need a token at once, one token request is made. A failed
    request raises :class:`AuthenticationError` with the provider's ``error`` code and
    description. When the failure refuses the client credentials (a 400, 401 or
    403), it is kept in the token store for ``refusal_ttl`` seconds, under a digest of
    the API root, client id, secret and scope, and later calls of every process sharing
    the store raise it without asking again, until the secret given changes or the
    refusal is cleared (:meth:`reset` here, :meth:`clear_refusal` anywhere); after
    server errors and connection failures, the next call asks again.
    """

    kind = "access_token"

    def __init__(
        self,
        client_id: str,
        client_secret: str | SecretStr,
        *,
        scope: str | Sequence[str] | None,
        refresh_margin: float,
        token_store: TokenStore | None,
        on_token: TokenCallback | None,
        clock: Clock | None,
        refusal_ttl: float,
    ) -> None:
        self.client_id = text(client_id, "client_id")
        """The application key (not a secret)."""
        self._client_secret = secret(client_secret, "client_secret")
        self.scope = _scope(scope)
        """The scopes asked for, space-separated, or ``None``."""
        super().__init__(
            refresh_margin=refresh_margin,
            default_lifetime=DEFAULT_TOKEN_LIFETIME,
            token_store=token_store,
            on_token=on_token,
            clock=clock,
            refusal_ttl=refusal_ttl,
        )

    @property
    def arguments(self) -> Mapping[str, object]:
        shown: dict[str, object] = {
            "client_id": self.client_id,
            "client_secret": self._client_secret,
        }
        if self.scope:
            shown["scope"] = self.scope
        return shown

    def _name(self, base_url: str) -> str:
        key = f"access_token:{base_url}:{self.client_id}"
        return f"{key}:{self.scope}" if self.scope else key

    def _refusal_secret(self) -> bytes:
        return self._client_secret.get_secret_value().encode()

    @property
    def _refusal_words(self) -> RefusalWords:
        return RefusalWords(
            what="OAuth token request",
            whose=f"client id {self.client_id!r}",
            why="the same client secret would be refused again",
            path=OAUTH_TOKEN_PATH,
        )

    async def _fetch(self, context: AuthContext) -> Token:
        pair = f"{self.client_id}:{self._client_secret.get_secret_value()}".encode()
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        response = await post_credentials(
            context,
            OAUTH_TOKEN_PATH,
            headers={"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")},
            data=form,
        )
        if refuses_credentials(response):
            raise await self._record_refusal(context, response)
        if not response.is_success:
            raise auth_failure(response, "OAuth token request failed")
        body = json_object(response)
        value = body.get("access_token")
        if not isinstance(value, str) or not value:
            raise auth_failure(response, "OAuth token answer has no access_token", keep_body=False)
        lifetime = _lifetime(body.get("expires_in"), DEFAULT_TOKEN_LIFETIME)
        scope = body.get("scope")
        log.debug("obtained an OAuth bearer token, expiring in %.0f s", lifetime)
        return Token(
            kind="access_token",
            value=SecretStr(value),
            expires_at=self._clock() + lifetime,
            scope=scope if isinstance(scope, str) else self.scope,
        )


def _scope(scope: str | Sequence[str] | None) -> str | None:
    if scope is None:
        return None
    if isinstance(scope, str):
        parts = scope.split()
    elif all(isinstance(part, str) for part in scope):
        parts = [word for part in scope for word in part.split()]
    else:
        raise InvalidArgumentError("'scope' must be a string or a sequence of strings")
    return " ".join(parts) or None


def _lifetime(value: object, default: float) -> float:
    """``expires_in`` as seconds; ThingSpace sends a number, some gateways a string."""
    if isinstance(value, bool):
        return default
    if isinstance(value, (int, float, str)):
        try:
            seconds = float(value)
        except ValueError:
            return default
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return default
