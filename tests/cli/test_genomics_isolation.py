"""The gene-panel reader across the process boundary: a segfault trigger in a child interpreter with isolation
off (a regression fails the test without killing pytest), and ``analyse_bytes`` parsing only in the worker.
Moved from tests/unit/test_genomics_hostile.py (the unit tier starts no process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from medai_core.genomics import readers as panel_readers
from medai_core.genomics.readers import read_panel
from tests.model.test_genomics_hostile import loaded
from tests.unit.test_genomics_hostile import ROOT, SEGFAULT_TRIGGERS, snpeff_vcf, vep_vcf

__all__ = ["loaded"]  # the module-scoped model fixture, shared with the unit tests

_PROBE = """
import json, sys
from medai_core.errors import PanelInputError
from medai_core.genomics.readers import read_panel
from medai_core.isolation import read_isolated
out = {}
for name, data in json.load(open(sys.argv[1])).items():
    try:
        panel = read_isolated(read_panel, data.encode(), name="tumour.vcf", label="tumour.vcf")
        out[name] = ["ok", [(v.gene, v.protein_change, v.vaf) for v in panel.variants]]
    except PanelInputError as exc:
        out[name] = ["refused", str(exc)]
print(json.dumps(out))
"""


def test_malformed_genotypes_are_refused_in_process_without_the_worker(tmp_path: Path) -> None:
    """Isolation off, in a child interpreter: a regression (a segfault) fails this test without killing pytest."""
    cases = {name: data.decode() for name, data in SEGFAULT_TRIGGERS.items()}
    cases["valid 0/1"] = vep_vcf("0/1").decode()
    cases["valid SnpEff 0|1"] = snpeff_vcf("0|1").decode()
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    env = {**os.environ, "MEDAI_ISOLATION": "off", "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300
    )
    assert run.returncode == 0, f"the reader died in-process (exit {run.returncode}): {run.stderr[-500:]}"
    out = json.loads(run.stdout.strip().splitlines()[-1])
    for name in SEGFAULT_TRIGGERS:
        assert out[name][0] == "refused", name
        assert out[name][1].startswith(("tumour.vcf, line 6: ", "tumour.vcf, line 7: ")), out[name][1]
        assert "genotype" in out[name][1], out[name][1]
    assert out["valid 0/1"] == ["ok", [["BRAF", "V600E", pytest.approx(0.4)]]]
    assert out["valid SnpEff 0|1"] == ["ok", [["KRAS", "G12V", pytest.approx(0.25)]]]


def test_analyse_bytes_reads_through_the_isolated_worker(loaded: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from medai_core import isolation
    from medai_core.genomics.analysis import analyse_bytes

    monkeypatch.setenv("MEDAI_ISOLATION", "on")
    seen: list[object] = []
    real = isolation.read_isolated

    def spy(reader: object, *args: object, **kwargs: object) -> object:
        seen.append(reader)
        return real(reader, *args, **kwargs)  # type: ignore[arg-type]

    def in_process(*_: object, **__: object) -> None:
        raise AssertionError("the upload was parsed in the server process")

    monkeypatch.setattr(isolation, "read_isolated", spy)
    monkeypatch.setattr(panel_readers, "read_table", in_process)  # the worker imports its own, unpatched module
    data = b"gene,protein_change\nBRAF,V600E\n"
    result = analyse_bytes(data, "p.csv", model=loaded, tumour_type="Melanoma")  # type: ignore[arg-type]
    assert seen == [read_panel] and [v.gene for v in result.variants] == ["BRAF"]

    panel = real(read_panel, data, name="p.csv")
    again = analyse_bytes(b"", "p.csv", model=loaded, tumour_type="Melanoma", panel_file=panel)  # type: ignore[arg-type]
    assert seen == [read_panel]  # an already-read panel is not parsed again
    assert again.variants == result.variants and again.tmb == result.tmb
