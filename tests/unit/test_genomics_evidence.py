"""Evidence matching (CIViC + FDA table), TMB and the evidence import command."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from medai_core.errors import PanelInputError
from medai_core.genomics.evidence import (
    EvidenceBase,
    call_tier,
    civic_release_date,
    evidence_import,
    find_civic_export,
    load_evidence,
    match_evidence,
    ranked_options,
    therapy_options,
)
from medai_core.genomics.evidence.rules import Entry
from medai_core.genomics.panels import resolve_panel
from medai_core.genomics.readers import Variant
from medai_core.genomics.tmb import compute_tmb


def _call(gene: str, change: str, cls: str = "Missense_Mutation") -> Variant:
    return Variant(gene, change, cls, None, "S")


def test_assertions_alone_match_by_definition_and_tumour_type(tmp_path: Path) -> None:
    base = load_evidence(tmp_path)  # an empty folder: the therapy-level assertions only
    assert base.civic_release is None
    items = match_evidence(base, [_call("BRAF", "V600K")], "Melanoma")
    assert items and all(e.level in {"FDA", "NCCN"} and e.kind == "assertion" for e in items)
    same = {e.drugs for e in items if e.same_tumour_type}
    assert "Dabrafenib + Trametinib" in same and "Vemurafenib" not in same  # Zelboraf's label names V600E only
    exon19 = match_evidence(base, [_call("EGFR", "E746_A750del", "In_Frame_Del")], "Non-Small Cell Lung Cancer")
    assert any(e.variant.startswith("exon 19 deletion") and e.same_tumour_type for e in exon19)
    assert not match_evidence(base, [_call("EGFR", "E746_A750del", "In_Frame_Del")], "Melanoma")[0].same_tumour_type
    tmb_items = match_evidence(base, [], "Glioma", tmb_high=True)
    assert [e.drugs for e in tmb_items] == ["Pembrolizumab"] and tmb_items[0].agnostic
    assert match_evidence(base, [], "Glioma", tmb_high=False) == ()


def test_resistance_assertion_and_silent_calls(tmp_path: Path) -> None:
    base = load_evidence(tmp_path)
    crc = match_evidence(base, [_call("KRAS", "G12D")], "Colorectal Cancer")
    assert any(e.is_resistance and e.same_tumour_type and e.tier == "I-A" for e in crc)
    assert not match_evidence(base, [_call("KRAS", "G12D", "Silent")], "Colorectal Cancer")


@pytest.mark.full_data
def test_civic_export_is_read_and_sorted(shared_data: Path) -> None:
    base = load_evidence(shared_data / "genes" / "civic")
    assert base.civic_release == "01-Aug-2021"
    items = match_evidence(base, [_call("BRAF", "V600E"), _call("TP53", "R273H")], "Melanoma")
    civic = [e for e in items if e.source.startswith("CIViC")]
    assert any(e.level == "A" and e.same_tumour_type and e.significance == "Sensitivity/Response" for e in civic)
    same = [e.same_tumour_type for e in items]
    assert same == sorted(same, reverse=True)  # this tumour type first


@pytest.mark.full_data
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
    assert on341.tmb_per_mb == pytest.approx(1 / 0.897)  # IMPACT341 size from the cohort (panel_sizes.csv)
    assert on341.percentile == pytest.approx(50.0)
    assert on341.percentile_label == "50th percentile"
    assert not on341.high
    high = compute_tmb([_call("TP53", f"A{i}V") for i in range(12)], resolve_panel("1.0"), cancer_type="Glioma")
    assert high.high and high.percentile is None and high.tmb_per_mb == 12.0


# ---------------------------------------------------------------- exact evidence rules (issue 8, item 3)

DATA = Path(__file__).resolve().parents[1] / "data" / "genes"
M, S, N, FS, IFD, IFI, SP = (
    "Missense_Mutation",
    "Silent",
    "Nonsense_Mutation",
    "Frame_Shift_Del",
    "In_Frame_Del",
    "In_Frame_Ins",
    "Splice_Site",
)
RULES: list[tuple[str, str, str, str, str | None]] = [
    # gene, call protein change, call class, knowledge-base variant, expected match kind (None: no match)
    ("BRAF", "V600E", M, "V600E", "variant"),
    ("BRAF", "V600E", M, "V600", "codon"),
    ("BRAF", "V600E", M, "MUTATION", None),  # gene-wide entries name no definition
    ("BRAF", "V600K", M, "V600E", None),
    ("BRAF", "V600K", M, "V600", "codon"),
    ("BRAF", "V600=", S, "V600", None),
    ("BRAF", "V600=", S, "V600E", None),
    ("BRAF", "V600=", S, "MUTATION", None),
    ("BRAF", "V600V", S, "V600", None),
    ("BRAF", "V600fs", FS, "V600", None),
    ("BRAF", "V600fs", FS, "MUTATION", None),
    ("BRAF", "V600fs", FS, "LOSS-OF-FUNCTION", None),  # BRAF is an oncogene
    ("BRAF", "V600*", N, "V600", None),
    ("BRAF", "V600*", N, "LOSS-OF-FUNCTION", None),
    ("NF1", "R1276*", N, "LOSS-OF-FUNCTION", "gene-level"),  # NF1 is a tumour suppressor
    ("BRAF", "V600E", M, "LOSS-OF-FUNCTION", None),
    ("BRAF", "V600E", M, "AMPLIFICATION", None),
    ("BRAF", "", "Amplification", "AMPLIFICATION", "gene-level"),
    ("BRAF", "", "Amplification", "MUTATION", None),
    ("BRAF", "", "Amplification", "V600", None),
    ("BRAF", "KIAA1549-BRAF", "Fusion", "KIAA1549-BRAF", "variant"),
    ("BRAF", "KIAA1549-BRAF", "Fusion", "FUSION", "gene-level"),
    ("BRAF", "", "Fusion", "KIAA1549-BRAF", None),
    ("BRAF", "V600E", M, "KIAA1549-BRAF", None),
    ("BRAF", "V600E", M, "V600E AND AMPLIFICATION", None),
    ("BRAF", "V600E", M, "WILD TYPE", None),
    ("BRAF", "V600E", M, "OVEREXPRESSION", None),
    ("BRAF", "", "Unknown", "MUTATION", None),
    ("BRAF", "", "Unknown", "V600", None),
    ("BRAF", "", "Intron", "MUTATION", None),
    ("IDH1", "R132=", S, "R132", None),
    ("IDH1", "R132H", M, "R132", "codon"),
    ("IDH1", "R132H", M, "R132H", "variant"),
    ("IDH1", "R132C", M, "R132H", None),
    ("EGFR", "E746_A750del", IFD, "EXON 19 DELETION", "exon"),
    ("EGFR", "L747_P753delinsS", IFD, "EXON 19 DELETION", "exon"),
    ("EGFR", "E746_A750del", IFD, "MUTATION", None),
    ("EGFR", "L858R", M, "EXON 19 DELETION", None),
    ("EGFR", "A750P", M, "EXON 19 DELETION", None),
    ("EGFR", "D770_N771insG", IFI, "EXON 20 INSERTION", "exon"),
    ("EGFR", "D770_N771insG", IFI, "EXON 19 DELETION", None),
    ("EGFR", "E746_A750del", IFD, "EX19 DEL L858R", None),
    ("MET", "X1010_splice", SP, "EXON 14 SKIPPING MUTATION", "exon"),
    ("MET", "X963_splice", SP, "EXON 14 SKIPPING", "exon"),
    ("MET", "X200_splice", SP, "EXON 14 SKIPPING", None),
    ("MET", "Y1003C", M, "EXON 14 SKIPPING", None),
    ("MET", "X1010_splice", SP, "MUTATION", None),
    ("ERBB2", "", "Unknown", "MUTATION", None),
    ("ERBB2", "", "Unknown", "AMPLIFICATION", None),
    ("ERBB2", "", "Amplification", "AMPLIFICATION", "gene-level"),
    ("ERBB2", "S310F", M, "AMPLIFICATION", None),
    ("KRAS", "G12D", M, "G12/G13", "codon"),
    ("KRAS", "G13D", M, "G12/G13", "codon"),
    ("KRAS", "G12=", S, "G12/G13", None),
    ("CDKN2A", "", "Deletion", "DELETION", "gene-level"),
    ("CDKN2A", "", "Deletion", "LOSS", "gene-level"),
    ("CDKN2A", "R80*", N, "DELETION", None),
    ("TP53", "X125_splice", SP, "LOSS-OF-FUNCTION", "gene-level"),
    ("ALK", "EML4-ALK", "Fusion", "ALK FUSIONS", "gene-level"),
    ("ALK", "EML4-ALK", "Fusion", "EML4-ALK L1196M", None),
]


def _base(entries: list[tuple[str, str, str, str, str, str]]) -> EvidenceBase:
    """gene, variant, disease, drugs, significance, level."""
    by_gene: dict[str, list[Entry]] = {}
    for i, (gene, variant, disease, drugs, significance, level) in enumerate(entries):
        by_gene.setdefault(gene, []).append(
            Entry(gene, variant, disease, drugs, "Supports", significance, level, f"TEST{i}")
        )
    return EvidenceBase({g: tuple(v) for g, v in by_gene.items()}, "test")


@pytest.mark.parametrize(("gene", "change", "cls", "entry", "expected"), RULES)
def test_evidence_rules(gene: str, change: str, cls: str, entry: str, expected: str | None) -> None:
    base = _base([(gene, entry, "Melanoma", "Drug X", "Sensitivity/Response", "A")])
    items = match_evidence(base, [_call(gene, change, cls)], "Melanoma")
    assert [e.match_kind for e in items] == ([] if expected is None else [expected])


def test_the_rule_table_is_large_enough() -> None:
    assert len(RULES) >= 40


def test_assertion_regressions_of_issue_8(tmp_path: Path) -> None:
    base = load_evidence(tmp_path)  # assertions alone
    assert not match_evidence(base, [_call("BRAF", "V600=", "Silent")], "Melanoma")
    assert not match_evidence(base, [_call("BRAF", "V600fs", "Frame_Shift_Del")], "Melanoma")
    assert not match_evidence(base, [_call("BRAF", "V600*", "Nonsense_Mutation")], "Melanoma")
    assert not match_evidence(base, [_call("IDH1", "R132=", "Silent")], "Cancer of Unknown Primary")
    assert not match_evidence(base, [_call("ERBB2", "", "Unknown")], "Non-Small Cell Lung Cancer")
    amp = match_evidence(base, [_call("ERBB2", "", "Amplification")], "Breast Cancer")
    assert amp and all("trastuzumab" in e.drugs.lower() or "pertuzumab" in e.drugs.lower() for e in amp)


# ---------------------------------------------------------------- tiers and therapy options


def test_civic_alone_gives_ii_d_in_this_tumour_type_and_nothing_elsewhere() -> None:
    base = _base(
        [
            ("BRAF", "V600E", "Melanoma", "Drug A", "Sensitivity/Response", "A"),
            ("NRAS", "Q61R", "Colorectal Cancer", "Drug B", "Sensitivity/Response", "A"),
            ("KIT", "L576P", "Melanoma", "Drug C", "Sensitivity/Response", "C"),
            ("NF1", "LOSS-OF-FUNCTION", "Melanoma", "Drug D", "Sensitivity/Response", "D"),
            ("PTEN", "R130Q", "Melanoma", "Drug E", "Sensitivity/Response", "E"),
            ("GNAQ", "Q209L", "Melanoma", "Drug F", "Resistance", "A"),
        ]
    )
    calls = {
        "BRAF": _call("BRAF", "V600E"),
        "NRAS": _call("NRAS", "Q61R"),
        "KIT": _call("KIT", "L576P"),
        "NF1": _call("NF1", "R1276*", "Nonsense_Mutation"),
        "PTEN": _call("PTEN", "R130Q"),
        "GNAQ": _call("GNAQ", "Q209L"),
        "TP53": _call("TP53", "R273H"),
        "TERT": _call("TERT", "", "5'Flank"),
        "KMT2D": _call("KMT2D", "", "Intron"),
        "BRCA2": _call("BRCA2", "T3085=", "Silent"),
        "ERBB2": _call("ERBB2", "", "Unknown"),
    }
    items = match_evidence(base, calls.values(), "Melanoma")
    tiers = {g: call_tier(c, items)[0] for g, c in calls.items()}
    assert tiers == {
        "BRAF": "II-D",  # CIViC never makes tier I
        "NRAS": "III",  # CIViC evidence from another tumour type is shown, not tiered
        "KIT": "II-D",
        "NF1": "II-D",
        "PTEN": "III",  # level E: no tier of its own
        "GNAQ": "II-D",
        "TP53": "III",
        "TERT": "III",  # promoter calls are not benign (TERT promoter mutations are drivers)
        "KMT2D": "IV",
        "BRCA2": "IV",
        "ERBB2": "III",
    }
    assert "known hotspot" in call_tier(calls["TP53"], items)[1]


def test_therapy_options_rank_by_tier_and_resistance_removes_a_drug() -> None:
    base = _base(
        [
            ("BRAF", "V600E", "Melanoma", "Dabrafenib + Trametinib; Vemurafenib", "Sensitivity/Response", "A"),
            ("BRAF", "V600E", "Colorectal Cancer", "Cetuximab", "Sensitivity/Response", "B"),
            ("NRAS", "Q61R", "Melanoma", "Vemurafenib", "Resistance", "B"),
            ("NRAS", "Q61R", "Melanoma", "Dabrafenib", "Resistance", "C"),
        ]
    )
    items = match_evidence(base, [_call("BRAF", "V600E"), _call("NRAS", "Q61R")], "Melanoma")
    offered, removed = ranked_options(items)
    assert [o.drugs for o in offered] == ["Dabrafenib + Trametinib"]  # Cetuximab: another tumour type, evidence only
    assert offered[0].tier == "II-D" and offered[0].calls == ("BRAF V600E",)
    assert len(offered[0].resistance) == 1 and "level C" in offered[0].resistance[0]  # level C does not remove
    assert [o.drugs for o in removed] == ["Vemurafenib"] and "NRAS Q61R" in removed[0].removed_by[0]
    assert therapy_options(items) == offered
    assert set(offered[0].to_dict()) >= {"drugs", "tier", "calls", "sources", "resistance", "removed_by", "dates"}


# ---------------------------------------------------------------- the shipped snapshot and imports


@pytest.fixture
def fresh_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No MEDAI_EVIDENCE_DIR and an empty user data folder: what a fresh clone sees."""
    monkeypatch.delenv("MEDAI_EVIDENCE_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "medai-dashboard" / "civic"


def test_fresh_clone_matches_civic_from_the_shipped_snapshot(fresh_user: Path) -> None:
    base = load_evidence()
    assert base.civic_release == "01-Aug-2021" and "snapshot" in base.civic_origin
    items = match_evidence(base, [_call("BRAF", "V600E")], "Melanoma")
    assert {e.level for e in items} >= {"FDA", "A"}
    assert therapy_options(items)[0].drugs == "Dabrafenib + Trametinib"
    assert call_tier(_call("BRAF", "V600E"), items)[0] == "I-A"
    options = therapy_options(items)
    assert "Dabrafenib + Trametinib" in [o.drugs for o in options]
    assert options[0].tier == "I-A"
    silent = match_evidence(base, [_call("BRAF", "V600=", "Silent")], "Melanoma")
    assert silent == () and therapy_options(silent) == ()


def test_import_wins_over_the_snapshot_and_newest_date_is_chosen(fresh_user: Path, tmp_path: Path) -> None:
    excerpt = DATA / "civic" / "01-Aug-2021-ClinicalEvidenceSummaries.tsv"
    target, n = evidence_import(excerpt)
    assert target.parent == fresh_user and n > 100
    base = load_evidence()
    assert base.civic_origin == "imported" and base.civic_release == "01-Aug-2021"
    assert "KRAS" not in {g for g in base.entries if any(e.source.startswith("CIViC") for e in base.entries[g])}
    # an older export installed later: chosen by its parsed date, not by name or copy time
    older = tmp_path / "15-Mar-2019-ClinicalEvidenceSummaries.tsv"
    older.write_text(excerpt.read_text())
    evidence_import(older)
    assert find_civic_export(fresh_user).name.startswith("01-Aug-2021")  # type: ignore[union-attr]
    assert civic_release_date("15-Mar-2019-ClinicalEvidenceSummaries.tsv") == date(2019, 3, 15)
    assert civic_release_date("no-date.tsv") is None


def test_configured_folder_and_imports_compete_by_date(
    fresh_user: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    excerpt = (DATA / "civic" / "01-Aug-2021-ClinicalEvidenceSummaries.tsv").read_text()
    configured = tmp_path / "configured"
    configured.mkdir()
    (configured / "15-Mar-2019-ClinicalEvidenceSummaries.tsv").write_text(excerpt)
    monkeypatch.setenv("MEDAI_EVIDENCE_DIR", str(configured))
    assert load_evidence().civic_release == "15-Mar-2019"
    evidence_import(DATA / "civic" / "01-Aug-2021-ClinicalEvidenceSummaries.tsv")
    assert load_evidence().civic_release == "01-Aug-2021"  # the import is newer than the configured folder's


def test_civic_excerpt_from_the_repository_is_read(tmp_path: Path) -> None:
    base = load_evidence(DATA / "civic")
    assert base.civic_release == "01-Aug-2021"
    items = match_evidence(base, [_call("BRAF", "V600E")], "Melanoma")
    assert any(e.source.startswith("CIViC") and e.level == "A" and e.same_tumour_type for e in items)


def test_import_rejects_what_is_not_a_civic_export(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\n1\t2\n")
    with pytest.raises(PanelInputError, match="not a CIViC"):
        evidence_import(bad, tmp_path / "civic")
    with pytest.raises(PanelInputError, match="does not exist"):
        evidence_import(tmp_path / "missing.tsv", tmp_path / "civic")
    empty = tmp_path / "01-Jan-2022-ClinicalEvidenceSummaries.tsv"
    empty.write_text((DATA / "civic" / "01-Aug-2021-ClinicalEvidenceSummaries.tsv").read_text().splitlines()[0] + "\n")
    with pytest.raises(PanelInputError, match="no accepted predictive"):
        evidence_import(empty, tmp_path / "civic")


def test_excerpt_items_are_sorted_this_tumour_type_first() -> None:
    base = load_evidence(DATA / "civic")
    items = match_evidence(base, [_call("BRAF", "V600E"), _call("IDH1", "R132H")], "Melanoma")
    same = [e.same_tumour_type for e in items]
    assert same == sorted(same, reverse=True) and any(same) and not all(same)
