"""Evidence matching (CIViC + FDA table), TMB and the evidence import command."""

from __future__ import annotations

from pathlib import Path

import pytest

from medai_core.errors import PanelInputError
from medai_core.genomics.evidence import evidence_import, load_evidence, match_evidence
from medai_core.genomics.io import Variant
from medai_core.genomics.panels import resolve_panel
from medai_core.genomics.tmb import compute_tmb


def _call(gene: str, change: str, cls: str = "Missense_Mutation") -> Variant:
    return Variant(gene, change, cls, None, "S")


def test_fda_table_alone_matches_variant_codon_exon_and_tmb(tmp_path: Path) -> None:
    base = load_evidence(tmp_path)  # an empty folder: FDA table only
    assert base.civic_release is None
    items = match_evidence(base, [_call("BRAF", "V600K")], "Melanoma")
    assert items and all(e.level == "FDA" for e in items)
    assert {e.match_kind for e in items} == {"codon"}  # V600 matches V600K; V600E entries do not
    assert all(e.same_tumour_type for e in items if e.disease == "Melanoma")
    exon19 = match_evidence(base, [_call("EGFR", "E746_A750del", "In_Frame_Del")], "Non-Small Cell Lung Cancer")
    assert any(e.variant == "EXON 19 DELETION" and e.match_kind == "exon" for e in exon19)
    assert not match_evidence(base, [_call("EGFR", "E746_A750del", "In_Frame_Del")], "Melanoma")[0].same_tumour_type
    tmb_items = match_evidence(base, [], "Glioma", tmb_high=True)
    assert [e.drugs for e in tmb_items] == ["Pembrolizumab"]
    assert match_evidence(base, [], "Glioma", tmb_high=False) == ()


def test_gene_level_and_resistance(tmp_path: Path) -> None:
    base = load_evidence(tmp_path)
    crc = match_evidence(base, [_call("KRAS", "G12D")], "Colorectal Cancer")
    assert any(e.is_resistance and e.same_tumour_type and e.match_kind == "gene-level" for e in crc)
    assert not match_evidence(base, [_call("KRAS", "G12D", "Silent")], "Colorectal Cancer")


def test_civic_export_is_read_and_sorted(shared_data: Path) -> None:
    base = load_evidence(shared_data / "genes" / "civic")
    assert base.civic_release == "01-Aug-2021"
    items = match_evidence(base, [_call("BRAF", "V600E"), _call("TP53", "R273H")], "Melanoma")
    civic = [e for e in items if e.source.startswith("CIViC")]
    assert any(e.level == "A" and e.same_tumour_type and e.significance == "Sensitivity/Response" for e in civic)
    same = [e.same_tumour_type for e in items]
    assert same == sorted(same, reverse=True)  # this tumour type first


def test_evidence_import_validates_and_copies(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / "genes" / "civic" / "01-Aug-2021-ClinicalEvidenceSummaries.tsv"
    target, n = evidence_import(src, tmp_path / "civic")
    assert target.is_file() and n > 1000
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\n1\t2\n")
    with pytest.raises(PanelInputError, match="not a CIViC"):
        evidence_import(bad, tmp_path / "civic")
    with pytest.raises(PanelInputError, match="does not exist"):
        evidence_import(tmp_path / "missing.tsv", tmp_path / "civic")


def test_tmb_counts_nonsynonymous_on_panel_and_percentile() -> None:
    calls = [_call("TP53", "R273H"), _call("BRCA2", "T3085=", "Silent"), _call("ZFHX3", "A1V")]
    ref = {"Melanoma": [0.5, 1.0, 2.0, 3.0]}
    on341 = compute_tmb(calls, resolve_panel("IMPACT341"), cancer_type="Melanoma", reference=ref)
    assert on341.n_nonsynonymous == 1  # silent not counted, ZFHX3 not on IMPACT341
    assert on341.tmb_per_mb == pytest.approx(1 / 0.896)
    assert on341.percentile == pytest.approx(50.0)
    assert on341.percentile_label == "50th percentile"
    assert not on341.high
    high = compute_tmb([_call("TP53", f"A{i}V") for i in range(12)], resolve_panel("1.0"), cancer_type="Glioma")
    assert high.high and high.percentile is None and high.tmb_per_mb == 12.0
