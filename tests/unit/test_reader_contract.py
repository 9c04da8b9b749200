"""One contract for every reader of the registry (scikit-learn's ``check_estimator`` idea, applied to readers).

Each registered domain's reader (:data:`medai_core.domains.DOMAINS`, called ``read(data, name=...)``) meets the
same hostile inputs: empty, NUL bytes, an over-long line, a zip bomb, a gzip bomb, a multi-member gzip and text in
the fallback encoding. The outcome of each is written down per domain below: ``refused`` (the domain's
``InputError``, never another exception) or ``read`` (with what must come back). A new domain adds its valid seed
and its column of outcomes, and the test fails until it does.
"""

from __future__ import annotations

import functools
import gzip
import io
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from medai_core import untrusted
from medai_core.domains import DOMAINS, Domain, resolve

CGM_ROWS = [f"2026-01-05 {h:02d}:{m:02d},{100 + (h * 12 + m // 5) % 60}" for h in range(24) for m in range(0, 60, 5)]


def _png() -> bytes:
    from PIL import Image

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 60, (64, 64), dtype=np.uint8)
    pixels[24:40, 24:40] = 200
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


VALID: dict[str, Callable[[], bytes]] = {
    "ct": _png,
    "glucose": lambda: ("time,glucose\n" + "\n".join(CGM_ROWS) + "\n").encode(),
    "genes": lambda: b"gene,protein_change\nBRAF,V600E\nEGFR,L858R\n",
}
"""A small valid input of each domain."""


def _count(domain: str, result: Any) -> int:
    """How many items (readings, calls, slices) a read returned."""
    if domain == "glucose":
        return len(result.glucose_mg_dl)
    if domain == "genes":
        return len(result.variants)
    return int(result.shape[0])


BOMB_LIMIT = 2**20
"""The layer's unpacked-size limit during the test (the shipped 256 MiB would make each case inflate 256 MiB)."""


@functools.cache
def _gzip_bomb() -> bytes:
    """A gzip stream that unpacks to one byte more than :data:`BOMB_LIMIT` (about 1 KiB packed)."""
    return gzip.compress(bytes(BOMB_LIMIT + 1))


@functools.cache
def _zip_bomb() -> bytes:
    """A zip with one member packed far tighter than any real file (64 MiB of zeros in about 64 KiB)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("slice.dcm", bytes(64 * 2**20))
    return buffer.getvalue()


def _two_members(valid: bytes) -> bytes:
    """``valid`` split at a line boundary into two gzip members (what ``cat a.gz b.gz`` produces)."""
    lines = valid.splitlines(keepends=True)
    half = len(lines) // 2
    return gzip.compress(b"".join(lines[:half])) + gzip.compress(b"".join(lines[half:]))


def _fallback_encoding(valid: bytes) -> bytes:
    """``valid`` with a Windows-1252 header column (``Bemerkung é``, not UTF-8) and an empty value in it; for a
    binary format, that text alone."""
    if untrusted.sniff(valid) is not None:
        return "Bemerkung \u00e9\n".encode("cp1252")
    lines = valid.decode().splitlines()
    return ("\n".join([lines[0] + ",Bemerkung \u00e9", *(line + "," for line in lines[1:])]) + "\n").encode("cp1252")


CASES: dict[str, Callable[[bytes], bytes]] = {
    "empty": lambda valid: b"",
    "nul_bytes": lambda valid: valid[:20] + b"\x00" * 64 + valid[20:],
    "over_long_line": lambda valid: valid + b"A" * 200_000 + b"\n",
    "zip_bomb": lambda valid: _zip_bomb(),
    "gzip_bomb": lambda valid: _gzip_bomb(),
    "multi_member_gzip": _two_members,
    "fallback_encoding": _fallback_encoding,
}

EXPECTED: dict[str, dict[str, str]] = {
    # CT reads images, DICOM and zips by content: text, gzip and a packed bomb are refused.
    "ct": {
        "empty": "refused",
        "nul_bytes": "refused",
        "over_long_line": "read",  # bytes after a PNG's end chunk are ignored by every PNG decoder
        "zip_bomb": "refused",
        "gzip_bomb": "refused",
        "multi_member_gzip": "refused",
        "fallback_encoding": "refused",
    },
    "glucose": {
        "empty": "refused",
        "nul_bytes": "refused",
        "over_long_line": "refused",
        "zip_bomb": "refused",
        "gzip_bomb": "refused",
        "multi_member_gzip": "read",
        "fallback_encoding": "read",
    },
    "genes": {
        "empty": "refused",
        "nul_bytes": "refused",
        "over_long_line": "refused",
        "zip_bomb": "refused",
        "gzip_bomb": "refused",
        "multi_member_gzip": "read",
        "fallback_encoding": "read",
    },
}


def test_every_registered_domain_has_a_seed_and_an_outcome_for_every_case() -> None:
    names = {d.name for d in DOMAINS}
    assert set(VALID) == names and set(EXPECTED) == names
    assert all(set(outcomes) == set(CASES) for outcomes in EXPECTED.values())


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
@pytest.mark.parametrize("case", sorted(CASES))
def test_reader_contract(domain: Domain, case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(untrusted, "MAX_DECOMPRESSED_BYTES", BOMB_LIMIT)
    read = resolve(domain.reader)
    valid = VALID[domain.name]()
    data = CASES[case](valid)
    if EXPECTED[domain.name][case] == "refused":
        with pytest.raises(domain.error) as caught:
            read(data, name="upload.bin")
        assert "upload.bin" in str(caught.value) or domain.name == "genes"  # the message names the file
        return
    assert _count(domain.name, read(data, name="upload.bin")) == _count(domain.name, read(valid, name="upload.bin"))


def test_a_two_member_gzip_cgm_export_reads_every_reading() -> None:
    """The defect this layer fixed: the second member was dropped (288 readings came back as 143)."""
    from medai_core.glucose.readers import read_cgm

    header, rows = "time,glucose\n", [f"{row}\n" for row in CGM_ROWS]
    assert len(rows) == 288
    data = gzip.compress((header + "".join(rows[:143])).encode()) + gzip.compress("".join(rows[143:]).encode())
    assert len(read_cgm(data, name="export.csv.gz").glucose_mg_dl) == 288


def test_the_fallback_encoding_keeps_every_byte() -> None:
    assert untrusted.decode_text("caf\u00e9 \u20ac".encode("cp1252")) == "caf\u00e9 \u20ac"
    assert untrusted.decode_text(b"\x81\x8d") == "\x81\x8d"  # undefined in cp1252: read as Latin-1, not dropped
    assert untrusted.decode_text("\ufeffvalue".encode()) == "value"


def test_a_zip_member_packed_past_the_ratio_limit_is_refused_before_inflating() -> None:
    from medai_core.errors import ImageInputError

    with pytest.raises(ImageInputError, match="zip bomb"):
        untrusted.unzip(_zip_bomb(), name="bomb.zip", error=ImageInputError, max_bytes=2**30, advice="")
