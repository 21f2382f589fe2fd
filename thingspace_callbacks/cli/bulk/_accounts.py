"""The accounts of a bulk run: a text or CSV file (or stdin), read lazily, each
account once."""

from __future__ import annotations

import contextlib
import csv
import itertools
import os
import sys
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass

from ..._account_rows import HEADER_NAMES as _HEADER_NAMES
from ..._account_rows import is_blank as _is_blank
from ..._account_rows import normal as _normal
from .._common import UsageFailure

__all__ = ["AccountFile", "Scan"]


@dataclass
class Scan:
    """What reading the accounts found besides the accounts to do."""

    todo: int = 0
    skipped: int = 0
    """Accounts whose last results line succeeded (``--resume``)."""
    duplicates: int = 0
    """Accounts listed again after their first row."""


class AccountFile:
    """The accounts of a text or CSV file (``-``: stdin), one per row, read lazily.

    Blank rows and rows starting with ``#`` are skipped. The account is the first
    column, or ``column`` (a 1-based number or a header name). A first row naming the
    column (``account``, ``accountName``, ``aname``, ``accountNumber``...) is a header.
    """

    def __init__(self, path: str, column: str | None = None) -> None:
        self.path = path
        self.column = column
        if path != "-":
            if not os.path.exists(path):
                raise UsageFailure(f"accounts file {path!r} does not exist")
            if not os.path.isfile(path):
                raise UsageFailure(f"accounts file {path!r} is not a file")
            if not os.access(path, os.R_OK):
                raise UsageFailure(f"accounts file {path!r} cannot be read")
        if column is not None and column.isdigit() and int(column) < 1:
            raise UsageFailure("--column numbers start at 1")
        self._stdin: Iterator[list[str]] | None = None
        self._peeked: list[list[str]] = []
        """Rows of stdin read by :meth:`check`, handed out again by :meth:`read`."""

    def check(self) -> None:
        """Refuse a file whose first row is not text or lacks the ``--column`` named,
        before anything is sent (stdin too: its rows read here are kept for
        :meth:`read`)."""
        if self.path == "-":
            for row in self._read_stdin():
                self._peeked.append(row)
                if not _is_blank(row):
                    self._locate(row)
                    return
            return
        with contextlib.closing(self._rows()) as rows:
            next(rows, None)

    def read(self, skip: frozenset[str] = frozenset(), scan: Scan | None = None) -> Iterator[str]:
        """Yield every account once, except those in ``skip``; count in ``scan``."""
        scan = scan if scan is not None else Scan()
        seen: set[str] = set()
        for account in self._rows():
            if account in seen:
                scan.duplicates += 1
            elif account in skip:
                seen.add(account)
                scan.skipped += 1
            else:
                seen.add(account)
                scan.todo += 1
                yield account

    def scan(self, skip: frozenset[str] = frozenset()) -> Scan | None:
        """What :meth:`read` finds; ``None`` for stdin (read once only)."""
        if self.path == "-":
            return None
        scan = Scan()
        for _ in self.read(skip, scan):
            pass
        return scan

    def _rows(self) -> Generator[str, None, None]:
        if self.path == "-":
            yield from self._accounts(itertools.chain(self._peeked, self._read_stdin()))
            return
        with open(self.path, newline="", encoding="utf-8-sig") as stream:
            yield from self._accounts(self._csv(csv.reader(stream)))

    def _read_stdin(self) -> Iterator[list[str]]:
        if self._stdin is None:
            # One reader for the whole run: check() reads its first rows, read() the rest.
            self._stdin = self._csv(csv.reader(sys.stdin))
        return self._stdin

    def _csv(self, reader: Iterator[list[str]]) -> Iterator[list[str]]:
        """The rows of ``reader``; what cannot be read is refused in one line."""
        try:
            yield from reader
        except UnicodeDecodeError:
            raise UsageFailure(f"accounts file {self.path!r} is not UTF-8 text") from None
        except csv.Error as exc:
            raise UsageFailure(f"accounts file {self.path!r} cannot be read: {exc}") from None

    def _accounts(self, rows: Iterable[list[str]]) -> Iterator[str]:
        index: int | None = None
        for row in rows:
            if _is_blank(row):
                continue
            if index is None:
                index, header = self._locate(row)
                if header:
                    continue
            account = row[index].strip() if index < len(row) else ""
            if account:
                yield account

    def _locate(self, first_row: list[str]) -> tuple[int, bool]:
        """The account column's index, and whether ``first_row`` is a header."""
        cells = [_normal(cell) for cell in first_row]
        column = self.column
        if column is not None and not column.isdigit():
            wanted = _normal(column)
            if wanted not in cells:
                raise UsageFailure(f"no column {column!r} in the header of {self.path!r}")
            return cells.index(wanted), True
        index = int(column) - 1 if column is not None else 0
        header = index < len(cells) and cells[index] in _HEADER_NAMES
        return index, header
