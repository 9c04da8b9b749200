"""Input files named on the command line: missing, too large, read whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from medai_core.errors import CGMInputError, UploadTooLargeError
from medai_core.files import read_input_file


def test_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"time,glucose\n")
    assert read_input_file(path, CGMInputError, "a CGM CSV") == b"time,glucose\n"


def test_missing_file_raises_the_domain_error(tmp_path: Path) -> None:
    with pytest.raises(CGMInputError, match=r"no such file.*Give a CGM CSV"):
        read_input_file(tmp_path / "absent.csv", CGMInputError, "a CGM CSV")
    with pytest.raises(CGMInputError, match="no such file"):
        read_input_file(tmp_path, CGMInputError, "a CGM CSV")


def test_file_above_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAI_MAX_UPLOAD_MB", "1")
    path = tmp_path / "big.csv"
    path.write_bytes(b"0" * (2 * 1024 * 1024))
    with pytest.raises(UploadTooLargeError, match="above the 1 MiB limit"):
        read_input_file(path, CGMInputError, "a CGM CSV")
