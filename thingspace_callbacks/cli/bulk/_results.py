"""The results file: one JSON line per account's final outcome, appended as outcomes
arrive; reading it back for ``--resume`` (what it records, the salt of its digests) and
compacting it to one line per account."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from ..._digest import parse_digest
from ..._error_data import error_data
from ..._redact import redact
from ...models._base import plain_data
from .._common import UsageFailure
from ._plan import SECRET_KEYS, WORK_KEYS, Plan, Work, differences

if TYPE_CHECKING:
    from typing_extensions import Self

    from ..._fanout import FanOutResult
    from ...redis import QueuedResult

__all__ = ["Recorded", "ResultSink", "compact", "lines", "queued_line", "result_line"]


def lines(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The whole lines of a results file, numbered; lines cut short by a crash (and
    anything else that is not a line of ours) are left out."""
    # Split on "\n" only, as the binary pass of compact() does, so line numbers agree.
    with open(path, encoding="utf-8", errors="replace", newline="\n") as stream:
        for number, line in enumerate(stream):
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict) and isinstance(data.get("account"), str):
                yield number, data


@dataclass
class Recorded:
    """What an existing results file says."""

    path: str
    outcomes: dict[str, bool] = field(default_factory=dict)
    """Each account's last outcome."""
    works: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The distinct works recorded, by their JSON."""

    @classmethod
    def read(cls, path: str) -> Recorded:
        recorded = cls(path)
        for _, line in lines(path):
            recorded.outcomes[line["account"]] = line.get("ok") is True
            work = {key: line.get(key) for key in (*WORK_KEYS, *SECRET_KEYS)}
            recorded.works.setdefault(json.dumps(work, sort_keys=True), work)
        return recorded

    @property
    def succeeded(self) -> frozenset[str]:
        return frozenset(account for account, ok in self.outcomes.items() if ok)

    @property
    def salt(self) -> str | None:
        """The salt of the digests already recorded, so that every line agrees."""
        for work in self.works.values():
            for key in SECRET_KEYS:
                parsed = parse_digest(work.get(key))
                if parsed is not None:
                    return parsed[1]
        return None

    def check(self, plan: Plan, base_url: str) -> None:
        """Refuse to resume when any line records other work than ``plan``'s."""
        for work in self.works.values():
            found = differences(work, plan, base_url)
            if found:
                raise UsageFailure(
                    f"{self.path!r} records another run ({'; '.join(found)}): --resume would "
                    "skip work that was not done. Nothing was done; use another "
                    "--results file, or repeat the recorded command to resume it"
                )


def _account(line: dict[str, Any]) -> object:
    return line["account"]


def compact(path: str, key: Callable[[dict[str, Any]], object] = _account) -> None:
    """Rewrite a results file to one line per ``key`` (per account), its last, in file
    order; torn lines go. Atomic: a temporary file beside it replaces it."""
    last = {key(line): number for number, line in lines(path)}
    keep = set(last.values())
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix=".results-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as target, open(path, "rb") as source:
            for number, line in enumerate(source):
                if number in keep:
                    target.write(line if line.endswith(b"\n") else line + b"\n")
            target.flush()
            os.fsync(target.fileno())
        os.chmod(temporary, stat.S_IMODE(os.stat(path).st_mode))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def result_line(result: FanOutResult[str, object], work: Work, message: str) -> str:
    """One JSON line for a final outcome; secrets in answers are masked."""
    if result.ok:
        outcome = {"value": redact(plain_data(result.value))}
    else:
        outcome = {"error": error_data(result.error, message)}
    return _json_line(result.account, result.ok, work, result.attempts, result.elapsed, outcome)


def queued_line(result: QueuedResult, work: Work) -> str:
    """The line of a job's outcome: the same as :func:`result_line`'s."""
    outcome = {"value": result.value} if result.ok else {"error": result.error}
    return _json_line(
        result.account, result.ok, work, result.attempts, result.elapsed, redact(outcome)
    )


def _json_line(
    account: str, ok: bool, work: Work, attempts: int, elapsed: float, outcome: dict[str, Any]
) -> str:
    data: dict[str, Any] = {"account": account, "ok": ok, **work.fields}
    data.update(attempts=attempts, elapsed=round(elapsed, 6), **outcome)
    return json.dumps(data, separators=(",", ":"), default=str) + "\n"


class ResultSink:
    """Appends result lines to a file (flushed line by line) or stdout (``-``); a sink
    that continues a file compacts it when it closes, however the run ended."""

    def __init__(
        self,
        path: str | None,
        *,
        resuming: bool = False,
        key: Callable[[dict[str, Any]], object] = _account,
    ) -> None:
        self.path = path
        self.resuming = resuming and path not in (None, "-")
        self.key = key
        """What a compacted file keeps one line of (the account)."""
        self._stream: IO[str] | None = None

    def __enter__(self) -> Self:
        if self.path == "-":
            self._stream = sys.stdout
        elif self.path is not None:
            _end_with_newline(self.path)
            self._stream = open(self.path, "a", encoding="utf-8", buffering=1)
        return self

    def write(self, line: str) -> None:
        if self._stream is not None:
            self._stream.write(line)
            if self._stream is sys.stdout:
                self._stream.flush()

    def __exit__(self, *exc_info: object) -> None:
        if self._stream is None or self._stream is sys.stdout:
            return
        self._stream.close()
        if self.resuming and self.path is not None:
            compact(self.path, self.key)


def _end_with_newline(path: str) -> None:
    """After a crash mid-line, start the next line on a line of its own."""
    with contextlib.suppress(FileNotFoundError), open(path, "rb+") as existing:
        if existing.seek(0, os.SEEK_END) > 0:
            existing.seek(-1, os.SEEK_END)
            if existing.read(1) != b"\n":
                existing.write(b"\n")
