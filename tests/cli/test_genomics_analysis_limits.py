"""Issue 21 item 6: the gene-panel analysis step runs under the same time and memory limits as reading, in
``predict genes`` and in ``batch genes`` (one Python process each).

The analysis is made to outgrow the limit through the knowledge base, not the upload: a CIViC export in
``MEDAI_EVIDENCE_DIR`` whose 200,000 items all match one BRAF V600E call, with ``MEDAI_ISOLATION_TIME_S=1``. Reading
the one-call file takes milliseconds, so only the analysis step can pass the limit.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_genomics_hostile import ROOT

N_ITEMS = 200_000
LIMIT_S = "1"


@pytest.fixture(scope="module")
def slow_evidence(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a CIViC export (newer than any installed one) of N_ITEMS items matching BRAF V600E."""
    folder = tmp_path_factory.mktemp("civic")
    columns = [
        "gene",
        "variant",
        "disease",
        "drugs",
        "drug_interaction_type",
        "evidence_type",
        "evidence_direction",
        "evidence_level",
        "clinical_significance",
        "evidence_status",
        "evidence_id",
        "citation_id",
    ]
    path = folder / "01-Jan-2099-ClinicalEvidenceSummaries.tsv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        for i in range(N_ITEMS):
            writer.writerow(
                [
                    "BRAF",
                    "V600E",
                    "Melanoma",
                    "Dabrafenib",
                    "",
                    "Predictive",
                    "Supports",
                    "B",
                    "Sensitivity/Response",
                    "accepted",
                    str(i + 1),
                    str(10_000_000 + i),
                ]
            )
    return folder


def _run(args: list[str], evidence: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MEDAI_ISOLATION": "on",
        "MEDAI_ISOLATION_TIME_S": LIMIT_S,
        "MEDAI_EVIDENCE_DIR": str(evidence),
        "MEDAI_ANALYSIS_WORKERS": "0",
    }
    return subprocess.run(
        [sys.executable, "-m", "medai_core", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600
    )


def test_predict_genes_stops_an_analysis_past_the_time_limit(slow_evidence: Path, tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("gene,protein_change\nBRAF,V600E\n")
    run = _run(["predict", "genes", "p.csv", "--tumour-type", "Melanoma", "--json"], slow_evidence, tmp_path)
    assert run.returncode == 2, (run.returncode, run.stdout[-500:], run.stderr[-2000:])
    assert run.stdout == ""
    assert (
        f"p.csv could not be analysed safely: analysing it took longer than the {LIMIT_S} s limit, so it was "
        "stopped." in run.stderr
    ), run.stderr[-2000:]
    assert "Traceback" not in run.stderr


def test_batch_genes_records_the_stopped_analysis_and_goes_on(slow_evidence: Path, tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    (tmp_path / "p.csv").write_text("gene,protein_change\nBRAF,V600E\n")
    (tmp_path / "q.csv").write_text("gene,protein_change\nBRAF,V600E\nTP53,R175H\n")
    out = tmp_path / "out.parquet"
    run = _run(
        ["batch", "genes", "--input", "p.csv", "q.csv", "--out", str(out), "--tumour-type", "Melanoma"],
        slow_evidence,
        tmp_path,
    )
    assert run.returncode in {0, 2}, (run.returncode, run.stderr[-2000:])
    rows = pd.read_parquet(out).set_index("input")
    assert sorted(rows.index) == ["p.csv", "q.csv"]
    for name in ("p.csv", "q.csv"):
        error = rows.loc[name, "error"]
        assert error.startswith(f"{name} could not be analysed safely: analysing it took longer than"), error
