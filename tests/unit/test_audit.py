"""Audit log: append-only, hash chain verified, tampering found."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from medai_core.audit import AuditLog


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
