"""Audit log: append-only, hash chain verified, tampering found."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from medai_core.audit import EXPORT_COLUMNS, AuditLog, get_audit_log


def _filled(path: Path) -> AuditLog:
    log = AuditLog(path)
    for i in range(4):
        log.record("ct", "ct_nodule", "1.0.0", f"{i:064x}", {"probability": 0.1 * i, "band": "low"})
    return log


def test_chain_verifies_and_rows_round_trip(tmp_path: Path) -> None:
    log = _filled(tmp_path / "audit.sqlite")
    result = log.verify()
    assert result.ok and result.rows == 4 and result.first_bad_id is None
    rows = log.rows()
    assert [r.id for r in rows] == [1, 2, 3, 4]
    assert rows[2].outputs == {"band": "low", "probability": pytest.approx(0.2)}
    assert rows[1].prev_hash == rows[0].row_hash
    with sqlite3.connect(log.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_update_and_delete_are_refused(tmp_path: Path) -> None:
    log = _filled(tmp_path / "audit.sqlite")
    with sqlite3.connect(log.path) as conn, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE analyses SET page = 'x' WHERE id = 2")
    with sqlite3.connect(log.path) as conn, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM analyses WHERE id = 2")


def _tamper(path: Path, sql: str) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER analyses_no_update")
        conn.execute("DROP TRIGGER analyses_no_delete")
        conn.execute(sql)


def test_edited_row_is_found(tmp_path: Path) -> None:
    log = _filled(tmp_path / "audit.sqlite")
    _tamper(log.path, "UPDATE analyses SET outputs_json = '{\"probability\":0.9}' WHERE id = 3")
    result = log.verify()
    assert not result.ok and result.first_bad_id == 3 and "edited" in (result.reason or "")


def test_deleted_row_is_found(tmp_path: Path) -> None:
    log = _filled(tmp_path / "audit.sqlite")
    _tamper(log.path, "DELETE FROM analyses WHERE id = 2")
    result = log.verify()
    assert not result.ok and result.first_bad_id == 3 and "removed" in (result.reason or "")


def test_default_location_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAI_AUDIT_DB", str(tmp_path / "sub" / "log.sqlite"))
    log = AuditLog()
    log.record("glucose", "m", "1", "0" * 64, {})
    assert log.path == tmp_path / "sub" / "log.sqlite" and log.verify().ok


def test_outputs_must_be_json_ready(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="as JSON"):
        AuditLog(tmp_path / "a.sqlite").record("ct", "m", "1", "0" * 64, {"x": object()})


# ---------------------------------------------------------------------- anchor, key, lock, one log per process


def _rewrite_chain(path: Path, edit_id: int) -> None:
    """An attacker without the key: edits a row and recomputes every hash after it, so the chain is whole."""
    from medai_core.audit import GENESIS_HASH, _row_hash

    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER analyses_no_update")
        conn.execute("UPDATE analyses SET outputs_json = '{\"probability\":0.99}' WHERE id = ?", (edit_id,))
        prev = GENESIS_HASH
        for row in conn.execute("SELECT * FROM analyses ORDER BY id").fetchall():
            new_hash = _row_hash(prev, tuple(row[1:7]))
            conn.execute("UPDATE analyses SET prev_hash = ?, row_hash = ? WHERE id = ?", (prev, new_hash, row[0]))
            prev = new_hash


def test_deleted_last_row_is_found(tmp_path: Path) -> None:
    log = _filled(tmp_path / "audit.sqlite")
    _tamper(log.path, "DELETE FROM analyses WHERE id = 4")
    result = AuditLog(log.path).verify()
    assert not result.ok and result.rows == 3 and result.anchored_rows == 4
    assert "1 row(s) were removed from the end" in (result.reason or "")


def test_edited_row_with_a_recomputed_chain_is_found(tmp_path: Path) -> None:
    log = _filled(tmp_path / "audit.sqlite")
    _rewrite_chain(log.path, 2)
    result = AuditLog(log.path).verify()
    assert not result.ok and "differs from the anchored one" in (result.reason or "")


def test_swapped_database_file_is_found(tmp_path: Path) -> None:
    log = _filled(tmp_path / "a" / "audit.sqlite")
    other = _filled(tmp_path / "b" / "audit.sqlite")  # a well-formed log of the same install, same row count
    log.close()
    other.close()
    for suffix in ("", "-wal", "-shm"):
        source = other.path.with_name(other.path.name + suffix)
        if source.exists():
            (log.path.with_name(log.path.name + suffix)).write_bytes(source.read_bytes())
    result = AuditLog(log.path).verify()
    assert not result.ok and "database file was replaced" in (result.reason or "")


def test_database_and_anchor_from_another_install_are_found(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.sqlite", key=b"x" * 32)
    log.record("ct", "m", "1", "0" * 64, {"p": 0.5})
    result = AuditLog(tmp_path / "audit.sqlite").verify()  # this install's key
    assert not result.ok and "signature is invalid" in (result.reason or "")


def test_missing_or_edited_anchor_is_found(tmp_path: Path) -> None:
    log = _filled(tmp_path / "audit.sqlite")
    doc = json.loads(log.anchor_path.read_text())
    log.anchor_path.write_text(json.dumps({**doc, "rows": 3}))
    assert "signature is invalid" in (AuditLog(log.path).verify().reason or "")
    log.anchor_path.unlink()
    assert "missing" in (AuditLog(log.path).verify().reason or "")


def test_intact_log_verifies_with_its_anchor(tmp_path: Path) -> None:
    log = _filled(tmp_path / "audit.sqlite")
    result = AuditLog(log.path).verify()
    assert result.ok and result.anchored_rows == 4 and result.head_hash == log.rows()[-1].row_hash


def test_empty_log_verifies(tmp_path: Path) -> None:
    result = AuditLog(tmp_path / "audit.sqlite").verify()
    assert result.ok and result.rows == 0 and result.anchored_rows == 0


def test_log_written_before_anchoring_is_adopted(tmp_path: Path) -> None:
    from medai_core.audit import GENESIS_HASH, _row_hash

    path = tmp_path / "audit.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE analyses (id INTEGER PRIMARY KEY AUTOINCREMENT, time_utc TEXT NOT NULL, page TEXT NOT NULL,"
            " model_id TEXT NOT NULL, model_version TEXT NOT NULL, input_sha256 TEXT NOT NULL,"
            " outputs_json TEXT NOT NULL, prev_hash TEXT NOT NULL, row_hash TEXT NOT NULL)"
        )
        fields = ("2026-01-01T00:00:00.000+00:00", "ct", "m", "1", "0" * 64, "{}")
        conn.execute("INSERT INTO analyses VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)", (*fields, GENESIS_HASH,
                     _row_hash(GENESIS_HASH, fields)))  # fmt: skip
    log = AuditLog(path)
    assert log.verify().ok and log.verify().anchored_rows == 1
    assert log.record("ct", "m", "1", "1" * 64, {}).row_id == 2 and log.verify().ok


def test_locked_database_gives_a_warning_not_an_exception(tmp_path: Path) -> None:
    log = _filled(tmp_path / "audit.sqlite")
    holder = sqlite3.connect(log.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        written = log.record("ct", "m", "1", "5" * 64, {"p": 0.5})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert written.row_id is None and "locked by another process" in (written.warning or "")
    assert "result shown is complete" in (written.warning or "")
    assert log.verify().ok  # the failed write left the anchor as it was
    again = log.record("ct", "m", "1", "5" * 64, {"p": 0.5})
    assert again.row_id == 5 and again.warning is None and log.verify().ok


def test_unreadable_key_gives_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = tmp_path / "audit.key"
    key.write_bytes(b"k" * 32)
    key.chmod(0o644)
    monkeypatch.setenv("MEDAI_AUDIT_KEY", str(key))
    written = AuditLog(tmp_path / "audit.sqlite").record("ct", "m", "1", "0" * 64, {})
    assert written.row_id is None and "chmod 600" in (written.warning or "")


def test_key_is_created_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAI_AUDIT_KEY", str(tmp_path / "keys" / "audit.key"))
    AuditLog(tmp_path / "audit.sqlite").record("ct", "m", "1", "0" * 64, {})
    assert (tmp_path / "keys" / "audit.key").stat().st_mode & 0o777 == 0o600
    assert len((tmp_path / "keys" / "audit.key").read_bytes()) == 32


def test_one_log_per_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAI_AUDIT_DB", str(tmp_path / "one.sqlite"))
    first = get_audit_log()
    first.record("ct", "m", "1", "0" * 64, {})
    connection = first._conn
    assert get_audit_log() is first and get_audit_log(tmp_path / "one.sqlite") is first
    first.record("ct", "m", "1", "1" * 64, {})
    assert first._conn is connection  # not reopened for each record
    assert get_audit_log(tmp_path / "two.sqlite") is not first


def test_export_json_and_csv(tmp_path: Path) -> None:
    log = _filled(tmp_path / "audit.sqlite")
    docs = json.loads(log.export("json"))
    assert [d["id"] for d in docs] == [1, 2, 3, 4] and docs[1]["outputs"] == {"band": "low", "probability": 0.1}
    rows = list(csv.reader(io.StringIO(log.export("csv"))))
    assert tuple(rows[0]) == EXPORT_COLUMNS and len(rows) == 5
    with pytest.raises(ValueError, match="json' or 'csv"):
        log.export("xml")


def test_a_tampered_log_is_not_re_signed_by_the_next_record(tmp_path: Path) -> None:
    log = _filled(tmp_path / "audit.sqlite")
    _tamper(log.path, "DELETE FROM analyses WHERE id = 4")
    written = log.record("ct", "m", "1", "9" * 64, {})
    assert written.row_id is None and "removed from the end" in (written.warning or "")
    assert "removed from the end" in (AuditLog(log.path).verify().reason or "")


def test_deleted_database_with_its_anchor_left_is_found(tmp_path: Path) -> None:
    log = _filled(tmp_path / "audit.sqlite")
    log.close()
    for suffix in ("", "-wal", "-shm"):
        log.path.with_name(log.path.name + suffix).unlink(missing_ok=True)
    fresh = AuditLog(log.path)
    result = fresh.verify()
    assert not result.ok and "replaced" in (result.reason or "") and result.anchored_rows == 4
    assert fresh.record("ct", "m", "1", "0" * 64, {}).row_id is None


def test_install_key_refuses_a_damaged_key_and_an_unknown_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from medai_core.install_keys import install_key

    key = tmp_path / "audit.key"
    key.write_bytes(b"short")
    key.chmod(0o600)
    monkeypatch.setenv("MEDAI_AUDIT_KEY", str(key))
    with pytest.raises(ValueError, match="holds 5 bytes"):
        install_key("audit")
    with pytest.raises(ValueError, match="unknown key"):
        install_key("other")
    assert not list(tmp_path.glob(".audit.key.*"))  # no temporary file left behind
