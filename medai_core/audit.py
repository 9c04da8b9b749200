"""Append-only SQLite audit log of analyses: a hash chain, anchored by a keyed signature, that reveals tampering.

One row per analysis: UTC time, page, model id and version, the input's sha256, and the outputs as canonical JSON.
No names, no file names and no patient identifiers are stored: the input is known only by its hash.

Three layers, each catching what the one before cannot:

1. **Chain.** Each row stores ``row_hash = sha256(prev_hash + canonical row)``, so editing, deleting or reordering
   a row breaks every hash after it. Triggers refuse UPDATE and DELETE through SQLite itself.
2. **Anchor.** A chain alone cannot tell that its *last* rows were deleted, or that the whole file was replaced by
   another well-formed log. So after every append the row count and head hash are written, with the log's random
   id (``audit_meta``), to a sidecar file ``<db>.anchor``, signed with HMAC-SHA256.
3. **Key.** The HMAC key is a per-install secret kept outside the database (``MEDAI_AUDIT_KEY``, default
   ``<user data dir>/audit.key``, mode 0600; :mod:`medai_core.install_keys`). Whoever can write the database but
   not read the key cannot forge an anchor for a shortened, edited or swapped log.

What this cannot catch: someone who can read the key, or who restores an older copy of *both* the database and its
anchor (a rollback); keep a copy of the anchor elsewhere (``audit verify --json`` prints it) to detect the latter.

A process keeps one :class:`AuditLog` per database (:func:`get_audit_log`) with one connection. Writes wait at most
:data:`BUSY_TIMEOUT_S` for another writer's lock; past that, :meth:`AuditLog.record` returns a warning for the page
to show instead of raising, so a busy log never costs the clinician the analysis.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from medai_core.config import get_settings
from medai_core.serialization import json_default

__all__ = [
    "AuditLog",
    "AuditRow",
    "AuditVerification",
    "AuditWrite",
    "BUSY_TIMEOUT_S",
    "EXPORT_COLUMNS",
    "GENESIS_HASH",
    "get_audit_log",
]

GENESIS_HASH = "0" * 64
BUSY_TIMEOUT_S = 2.0
"""Seconds a write waits for another writer's lock before it gives up with a warning."""
EXPORT_COLUMNS = (
    "id",
    "time_utc",
    "page",
    "model_id",
    "model_version",
    "input_sha256",
    "outputs_json",
    "prev_hash",
    "row_hash",
)
_ANCHOR_VERSION = "medai-audit-anchor-v1"
_MISMATCH = "it no longer matches its signed anchor, so it is left as found; run python -m medai_core audit verify"
_NOT_RECORDED = (
    "The audit log could not record this analysis ({why}); the result shown is complete and unaffected. "
    "Tell the administrator if this message persists."
)

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
CREATE TABLE IF NOT EXISTS audit_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_meta_no_update BEFORE UPDATE ON audit_meta
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_meta_no_delete BEFORE DELETE ON audit_meta
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
class AuditWrite:
    """The outcome of one :meth:`AuditLog.record`.

    Attributes:
        row_id: the new row's id, or None when nothing was written.
        warning: why nothing was written (for the page to show), or None.
    """

    row_id: int | None
    warning: str | None = None


@dataclass(frozen=True)
class AuditVerification:
    """The result of checking the chain and its anchor.

    Attributes:
        ok: True when every row's hash matches and links to the previous row, and the signed anchor names this
            log, its row count and its head hash.
        rows: number of rows in the database.
        first_bad_id: id of the first row that fails, or None.
        reason: why it fails, or None.
        anchored_rows: the row count the anchor records, or None where it is missing or unreadable.
        head_hash: the last row's hash (the genesis hash for an empty log).
    """

    ok: bool
    rows: int
    first_bad_id: int | None = None
    reason: str | None = None
    anchored_rows: int | None = None
    head_hash: str = GENESIS_HASH

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``audit verify --json`` document)."""
        return asdict(self)


def _row_hash(prev_hash: str, fields: tuple[str, ...]) -> str:
    canonical = json.dumps([prev_hash, *fields], separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _canonical_outputs(outputs: Mapping[str, Any]) -> str:
    return json.dumps(outputs, sort_keys=True, separators=(",", ":"), default=json_default)


def _anchor_mac(key: bytes, log_id: str, rows: int, head: str) -> str:
    message = f"{_ANCHOR_VERSION}|{log_id}|{rows}|{head}".encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class AuditLog:
    """The audit log at ``path`` (default: ``MEDAI_AUDIT_DB`` or the per-user data folder).

    Args:
        path: the SQLite database; its anchor is ``<path>.anchor``.
        key: the anchor's HMAC key; default the per-install key (``MEDAI_AUDIT_KEY``).
    """

    def __init__(self, path: Path | None = None, *, key: bytes | None = None) -> None:
        self.path = Path(path) if path is not None else get_settings().audit_db
        self.anchor_path = self.path.with_name(self.path.name + ".anchor")
        self._key = key
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ connection and anchor
    def _key_bytes(self) -> bytes:
        if self._key is None:
            from medai_core.install_keys import install_key

            self._key = install_key("audit")
        return self._key

    def _connection(self) -> sqlite3.Connection:
        """The one connection of this log, opened (schema, log id, first anchor) on first use."""
        if self._conn is not None:
            return self._conn
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            conn.execute("BEGIN IMMEDIATE")
            try:
                if conn.execute("SELECT value FROM audit_meta WHERE name = 'log_id'").fetchone() is None:
                    # A new log, or one written before anchoring existed: adopt it as it stands. An anchor left
                    # by a log whose database has gone is kept, so that verify reports the replaced file.
                    conn.execute("INSERT INTO audit_meta VALUES ('log_id', ?)", (secrets.token_hex(16),))
                    if not self.anchor_path.exists():
                        self._write_anchor(conn)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    @staticmethod
    def _state(conn: sqlite3.Connection) -> tuple[str, int, str]:
        """(log id, row count, head hash) as the database holds them now."""
        meta = conn.execute("SELECT value FROM audit_meta WHERE name = 'log_id'").fetchone()
        count = int(conn.execute("SELECT COUNT(*) FROM analyses").fetchone()[0])
        last = conn.execute("SELECT row_hash FROM analyses ORDER BY id DESC LIMIT 1").fetchone()
        return (meta[0] if meta else ""), count, (last[0] if last else GENESIS_HASH)

    def _write_anchor(self, conn: sqlite3.Connection) -> None:
        """Sign and write the current state atomically (a temporary file, then a rename)."""
        log_id, rows, head = self._state(conn)
        doc = {
            "version": _ANCHOR_VERSION,
            "log_id": log_id,
            "rows": rows,
            "head": head,
            "mac": _anchor_mac(self._key_bytes(), log_id, rows, head),
        }
        tmp = self.anchor_path.with_name(self.anchor_path.name + f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc, sort_keys=True), encoding="ascii")
        os.replace(tmp, self.anchor_path)

    def _read_anchor(self) -> dict[str, Any] | None:
        try:
            doc = json.loads(self.anchor_path.read_text(encoding="ascii"))
        except (OSError, ValueError):
            return None
        return doc if isinstance(doc, dict) else None

    # ------------------------------------------------------------------ writing
    def record(
        self,
        page: str,
        model_id: str,
        model_version: str,
        input_sha256: str,
        outputs: Mapping[str, Any],
    ) -> AuditWrite:
        """Append one analysis and re-sign the anchor.

        ``outputs`` must be JSON-ready and hold no identifiers (numbers and labels only).

        Returns:
            The new row's id; or, where the database is locked by another writer past :data:`BUSY_TIMEOUT_S`,
            cannot be written, or the key cannot be read, no row and a warning for the caller to show.

        Raises:
            TypeError: ``outputs`` cannot be written as JSON (a programming error, not an operating condition).
        """
        time_utc = datetime.now(UTC).isoformat(timespec="milliseconds")
        fields = (time_utc, page, model_id, model_version, input_sha256, _canonical_outputs(outputs))
        with self._lock:
            try:
                conn = self._connection()
                previous_anchor = self.anchor_path.read_bytes() if self.anchor_path.exists() else None
                conn.execute("BEGIN IMMEDIATE")
                try:
                    # Never re-sign a log that no longer matches its anchor: that would launder the tampering.
                    log_id, _, head = self._state(conn)
                    ids = [int(r[0]) for r in conn.execute("SELECT id FROM analyses ORDER BY id").fetchall()]
                    check = self._check_anchor(log_id, ids, head)
                    if not check.ok:
                        conn.execute("ROLLBACK")
                        return AuditWrite(None, _NOT_RECORDED.format(why=f"{_MISMATCH}: {check.reason}"))
                    last = conn.execute("SELECT row_hash FROM analyses ORDER BY id DESC LIMIT 1").fetchone()
                    prev = last[0] if last else GENESIS_HASH
                    cursor = conn.execute(
                        "INSERT INTO analyses (time_utc, page, model_id, model_version, input_sha256, outputs_json,"
                        " prev_hash, row_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (*fields, prev, _row_hash(prev, fields)),
                    )
                    self._write_anchor(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    if previous_anchor is not None:
                        self.anchor_path.write_bytes(previous_anchor)
                    raise
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                why = "it is locked by another process" if busy else f"database error: {exc}"
                return AuditWrite(None, _NOT_RECORDED.format(why=why))
            except (sqlite3.DatabaseError, OSError, ValueError) as exc:
                return AuditWrite(None, _NOT_RECORDED.format(why=f"{type(exc).__name__}: {exc}"))
        return AuditWrite(int(cursor.lastrowid or 0))

    # ------------------------------------------------------------------ reading
    def _fetch(self) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._connection().execute("SELECT * FROM analyses ORDER BY id").fetchall())

    def rows(self, limit: int | None = None) -> list[AuditRow]:
        """The rows in order (the newest ``limit`` when given)."""
        data = self._fetch()
        if limit is not None:
            data = data[-limit:]
        return [AuditRow(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8]) for r in data]

    def export(self, fmt: str = "json") -> str:
        """Every row, as a JSON list of objects (``outputs`` parsed) or as CSV with :data:`EXPORT_COLUMNS`.

        Raises:
            ValueError: ``fmt`` is neither ``"json"`` nor ``"csv"``.
        """
        data = self._fetch()
        if fmt == "json":
            docs = []
            for row in data:
                doc = dict(zip(EXPORT_COLUMNS, row, strict=True))
                doc["outputs"] = json.loads(doc.pop("outputs_json"))
                docs.append(doc)
            return json.dumps(docs, indent=2, sort_keys=True)
        if fmt == "csv":
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(EXPORT_COLUMNS)
            writer.writerows(data)
            return out.getvalue()
        raise ValueError(f"export format must be 'json' or 'csv', got {fmt!r}")

    def verify(self) -> AuditVerification:
        """Walk the chain from the first row, then check it against the signed anchor.

        Finds an edited, removed or reordered row (its id), removed last rows, rows added outside the application,
        a replaced database file, and a missing, edited or foreign anchor.
        """
        with self._lock:
            conn = self._connection()
            data = conn.execute("SELECT * FROM analyses ORDER BY id").fetchall()
            log_id, count, head = self._state(conn)
        prev = GENESIS_HASH
        for row in data:
            row_id, fields, prev_hash, row_hash = row[0], tuple(row[1:7]), row[7], row[8]
            if prev_hash != prev:
                return AuditVerification(
                    False, count, row_id, "does not link to the previous row (a row was removed or reordered)"
                )
            if _row_hash(prev, fields) != row_hash:
                return AuditVerification(
                    False, count, row_id, "its content does not match its hash (the row was edited)"
                )
            prev = row_hash
        return self._check_anchor(log_id, [int(row[0]) for row in data], head)

    def _check_anchor(self, log_id: str, ids: list[int], head: str) -> AuditVerification:
        count = len(ids)
        anchor = self._read_anchor()
        if anchor is None:
            return AuditVerification(
                False, count, None, f"the anchor file {self.anchor_path.name} is missing or unreadable", None, head
            )
        anchored = anchor.get("rows")
        anchored_rows = anchored if isinstance(anchored, int) else None
        expected = _anchor_mac(
            self._key_bytes(), str(anchor.get("log_id")), anchored_rows or 0, str(anchor.get("head"))
        )
        if anchored_rows is None or not hmac.compare_digest(str(anchor.get("mac", "")), expected):
            reason = "the anchor's signature is invalid (the anchor was edited, or it belongs to another install)"
            return AuditVerification(False, count, None, reason, anchored_rows, head)
        if anchor.get("log_id") != log_id:
            reason = "the database is not the log this anchor signs (the database file was replaced)"
            return AuditVerification(False, count, None, reason, anchored_rows, head)
        if count < anchored_rows:
            reason = f"{anchored_rows - count} row(s) were removed from the end of the log"
            return AuditVerification(False, count, None, reason, anchored_rows, head)
        if count > anchored_rows:
            reason = f"{count - anchored_rows} row(s) were added outside the application"
            return AuditVerification(False, count, ids[anchored_rows], reason, anchored_rows, head)
        if anchor.get("head") != head:
            reason = "the last row's hash differs from the anchored one (rows were rewritten)"
            return AuditVerification(False, count, None, reason, anchored_rows, head)
        return AuditVerification(True, count, None, None, anchored_rows, head)

    def close(self) -> None:
        """Close the connection (a later call reopens it)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


_LOGS: dict[tuple[Path, str], AuditLog] = {}
_LOGS_LOCK = threading.Lock()


def get_audit_log(path: Path | None = None) -> AuditLog:
    """The process's one :class:`AuditLog` for ``path`` (default the configured database), opened once."""
    from medai_core.install_keys import key_path

    db = (Path(path) if path is not None else get_settings().audit_db).resolve()
    cache_key = (db, str(key_path("audit")))
    with _LOGS_LOCK:
        log = _LOGS.get(cache_key)
        if log is None:
            log = _LOGS[cache_key] = AuditLog(db)
        return log
