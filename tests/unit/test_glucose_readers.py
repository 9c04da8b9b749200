"""The glucose reader package: a registry of vendor layouts, each recognised from the file's first lines and read
by its own module; a file that no layout recognises is a generic CSV."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

from medai_core.errors import CGMInputError
from medai_core.glucose import readers
from medai_core.glucose.readers import LAYOUTS, CGMOptions, CGMRecord, Layout, generic, read_cgm
from medai_core.glucose.readers.text import decode, lines

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "glucose"

ROWS = [f"2024-03-10 {h:02d}:{m:02d},{100 + h}" for h in range(24) for m in range(0, 60, 5)]


def _layout(data: bytes) -> str:
    """The key of the layout that recognises ``data`` (``generic_csv`` when none does)."""
    found = lines(decode(data, "upload.csv"), "upload.csv")
    return next((layout.key for layout in LAYOUTS if layout.recognise(found) is not None), "generic_csv")


def test_every_layout_module_is_registered_once() -> None:
    declared = []
    for info in pkgutil.iter_modules(readers.__path__):
        layout = getattr(importlib.import_module(f"{readers.__name__}.{info.name}"), "LAYOUT", None)
        if isinstance(layout, Layout):
            declared.append(layout.key)
    assert sorted(declared) == sorted(layout.key for layout in LAYOUTS)
    assert len(set(declared)) == len(declared) == 3


@pytest.mark.parametrize(
    ("fixture", "layout", "source_format"),
    [
        ("dexcom_clarity_g6_mmol.csv", "dexcom_clarity", "dexcom_clarity"),
        ("dexcom_clarity_g7_mgdl.csv", "dexcom_clarity", "dexcom_clarity"),
        ("libreview_eu_mmol.csv", "libreview", "libreview"),
        ("libreview_us_mgdl.csv", "libreview", "libreview"),
        ("research_id_time_gl.csv", "generic_csv", "generic_csv"),
    ],
)
def test_each_fixture_is_recognised_by_its_layout(fixture: str, layout: str, source_format: str) -> None:
    data = (FIXTURES / fixture).read_bytes()
    assert _layout(data) == layout
    assert read_cgm(data, name=fixture).source_format == source_format


def test_libreview_is_recognised_by_name_before_its_structure() -> None:
    english = "Device,Serial Number,Device Timestamp,Record Type,Historic Glucose mg/dL,Scan Glucose mg/dL"
    german = "Gerät,Seriennummer,Gerätezeitstempel,Aufzeichnungstyp,Glukosewert-Verlauf mg/dL,Glukose-Scan mg/dL"
    rows = [
        f"FreeStyle LibreLink,XXXX,{13 + d:02d}-03-2024 {h:02d}:00,0,{100 + h}," for d in range(3) for h in range(24)
    ]
    for header, key in ((english, "libreview"), (german, "libreview_translated")):
        data = ("\n".join(["Glucose Data,Generated on,20-03-2024 08:43 UTC", header, *rows]) + "\n").encode()
        assert _layout(data) == key
        record = read_cgm(data, name="libre.csv")
        assert record.source_format == "libreview" and record.n_readings == len(rows)
        assert any("translated column names" in note for note in record.notes) == (key == "libreview_translated")


def test_a_layout_added_to_the_registry_reads_the_files_it_recognises(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding a vendor layout is one ``Layout`` entry: here a file with a vendor banner above a generic table."""
    data = ("VENDOR EXPORT v1\ntime,glucose\n" + "\n".join(ROWS) + "\n").encode()
    with pytest.raises(CGMInputError, match="no glucose column"):
        read_cgm(data, name="vendor.csv")

    def read(found: list[str], header: int, name: str, options: CGMOptions) -> CGMRecord:
        return generic.read(found[header + 1 :], name, options)

    vendor = Layout("vendor", lambda found: 0 if found[0].startswith("VENDOR EXPORT") else None, read)
    monkeypatch.setattr(readers, "LAYOUTS", (*LAYOUTS, vendor))
    assert read_cgm(data, name="vendor.csv").n_readings == len(ROWS)
    assert read_cgm((FIXTURES / "dexcom_clarity_g7_mgdl.csv").read_bytes()).source_format == "dexcom_clarity"


def test_the_name_and_the_options_are_keywords() -> None:
    data = ("time,glucose\n" + "\n".join(ROWS) + "\n").encode()
    with pytest.raises(TypeError):
        read_cgm(data, "upload.csv")  # type: ignore[misc]
    assert read_cgm(data, name="upload.csv", patient=None, timezone="Europe/Paris").n_readings == len(ROWS)
