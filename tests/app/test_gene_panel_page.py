"""Gene panel page: the synthetic demo, an uploaded panel, a multi-sample MAF picker, and bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.app.headlines import headlines
from tests.conftest import open_page

PAGE = "pages/gene_panel.py"
DATA = Path(__file__).resolve().parents[1] / "data" / "genes"
CSV = b"gene,protein_change,vaf\nEGFR,L858R,0.31\nTP53,R273H,0.4\nSTK11,Q37*,0.3\nBRCA2,T3085=,0.2\n"


def _text(at: Any) -> str:
    parts = [*at.markdown, *at.caption, *at.info, *at.warning, *at.error, *at.header, *at.subheader]
    return "\n".join(str(p.value) for p in parts)


def _frame(at: Any, column: str) -> Any:
    """The first dataframe on the page with ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _upload(at: Any, name: str, data: bytes, mime: str = "text/plain") -> None:
    at.file_uploader(key="genes.upload").set_value((name, data, mime))
    at.run()


def test_demo_renders_full_result() -> None:
    at = open_page(PAGE)
    assert not at.exception, [e.value for e in at.exception]
    text = _text(at)
    assert "synthetic demo panel" in text and "analysed as **Melanoma (MEL)**" in text
    assert "| I-A | Dabrafenib \\+ Trametinib" in text  # the demo's BRAF V600E in melanoma, first
    assert "CC BY 4.0" in text and "Cancer Hotspots" in text  # sources with licence and release
    assert "CIViC predictive evidence, release 01-Aug-2021" in text  # the shipped snapshot, with no data folder
    assert at.header[0].value == "Therapy options"  # the page leads with them
    assert "not randomised" in text  # the outcome caveat
    assert not at.metric  # one row of headline cards, no second row of metrics repeating them
    assert any(e.label.startswith("How the TMB") for e in at.expander)
    cards = headlines(at)  # the answer first: survival with its range, the baseline beside it
    assert any(label.startswith("24-month survival on") for label in cards) and "Baseline: cancer type + TMB" in cards
    assert len(at.dataframe) >= 3  # survival table, evidence, variants


def test_an_upload_needs_a_tumour_type_and_any_solid_tumour_is_accepted() -> None:
    at = open_page(PAGE)
    _upload(at, "panel.csv", CSV, "text/csv")
    assert not at.exception
    assert any("Choose the tumour type" in w.value for w in at.warning)
    at.selectbox(key="genes.tumour_type").set_value("Gastrointestinal Stromal Tumor (GIST)")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    text = _text(at)
    assert "not modelled" in text and "Gastrointestinal Stromal Tumor (GIST)" in text
    assert not any(label.startswith("24-month survival") for label in headlines(at))
    assert any(b.label == "Report (PDF)" for b in at.get("download_button"))


def test_uploaded_csv_for_lung_cancer() -> None:
    at = open_page(PAGE)
    at.selectbox(key="genes.tumour_type").set_value("Non-Small Cell Lung Cancer (NSCLC)")
    _upload(at, "panel.csv", CSV, "text/csv")
    assert not at.exception, [e.value for e in at.exception]
    text = _text(at)
    assert "synthetic" not in text
    options = next(m.value for m in at.markdown if m.value.startswith("| tier | therapy"))  # leads the page
    first = options.splitlines()[2]
    assert first.startswith("| I-A |") and "EGFR L858R" in first and "dailymed" in first  # source with a link
    osimertinib = next(line for line in options.splitlines() if line.startswith("| I-A | Osimertinib ("))
    assert "exact change L858R" in osimertinib and "2018" in osimertinib  # the definition met and the date
    evidence = _frame(at, "call")
    assert "EGFR L858R" in set(evidence["call"])
    variants = _frame(at, "nonsynonymous")
    assert list(variants["gene"]) == ["EGFR", "TP53", "STK11", "BRCA2"]
    assert list(variants["nonsynonymous"]) == [True, True, True, False]
    assert variants["tier"].iloc[0] == "I-A" and variants["tier"].iloc[3] == "IV"  # EGFR L858R; BRCA2 silent


@pytest.mark.full_data
def test_multisample_maf_offers_a_sample_picker(shared_data: Path) -> None:
    path = shared_data / "genes" / "fixtures" / "tcga_example_multisample.maf"
    at = open_page(PAGE)
    _upload(at, path.name, path.read_bytes())
    assert not at.exception, [e.value for e in at.exception]
    picker = at.selectbox(key="genes.sample")
    assert len(picker.options) == 6
    picker.set_value(picker.options[2])
    at.run()
    assert not at.exception


def test_multisample_maf_from_the_repository() -> None:
    path = DATA / "multisample.maf"
    at = open_page(PAGE)
    at.selectbox(key="genes.tumour_type").set_value("Lung Adenocarcinoma (LUAD)")
    _upload(at, path.name, path.read_bytes())
    assert not at.exception, [e.value for e in at.exception]
    picker = at.selectbox(key="genes.sample")
    assert list(picker.options) == ["SYN-A-T01", "SYN-B-T01", "SYN-C-T01"]
    picker.set_value("SYN-C-T01")
    at.run()
    assert not at.exception
    assert list(_frame(at, "nonsynonymous")["gene"]) == ["KRAS", "STK11", "KEAP1"]


def test_braf_v600_synonymous_shows_no_braf_inhibitor() -> None:
    path = DATA / "braf_v600_synonymous.maf"
    at = open_page(PAGE)
    at.selectbox(key="genes.tumour_type").set_value("Melanoma (MEL)")
    _upload(at, path.name, path.read_bytes())
    assert not at.exception, [e.value for e in at.exception]
    drugs = " ".join(str(d.value.get("drugs", "")) for d in at.dataframe if "drugs" in d.value.columns).lower()
    drugs += " ".join(m.value for m in at.markdown if m.value.startswith("| tier")).lower()
    assert "dabrafenib" not in drugs and "vemurafenib" not in drugs


def test_unannotated_vcf_from_the_repository_shows_a_clear_error() -> None:
    text = (DATA / "snpeff_interaction_first.vcf").read_text()
    text = "\n".join(line for line in text.splitlines() if "ID=ANN" not in line) + "\n"
    at = open_page(PAGE)
    _upload(at, "plain.vcf", text.encode())
    assert not at.exception
    assert any("VEP" in e.value for e in at.error)


@pytest.mark.full_data
def test_unannotated_vcf_shows_a_clear_error(shared_data: Path) -> None:
    path = shared_data / "genes" / "fixtures" / "vcf2maf_test.vcf"
    at = open_page(PAGE)
    _upload(at, path.name, path.read_bytes())
    assert not at.exception
    assert any("VEP" in e.value and "cannot be used" in e.value for e in at.error)


def test_not_a_panel_shows_a_clear_error() -> None:
    at = open_page(PAGE)
    _upload(at, "notes.txt", b"this is not a panel\n")
    assert not at.exception
    assert any("not a MAF, VCF or CSV" in e.value for e in at.error)
