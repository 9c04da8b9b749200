"""The fuzz command (medai_core.fuzz): mutation, classification of outcomes, the table, JSON and reproducers."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from medai_core.errors import CGMInputError, PanelInputError
from medai_core.fuzz import DOMAINS, FuzzCase, FuzzReport, format_table, mutate, run_fuzz, seed_corpus
from medai_core.fuzz.ct import check_ct
from medai_core.fuzz.genes import check_genes
from medai_core.fuzz.glucose import check_glucose
from medai_core.fuzz.runner import _run_one
from medai_core.isolation import IsolatedRun


@pytest.mark.parametrize("domain", DOMAINS)
def test_seed_corpus_is_not_empty_and_mutation_is_reproducible(domain: str) -> None:
    corpus = seed_corpus(domain)
    assert len(corpus) >= 3
    _, data, _ = corpus[0]
    first = [mutate(random.Random(5), data, domain, corpus[1][1]) for _ in range(2)]
    assert first[0] == first[1]  # the same seed gives the same case
    outputs = {mutate(random.Random(s), data, domain, corpus[1][1])[0] for s in range(20)}
    assert len(outputs) > 15
    assert all(isinstance(op, str) and op for s in range(5) for op in mutate(random.Random(s), data, domain)[1])


def test_ct_seeds_include_pydicom_files_relabelled_as_ct() -> None:
    import io

    import pydicom

    names = {name for name, _, _ in seed_corpus("ct")}
    assert "CT_small.dcm (pydicom test file)" in names and "MR_small.dcm" in names
    data = next(d for n, d, _ in seed_corpus("ct") if n == "MR_small.dcm")
    assert pydicom.dcmread(io.BytesIO(data)).Modality == "CT"


def test_checks_pass_on_unmutated_seeds() -> None:
    from medai_core.ct.demo import demo_bytes, demo_seed

    data, _ = demo_bytes("phantom:solid:8")
    point = demo_seed("phantom:solid:8")
    assert check_ct(data, "phantom.zip", (point.row, point.col, point.slice_index)) == []
    glucose = next(d for n, d, _ in seed_corpus("glucose") if n == "simulated.csv")
    assert check_glucose(glucose, "simulated.csv") == []
    maf = next(d for n, d, _ in seed_corpus("genes") if n == "demo_3_samples.maf")
    assert check_genes(maf, "demo.maf") == []


def test_checks_raise_input_error_for_rejected_input() -> None:
    with pytest.raises(CGMInputError):
        check_glucose(b"", "empty.csv")
    with pytest.raises(PanelInputError):
        check_genes(b"\x00\x01binary", "x.maf")


class _FakePool:
    """Stands in for the isolation pool: returns or raises what the test says."""

    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome

    def run(self, *args: Any, **kwargs: Any) -> IsolatedRun:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return IsolatedRun(self.outcome, 0.01, 150.0)


@pytest.mark.parametrize(
    ("outcome", "field", "kind"),
    [
        ([], "results", None),
        (CGMInputError("The file has no glucose column."), "clean_rejections", None),
        (CGMInputError("x could not be read safely: the reading process crashed (SIGSEGV). Check that"), "defects",
         "crash"),
        (CGMInputError("x could not be read safely: reading it took longer than the 10 s limit, so"), "defects",
         "timeout"),
        (CGMInputError("x could not be read safely: reading it needed more than the 3072 MiB memory limit."),
         "defects", "memory"),
        (KeyError("Event Type"), "defects", "exception"),
        (["glucose outside 20-600 mg/dL"], "defects", "out of range"),
    ],
)  # fmt: skip
def test_each_outcome_is_counted_once_and_defects_keep_a_reproducer(
    tmp_path: Path, outcome: Any, field: str, kind: str | None
) -> None:
    report = FuzzReport(domain="glucose")
    case = FuzzCase(7, "simulated.csv", ("number",), b"timestamp,glucose\n2025-01-01T00:00,9999\n")
    _run_one(_FakePool(outcome), report, case, "glucose", tmp_path)
    assert report.cases == 1
    assert (report.results, report.clean_rejections, report.defects).count(1) == 1
    assert getattr(report, field) == 1
    if kind is None:
        assert report.defect_list == [] and not list(tmp_path.iterdir())
    else:
        (defect,) = report.defect_list
        assert defect["kind"] == kind and defect["case"] == 7 and defect["mutations"] == ["number"]
        assert (tmp_path / defect["file"]).read_bytes() == case.data
        assert f"x1 (first: case 7): {kind}" in format_table([report])


def test_run_fuzz_counts_add_up_and_json_is_written(tmp_path: Path) -> None:
    report = run_fuzz("genes", 12, seed=3, time_limit_s=20, out=tmp_path)
    assert report.cases == 12 == report.results + report.clean_rejections + report.defects
    assert report.peak_memory_mb > 0 and report.slowest_case is not None
    doc = json.loads((tmp_path / "genes-defects.json").read_text())
    assert doc["cases"] == 12 and len(doc["defect_list"]) == report.defects
    assert sum(doc["rejection_reasons"].values()) == report.clean_rejections
    again = run_fuzz("genes", 12, seed=3, time_limit_s=20)
    assert (again.results, again.clean_rejections, again.defects) == (
        report.results,
        report.clean_rejections,
        report.defects,
    )


def test_fuzz_command_prints_the_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    from medai_core.cli import main

    code = main(["fuzz", "glucose", "--cases", "4", "--seed", "1"])
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["reader", "cases", "results", "rejected", "defects", "slowest", "case",
                                           "peak", "MiB"]  # fmt: skip
    assert out.splitlines()[2].split()[:2] == ["glucose", "4"]
    assert code in (0, 1)
    code = main(["fuzz", "genes", "--cases", "3", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["domain"] == "genes" and doc["cases"] == 3
    assert doc["structured"]["domain"] == "genes-gen" and doc["structured"]["cases"] == 3
    assert code == (1 if doc["defects"] or doc["structured"]["defects"] else 0)


def test_fuzz_command_rejects_zero_cases(capsys: pytest.CaptureFixture[str]) -> None:
    from medai_core.cli import main

    assert main(["fuzz", "ct", "--cases", "0"]) == 2
    assert "--cases" in capsys.readouterr().err


def test_mutated_cases_stay_within_the_size_cap() -> None:
    from medai_core.fuzz import MAX_CASE_BYTES

    text = b"gene,protein_change\n" + b"BRAF,V600E\n" * 200
    sizes = [len(mutate(random.Random(s), text, "genes")[0]) for s in range(300)]
    assert max(sizes) <= MAX_CASE_BYTES
