"""The queue's job format: what travels through Redis between :func:`enqueue_fan_out`
and the workers of :func:`worker_settings` (or ``thingspace-callbacks worker``), which
share nothing else.

- A job carries a chunk of the run's accounts (:data:`DEFAULT_CHUNK_SIZE` by
  default). Its id is a digest of the operation, its arguments, the API root and the
  chunk's accounts, and arq adds no job whose id is queued, running or kept as a
  result.
- Jobs carry no secret in clear: a callback password, or the userinfo of a listener
  URL, travels as a salted PBKDF2 digest (``pbkdf2_sha256$ITERATIONS$SALT$HEX``); the
  worker is given the secret itself and runs a job only when it matches the digest.
- Each account's outcome is a JSON object (``account``, ``ok``, ``attempts``,
  ``elapsed``, then ``value`` or ``error``), which the enqueuing side reads back as a
  :class:`QueuedResult`. A job's result is ``{"outcomes": [...]}``, one per account;
  the worker announces them in batches as ``{"job": ID, "results": [...]}``, the last
  with ``"partial": true`` when the job ran out of time before some of its accounts
  (left out of its result: its run queues them again).
- The format has a version (:data:`JOB_VERSION`); a worker refuses a job of another
  (``JobRefused``, saying so) rather than misreading it.

Jobs and results are JSON (:func:`serialize`, :func:`deserialize`: arq's serializers
on both sides): a job read from Redis is data, never code, unlike arq's default pickle.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import SecretStr

from .._checks import count
from .._constants import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE
from .._digest import digest
from .._errors import InvalidArgumentError
from .._families import FAMILIES
from .._redact import redact_url

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "FUNCTION_NAME",
    "JOB_VERSION",
    "MAX_CHUNK_SIZE",
    "QUEUE_NAME",
    "Call",
    "QueuedResult",
    "Refused",
    "checked_chunk_size",
    "deserialize",
    "failed_result",
    "has_userinfo",
    "job_fields",
    "outcomes_of",
    "refusal",
    "result_of",
    "serialize",
]

QUEUE_NAME = "thingspace:queue"
"""The arq queue the jobs go to unless told otherwise."""
FUNCTION_NAME = "thingspace_callbacks.call"
"""The arq function name of every job."""

JOB_VERSION = 2
"""The job format: 1 carried one account (``account``), 2 a chunk (``accounts``)."""
_DIGEST_VERSION = 1
"""What a run's key and its secrets' salt derive from, beside the work: unchanged by
format 2, so a run's digests are those format 1 made."""
_OPERATIONS: dict[str, tuple[str, str]] = {
    family.operation(verb): (family.name, verb) for family in FAMILIES for verb in family.verbs
}
"""Every ``"FAMILY.VERB"`` a job may name: the verbs each family's sub-client speaks."""
_KEYWORDS: dict[str, frozenset[str]] = {
    family.name: frozenset(family.register_keywords) for family in FAMILIES
}
"""The ``register`` keywords of each family."""

# -- serialization -----------------------------------------------------------------------


def _encode(value: object) -> object:
    # arq stores what a job raised as its result; JSON keeps its type and message.
    if isinstance(value, BaseException):
        return {"error": {"type": type(value).__name__, "message": str(value)}}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def serialize(data: dict[str, Any]) -> bytes:
    """arq's ``job_serializer`` for these jobs: JSON, exceptions as their type and
    message."""
    return json.dumps(data, separators=(",", ":"), default=_encode).encode()


def deserialize(raw: bytes) -> dict[str, Any]:
    """arq's ``job_deserializer`` for these jobs."""
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


# -- secrets as digests ------------------------------------------------------------------


def has_userinfo(url: str | None) -> bool:
    """Whether ``url`` holds credentials, which a job carries only as a digest."""
    return url is not None and redact_url(url) != url


def _sha256(value: object) -> str:
    return hashlib.sha256(json.dumps(value, separators=(",", ":")).encode()).hexdigest()


# -- the job -----------------------------------------------------------------------------


class Refused(Exception):  # noqa: N818 - a job's fate, not a bug
    """A job this worker will not run; its outcome is a failure saying why."""


@dataclass(frozen=True)
class Call:
    """An operation and its arguments, the same for every account of a run."""

    family: str
    verb: str
    service: str | None = None
    url: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    base_url: str | None = None

    @classmethod
    def parse(cls, operation: str, base_url: str | None, **arguments: Any) -> Call:
        if operation not in _OPERATIONS:
            raise InvalidArgumentError(
                f"operation {operation!r}: expected FAMILY.VERB, one of {', '.join(_OPERATIONS)}"
            )
        family, verb = _OPERATIONS[operation]
        given = {name: value for name, value in arguments.items() if value is not None}
        _check_arguments(operation, _accepts(family, verb), given)
        password = given.pop("password", None)
        secret = SecretStr(password) if isinstance(password, str) else password
        return cls(family, verb, password=secret, base_url=base_url, **given)

    @property
    def _plain(self) -> list[Any]:
        """Everything but the secrets, which only their digests stand for."""
        return [
            _DIGEST_VERSION,
            self.family,
            self.verb,
            self.service,
            redact_url(self.url) if self.url else None,
            self.username,
            redact_url(self.base_url) if self.base_url else None,
        ]

    @cached_property
    def digests(self) -> dict[str, str | None]:
        """The secrets, digested with a salt derived from the rest: the same run
        digests them the same way, so its job ids do not change."""
        salt = _sha256(self._plain)[:32]
        password = self.password.get_secret_value() if self.password else None
        return {
            "password": digest(password, salt) if password is not None else None,
            "urlDigest": digest(self.url, salt) if self.url and has_userinfo(self.url) else None,
        }

    @cached_property
    def run_key(self) -> str:
        """Names the run: the work without the accounts."""
        return _sha256([self._plain, self.digests])[:32]

    def job_key(self, accounts: Iterable[str], replaces: Iterable[str] = ()) -> str:
        """The id of the job of ``accounts`` in this run, without its prefix: the same
        whatever their order. A job running again the failures kept by earlier jobs
        (``replaces``, their ids) gets an id of its own, so that an announcement of
        those jobs is never taken for one of it."""
        key: list[Any] = [self.run_key, sorted(accounts)]
        replaced = sorted(replaces)
        return _sha256([*key, replaced] if replaced else key)[:40]

    def payload(self, accounts: list[str], notify: str, trace: str | None = None) -> dict[str, Any]:
        """What the job carries: the plain arguments, the secrets' digests, the
        accounts, and the run's trace context (a W3C ``traceparent``) when it has one."""
        _, family, verb, service, url, username, base_url = self._plain
        traced = {"trace": trace} if trace else {}
        return {
            "v": JOB_VERSION,
            "family": family,
            "verb": verb,
            "service": service,
            "url": url,
            "username": username,
            "baseUrl": base_url,
            **self.digests,
            "notify": notify,
            "accounts": accounts,
            **traced,
        }


def checked_chunk_size(value: object) -> int:
    """``chunk_size`` checked: accounts per job, 1 to :data:`MAX_CHUNK_SIZE`."""
    size = count(value, "chunk_size", minimum=1)
    if size > MAX_CHUNK_SIZE:
        raise InvalidArgumentError(f"'chunk_size' must be at most {MAX_CHUNK_SIZE}, got {size}")
    return size


def _accepts(family: str, verb: str) -> set[str]:
    """The keyword arguments ``client.FAMILY.VERB`` takes, of those a job carries."""
    keywords = _KEYWORDS[family]
    if verb in ("register", "update"):  # FOTA's update takes register's keywords
        return {"service", "url", "username", "password"} & keywords
    return {"service"} & keywords if verb == "unregister" else set()


def _check_arguments(operation: str, accepted: set[str], given: dict[str, object]) -> None:
    unexpected = sorted(set(given) - accepted)
    if unexpected:
        names = ", ".join(repr(name) for name in unexpected)
        raise InvalidArgumentError(f"{operation} takes no {names}")
    for name, value in given.items():
        allowed = (str, SecretStr) if name == "password" else (str,)
        if not isinstance(value, allowed):
            raise InvalidArgumentError(f"'{name}' must be a str, not {type(value).__name__}")


def job_fields(job: object) -> tuple[dict[str, str | None], list[str]]:
    """The fields of a job payload, checked (every one a string or ``None``), and its
    accounts."""
    if not isinstance(job, dict):
        raise Refused("not a job of thingspace-callbacks")
    if job.get("v") != JOB_VERSION:
        raise Refused(
            f"the job is of format {job.get('v')!r}, made by another version of "
            f"thingspace-callbacks; this worker runs format {JOB_VERSION}: run workers of "
            "the version that enqueued it, or enqueue it again with this one"
        )
    accounts = job.get("accounts")
    fields = {key: value for key, value in job.items() if key not in ("v", "accounts")}
    if not all(_is_text(value) for value in fields.values()):
        raise Refused("a job field is not a string")
    family, verb = fields.get("family"), fields.get("verb")
    if f"{family}.{verb}" not in _OPERATIONS:
        raise Refused(f"unknown operation {family}.{verb}")
    if not isinstance(accounts, list) or not accounts:
        raise Refused("the job names no account")
    if len(accounts) > MAX_CHUNK_SIZE:
        raise Refused(f"the job names more than {MAX_CHUNK_SIZE} accounts")
    if not all(isinstance(account, str) and account for account in accounts):
        raise Refused("an account of the job is not a string")
    return fields, list(dict.fromkeys(accounts))


def _is_text(value: object) -> bool:
    return value is None or isinstance(value, str)


# -- the outcome -------------------------------------------------------------------------


def _failure(account: object, error: dict[str, Any]) -> dict[str, Any]:
    return {"account": account, "ok": False, "attempts": 0, "elapsed": 0.0, "error": error}


def refusal(job: object, message: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A refused job's result and its announcement entry (without ``job``): a failure
    per account, or, for a job of format 1 (``account``), the one outcome that format
    had, so that its enqueuing side reads the refusal too."""
    error = {"type": "JobRefused", "message": message}
    fields = job if isinstance(job, dict) else {}
    accounts = fields.get("accounts")
    if "account" in fields and not isinstance(accounts, list):
        outcome = _failure(fields["account"], error)
        return outcome, {"result": outcome}
    named = accounts if isinstance(accounts, list) else []
    outcomes = [_failure(account, error) for account in named if isinstance(account, str)]
    return {"outcomes": outcomes}, {"results": outcomes}


@dataclass(frozen=True, slots=True)
class QueuedResult:
    """What happened to one account of a queued run."""

    account: str
    ok: bool
    """Whether the call returned (``value`` is set) rather than failed (``error`` is)."""
    value: Any
    """What the operation returned, as JSON data (models by their camelCase names,
    credential-like fields masked)."""
    error: dict[str, Any] | None
    """``type`` and ``message``; for an answer of ThingSpace also ``status``,
    ``errorCode``, ``errorMessage`` and ``requestId``. A job a worker refused (a secret
    it was not given, another API root) has type ``JobRefused``."""
    attempts: int
    """HTTP attempts the call made (0 when nothing was sent)."""
    elapsed: float
    """Seconds the call took on the worker."""
    job_id: str
    """The id of the job (a chunk of the run's accounts) that gave it."""


def result_of(job_id: str, account: str, outcome: object) -> QueuedResult:
    """``outcome`` as a job returned it, checked."""
    if not isinstance(outcome, dict) or not isinstance(outcome.get("ok"), bool):
        error = outcome.get("error") if isinstance(outcome, dict) else None
        return failed_result(job_id, account, error if isinstance(error, dict) else outcome)
    attempts, elapsed = outcome.get("attempts"), outcome.get("elapsed")
    error = outcome.get("error")
    return QueuedResult(
        account,
        outcome["ok"],
        outcome.get("value"),
        None if outcome["ok"] else (error if isinstance(error, dict) else {"type": "Error"}),
        attempts if isinstance(attempts, int) else 0,
        float(elapsed) if isinstance(elapsed, (int, float)) else 0.0,
        job_id,
    )


def outcomes_of(job_id: str, result: object) -> Callable[[str], QueuedResult | None]:
    """A kept job result, as each account's outcome (``None``: the result has none for
    that account). A job that failed as a whole (it ran too long, was started too
    often, or a worker of format 1 refused it) fails each of its accounts alike."""
    outcomes = result.get("outcomes") if isinstance(result, dict) else None
    if isinstance(outcomes, list):
        found = {
            outcome["account"]: result_of(job_id, outcome["account"], outcome)
            for outcome in outcomes
            if isinstance(outcome, dict) and isinstance(outcome.get("account"), str)
        }
        return found.get
    return lambda account: result_of(job_id, account, result)


def failed_result(job_id: str, account: str, error: object, elapsed: float = 0.0) -> QueuedResult:
    """A job arq gave up on: it expired, ran too long, or was started too often."""
    if isinstance(error, dict) and isinstance(error.get("error"), dict):
        error = error["error"]  # what the JSON serializer made of an exception
    if isinstance(error, BaseException):
        data = {"type": type(error).__name__, "message": str(error)}
    elif isinstance(error, dict) and isinstance(error.get("type"), str):
        data = {"type": error["type"], "message": str(error.get("message") or "")}
    else:
        data = {"type": "JobFailed", "message": str(error)}
    if data["type"] == "TimeoutError" and not data["message"]:
        data["message"] = "the job ran longer than the worker's job timeout"
    data["message"] = data["message"] or data["type"]
    return QueuedResult(account, False, None, data, 0, elapsed, job_id)
