"""Accounts files: one account a row, in a text or CSV file. Shared by ``bulk``'s
accounts file and a state file's ``accounts`` (:mod:`thingspace_callbacks.state`).

Blank rows and rows starting with ``#`` hold no account. A first row naming the
account column (``account``, ``accountName``, ``aname``, ``accountNumber``...) is a
header.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator

__all__ = ["HEADER_NAMES", "account_rows", "is_blank", "normal"]

HEADER_NAMES = frozenset(
    {"account", "accounts", "accountname", "aname", "accountnumber", "acc", "accountid"}
)
"""First-row cells that mark a header (compared lower-case, without ``_``, ``-``, spaces)."""


def is_blank(row: list[str]) -> bool:
    """Whether a row holds no account: empty, blank, or a ``#`` comment."""
    return not row or not "".join(row).strip() or row[0].lstrip().startswith("#")


def normal(cell: str) -> str:
    """A header cell as :data:`HEADER_NAMES` spells it."""
    return cell.strip().lower().replace("_", "").replace("-", "").replace(" ", "")


def account_rows(path: str) -> Iterator[tuple[int, str]]:
    """The accounts of the first column of ``path``, each with its 1-based line number.

    :raises OSError: the file cannot be read.
    :raises UnicodeDecodeError: it is not UTF-8 text.
    :raises csv.Error: it is not CSV.
    """
    with open(path, newline="", encoding="utf-8-sig") as stream:
        reader = csv.reader(stream)
        first = True
        for row in reader:
            if is_blank(row):
                continue
            if first:
                first = False
                if normal(row[0]) in HEADER_NAMES:
                    continue
            account = row[0].strip()
            if account:
                yield reader.line_num, account
