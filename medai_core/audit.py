"""Append-only SQLite audit log of analyses, with a hash chain that reveals tampering.

One row per analysis: UTC time, page, model id and version, the input's sha256, and the outputs as canonical JSON.
Each row stores ``row_hash = sha256(prev_hash + canonical row)``, so editing, deleting or reordering any row breaks
every hash after it, which :meth:`AuditLog.verify` finds. Triggers refuse UPDATE and DELETE through SQLite itself.
No names and no patient identifiers are stored: the input is known only by its hash.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from medai_core.config import get_settings
from medai_core.serialization import json_default

__all__ = [
    "AuditLog",
    "AuditRow",
    "AuditVerification",
    "GENESIS_HASH",
]

GENESIS_HASH = "0" * 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS analyses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time_utc TEXT NOT NULL,
    page TEXT NOT NULL,
    model_id TEXT NOT NULL,
    model_version TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    outputs_json TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    row_hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS analyses_no_update BEFORE UPDATE ON analyses
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS analyses_no_delete BEFORE DELETE ON analyses
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


@dataclass(frozen=True)
class AuditRow:
    """One logged analysis."""

    id: int
    time_utc: str
    page: str
    model_id: str
    model_version: str
    input_sha256: str
    outputs: Mapping[str, Any]
    prev_hash: str
    row_hash: str


@dataclass(frozen=True)
class AuditVerification:
    """The result of checking the hash chain.

    Attributes:
        ok: True when every row's hash matches and links to the previous row.
        rows: number of rows checked.
        first_bad_id: id of the first row that fails, or None.
        reason: why it fails, or None.
    """

    ok: bool
    rows: int
    first_bad_id: int | None = None
    reason: str | None = None


def _row_hash(prev_hash: str, fields: tuple[str, ...]) -> str:
    canonical = json.dumps([prev_hash, *fields], separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _canonical_outputs(outputs: Mapping[str, Any]) -> str:
    return json.dumps(outputs, sort_keys=True, separators=(",", ":"), default=json_default)


class AuditLog:
    """The audit log at ``path`` (default: ``MEDAI_AUDIT_DB`` or the per-user data folder)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else get_settings().audit_db
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    def record(
        self,
        page: str,
        model_id: str,
        model_version: str,
        input_sha256: str,
        outputs: Mapping[str, Any],
    ) -> int:
        """Append one analysis and return its row id. ``outputs`` must be JSON-ready and hold no identifiers."""
        time_utc = datetime.now(UTC).isoformat(timespec="milliseconds")
        fields = (time_utc, page, model_id, model_version, input_sha256, _canonical_outputs(outputs))
        with closing(self._connect()) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                last = conn.execute("SELECT row_hash FROM analyses ORDER BY id DESC LIMIT 1").fetchone()
                prev = last[0] if last else GENESIS_HASH
                cursor = conn.execute(
                    "INSERT INTO analyses (time_utc, page, model_id, model_version, input_sha256, outputs_json,"
                    " prev_hash, row_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (*fields, prev, _row_hash(prev, fields)),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return int(cursor.lastrowid or 0)

    def rows(self, limit: int | None = None) -> list[AuditRow]:
        """The rows in order (the newest ``limit`` when given)."""
        query = "SELECT * FROM analyses ORDER BY id"
        with closing(self._connect()) as conn:
            data = conn.execute(query).fetchall()
        if limit is not None:
            data = data[-limit:]
        return [AuditRow(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8]) for r in data]

    def verify(self) -> AuditVerification:
        """Walk the chain from the first row and report the first row that was changed, removed or reordered."""
        with closing(self._connect()) as conn:
            data = conn.execute("SELECT * FROM analyses ORDER BY id").fetchall()
        prev = GENESIS_HASH
        for row in data:
            row_id, fields, prev_hash, row_hash = row[0], tuple(row[1:7]), row[7], row[8]
            if prev_hash != prev:
                return AuditVerification(
                    False, len(data), row_id, "does not link to the previous row (a row was removed or reordered)"
                )
            if _row_hash(prev, fields) != row_hash:
                return AuditVerification(
                    False, len(data), row_id, "its content does not match its hash (the row was edited)"
                )
            prev = row_hash
        return AuditVerification(True, len(data))
