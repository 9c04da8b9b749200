"""OncoTree tumour types (names, codes, free text, the tree), biomarker definitions at their edges, the shipped
knowledge tables, and the survival model shown only for the cohort's cancer types."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from medai_core.cli import main
from medai_core.errors import PanelInputError
from medai_core.genomics.demo import demo_maf
from medai_core.genomics.knowledge.assertions import load_assertions
from medai_core.genomics.knowledge.biomarkers import gene_role, hotspot_kind, parse_biomarker
from medai_core.genomics.tumours import COHORT_TYPES, oncotree, resolve_tumour, tumour_choices

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "code", "noted"),
    [
        ("NSCLC", "NSCLC", False),
        ("nsclc", "NSCLC", False),
        ("LUAD", "LUAD", False),
        ("Lung Adenocarcinoma", "LUAD", False),
        ("Lung Adenocarcinoma (LUAD)", "LUAD", False),  # a picker label
        ("lung adeno", "LUAD", True),
        ("GIST", "GIST", False),
        ("Melanoma", "MEL", False),
        ("Non-Small Cell Lung Cancer", "NSCLC", False),
        ("Colorectal Cancer", "COADREAD", True),
        ("crc", "COADREAD", True),
        ("Bladder Cancer", "BLCA", True),
        ("Glioma", "DIFG", True),
        ("Cancer of Unknown Primary", "CUP", False),
        ("ovarian cancer", "OVT", True),
        ("melanoma uveal", "UM", True),
        ("Gallbladder Cancer", "GBC", False),
        ("lung", "LUNG", True),  # organ level: said plainly
    ],
)
def test_free_text_resolves_to_one_node(text: str, code: str, noted: bool) -> None:
    tumour = resolve_tumour(text)
    assert tumour.code == code
    assert bool(tumour.note) == noted


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Martian sarcoma", "Closest OncoTree nodes"),
        ("lung adenocarcinma", "Closest OncoTree nodes: Lung Adenocarcinoma"),
        ("adeno", "fits several OncoTree nodes"),
        ("AML", "haematological"),
        ("TISSUE", "haematological or tissue-level"),
        ("", "No tumour type"),
    ],
)
def test_unknown_ambiguous_and_haematological_text_is_refused(text: str, message: str) -> None:
    with pytest.raises(PanelInputError, match=message):
        resolve_tumour(text)


def test_the_tree_parent_applies_to_child_never_to_sibling() -> None:
    tree = oncotree()
    assert tree.within("LUAD", ["NSCLC"]) and tree.within("MLUAD", ["NSCLC"])
    assert not tree.within("SCLC", ["NSCLC"]) and not tree.within("LUNG", ["NSCLC"])
    assert not tree.within("GBC", ["BLADDER"]) and tree.within("BLCA", ["BLADDER"])
    assert tree.within("GIST", ["SOLID"]) and not tree.within("AML", ["SOLID"])
    assert len(tree.nodes) > 1000 and "CC BY 4.0" in tree.source


def test_cohort_types_and_picker() -> None:
    assert resolve_tumour("LUAD").cohort_type == "Non-Small Cell Lung Cancer"
    assert resolve_tumour("SKCM").cohort_type == "Melanoma"
    assert resolve_tumour("GIST").cohort_type is None and resolve_tumour("PRAD").cohort_type is None
    choices = tumour_choices()
    assert len(choices) > 500 and all(resolve_tumour(c).label == c for c in choices[:40])
    assert [resolve_tumour(c).cohort_type for c in choices[: len(COHORT_TYPES)]] == list(COHORT_TYPES)


@pytest.mark.parametrize(
    ("gene", "definition", "change", "cls", "met"),
    [
        ("BRAF", "V600E|V600K", "V600E", "Missense_Mutation", True),
        ("BRAF", "V600E|V600K", "V600D", "Missense_Mutation", False),
        ("BRAF", "V600E", "V600=", "Silent", False),
        ("IDH1", "codon R132", "R132C", "Missense_Mutation", True),
        ("IDH1", "codon R132", "R132*", "Nonsense_Mutation", False),
        ("IDH1", "codon R132", "R132R", "Missense_Mutation", False),
        ("KRAS", "codon G12|G13|Q61", "G13D", "Missense_Mutation", True),
        ("KRAS", "codon G12|G13|Q61", "G12fs", "Frame_Shift_Del", False),
        ("ESR1", "missense 310-547", "E380Q", "Missense_Mutation", True),
        ("ESR1", "missense 310-547", "E380fs", "Frame_Shift_Del", False),
        ("ESR1", "missense 310-547", "E309K", "Missense_Mutation", False),
        ("EGFR", "exon 19 deletion", "E746_A750del", "In_Frame_Del", True),
        ("EGFR", "exon 19 deletion", "E746_A750del", "Frame_Shift_Del", False),
        ("EGFR", "exon 19 deletion", "L728_E729del", "In_Frame_Del", False),
        ("EGFR", "exon 20 insertion", "D770_N771insG", "In_Frame_Ins", True),
        ("EGFR", "exon 20 insertion", "V824_P825insA", "In_Frame_Ins", False),
        ("MET", "exon 14 skipping", "X1010_splice", "Splice_Site", True),
        ("MET", "exon 14 skipping", "X959_splice", "Splice_Site", False),
        ("PIK3CA", "oncogenic mutation", "H1047R", "Missense_Mutation", True),
        ("PIK3CA", "oncogenic mutation", "H1047P", "Missense_Mutation", False),  # not observed at the hotspot
        ("PIK3CA", "oncogenic mutation", "Q546*", "Nonsense_Mutation", False),  # truncating an oncogene
        ("PTEN", "oncogenic mutation", "Q149*", "Nonsense_Mutation", True),  # truncating a tumour suppressor
        ("PTEN", "activating mutation", "Q149*", "Nonsense_Mutation", False),
        ("KIT", "oncogenic mutation", "W557_K558del", "In_Frame_Del", True),
        ("KIT", "oncogenic mutation", "W557_K558del", "Frame_Shift_Del", False),
        ("BRCA2", "truncating mutation", "X2000_splice", "Splice_Site", True),
        ("BRCA2", "truncating mutation", "E1953K", "Missense_Mutation", False),
        ("ERBB2", "amplification", "", "Amplification", True),
        ("ERBB2", "amplification", "", "Deletion", False),
        ("FGFR3", "fusion FGFR3-TACC3|FGFR3-BAIAP2L1", "FGFR3-TACC3", "Fusion", True),
        ("FGFR3", "fusion FGFR3-TACC3|FGFR3-BAIAP2L1", "FGFR3-AES", "Fusion", False),
        ("ALK", "fusion", "EML4-ALK", "Fusion", True),
        ("ALK", "fusion", "F1174L", "Missense_Mutation", False),
        ("TMB", "TMB-high", "TMB-HIGH", "Targeted_Region", True),
    ],
)
def test_biomarker_definitions_at_their_edges(gene: str, definition: str, change: str, cls: str, met: bool) -> None:
    assert (parse_biomarker(gene, definition).met_by(gene, change, cls) is not None) == met


def test_unknown_definitions_are_refused() -> None:
    with pytest.raises(PanelInputError, match="not a biomarker definition"):
        parse_biomarker("BRAF", "V600 mutations of any kind")
    with pytest.raises(PanelInputError, match="no codon range"):
        parse_biomarker("KRAS", "exon 2 mutation")


def test_roles_hotspots_and_assertions_are_shipped() -> None:
    assert gene_role("TP53") == "tumour suppressor" and gene_role("KRAS") == "oncogene" and gene_role("XYZ") is None
    assert hotspot_kind("BRAF", "V600E", "Missense_Mutation") and not hotspot_kind("BRAF", "V600E", "Silent")
    rows = [a for v in load_assertions().values() for a in v]
    assert len(rows) >= 100 and all(a.citation and a.date and a.url.startswith("https://") for a in rows)
    assert max(a.date for a in rows) >= "2025"  # current through 2025 approvals
    tree = oncotree()
    assert all(c == "SOLID" or c in tree.nodes for a in rows for c in (*a.oncotree, *a.exclude))
    agnostic_braf = next(a for a in rows if a.id == "SOLID-BRAF-1")
    assert agnostic_braf.agnostic and agnostic_braf.exclude == ("COADREAD", "CMC")


def test_the_curated_tables_validate() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_knowledge", ROOT / "scripts" / "build_knowledge.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with open(ROOT / "scripts" / "curated" / "therapy_assertions.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert module.validate_assertions(rows) == []
    broken = [dict(rows[0], id="X", oncotree="NOPE", biomarker="V600 of some kind")]
    assert len(module.validate_assertions(broken)) == 2


def test_predict_for_a_type_outside_the_cohort_says_survival_is_not_modelled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "demo.maf"
    path.write_bytes(demo_maf())
    assert main(["predict", "genes", str(path), "--tumour-type", "GIST", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["oncotree_code"] == "GIST" and doc["cohort_type"] is None and doc["survival_modelled"] is False
    assert "not modelled" in doc["survival_note"] and doc["os_24m"] is None and doc["by_drug_class"] == {}
    assert doc["tmb_percentile"] is None and doc["variants"] and "therapy_options_removed" in doc
    assert main(["predict", "genes", str(path), "--tumour-type", "lung adeno"]) == 0
    out = capsys.readouterr().out
    assert "OncoTree LUAD" in out and "OS 24 m" in out  # a cohort type: the survival panel is shown
    assert main(["predict", "genes", str(path), "--tumour-type", "adeno"]) == 2
    assert "fits several" in capsys.readouterr().err
