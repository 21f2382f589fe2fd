"""The secrets a worker was given (the callback password, listener URLs with
userinfo), revealed to each job that carries their digest: jobs travel through Redis
with digests only (see :mod:`._jobs`). Apart from the jobs a worker runs
(:mod:`._worker`) as the one place that holds the worker's secrets in the clear.
"""

from __future__ import annotations

from collections.abc import Iterable

import anyio
from pydantic import SecretStr

from .._digest import matches
from .._redact import redact_url
from ._jobs import Refused, has_userinfo

__all__ = ["Secrets"]


class Secrets:
    """The secrets a worker was given, revealed to a job that carries their digest."""

    def __init__(self, password: str | SecretStr | None, urls: Iterable[str]) -> None:
        self._password = SecretStr(password) if isinstance(password, str) else password
        self._urls = [url for url in urls if has_userinfo(url)]
        self._known: dict[str, str | None] = {}
        self._lock = anyio.Lock()

    async def password(self, recorded: str) -> SecretStr:
        candidates = [self._password.get_secret_value()] if self._password else []
        found = await self._reveal(recorded, candidates)
        if found is None:
            raise Refused(
                "the job's callback password is not this worker's: give the worker the "
                "same one (worker --callback-password or $THINGSPACE_CALLBACK_PASSWORD; "
                "worker_settings(callback_password=...))"
            )
        return SecretStr(found)

    async def url(self, masked: str, recorded: str) -> str:
        candidates = [url for url in self._urls if redact_url(url) == masked]
        found = await self._reveal(recorded, candidates)
        if found is None:
            raise Refused(
                f"the job's listener URL {masked} has credentials this worker was not "
                "given: pass the URL to the worker (worker --url; "
                "worker_settings(listener_urls=[...]))"
            )
        return found

    async def _reveal(self, recorded: str, candidates: list[str]) -> str | None:
        # One digest per run, computed once (in a thread: it takes a tenth of a
        # second) however many jobs ask at once.
        async with self._lock:
            if recorded not in self._known:
                self._known[recorded] = await anyio.to_thread.run_sync(
                    _first_match, recorded, candidates
                )
            return self._known[recorded]


def _first_match(recorded: str, candidates: list[str]) -> str | None:
    return next((secret for secret in candidates if matches(secret, recorded)), None)
