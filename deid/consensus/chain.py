"""The decision record's hash chain: every row carries a hash of its content and of the row
before it, so a row changed, removed or slipped in afterwards shows.

``row_hash = sha256("deid-record:<table>\\n" + prev_hash + "\\n" + JSON of the row's fields)``;
the first row follows :data:`GENESIS`. Rows are numbered 1, 2, 3, … and SQLite remembers the
highest number it ever gave (``sqlite_sequence``), so a gap or a removed last row shows too.
A chain proves that the rows are as they were written unless someone rewrote every hash after
the change: note the chain's head (the last row's hash, shown by ``python -m deid
verify-record``, the Consensus and Profiles pages and the exported record) to pin the record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

#: What the first row of a chain follows.
GENESIS = "0" * 64


def row_hash(table: str, prev_hash: str, fields: Sequence[object]) -> str:
    """The hash of one row: its table, the previous row's hash and its fields, in order."""
    content = json.dumps(list(fields), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"deid-record:{table}\n{prev_hash}\n{content}".encode()).hexdigest()


@dataclass(frozen=True)
class ChainRow:
    """One stored row: its number, the fields that are hashed, and the two stored hashes."""

    id: int
    fields: tuple[object, ...]
    prev_hash: str
    row_hash: str


@dataclass(frozen=True)
class ChainCheck:
    """Whether a table's chain holds, and where and why it breaks."""

    table: str
    n_rows: int
    holds: bool
    head: str
    broken_at: int | None = None
    problem: str = ""

    def summary(self) -> str:
        """One line: ``decisions: 12 rows, the hash chain holds (head 3fa2…)`` or where it
        breaks and why."""
        if self.holds:
            return (f"{self.table}: {self.n_rows:,} rows, the hash chain holds "
                    f"(head {self.head[:16]})")
        return f"{self.table}: the hash chain breaks at row #{self.broken_at}: {self.problem}"


def check_chain(table: str, rows: Sequence[ChainRow], highest_id: int | None = None
                ) -> ChainCheck:
    """Check the rows of one table, oldest first; ``highest_id`` is the highest row number the
    database ever gave (a removed last row leaves it above the last row)."""
    expected_prev, last_id = GENESIS, 0

    def broken(at: int, problem: str) -> ChainCheck:
        return ChainCheck(table, len(rows), False, expected_prev, at, problem)

    for row in rows:
        if row.id != last_id + 1:
            missing = (f"row #{last_id + 1} is missing" if row.id == last_id + 2 else
                       f"rows #{last_id + 1} to #{row.id - 1} are missing")
            return broken(row.id, f"{missing}: removed from the record (or renumbered)")
        if not row.row_hash:
            return broken(row.id, "the row has no hash: it was written outside deid")
        if row_hash(table, row.prev_hash, row.fields) != row.row_hash:
            return broken(row.id, "the row was changed after it was written (its content no "
                                  "longer matches its hash)")
        if row.prev_hash != expected_prev:
            return broken(row.id, "the row does not follow the one before it (a row before "
                                  "it was changed, removed or added)")
        expected_prev, last_id = row.row_hash, row.id
    if highest_id is not None and highest_id > last_id:
        return broken(last_id + 1, f"rows after #{last_id} were removed (the record had "
                                   f"numbered rows up to #{highest_id})")
    return ChainCheck(table, len(rows), True, expected_prev)
