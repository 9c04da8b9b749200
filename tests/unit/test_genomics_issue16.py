"""Regression cases of issue 16 ("Why"): single calls whose correct handling is settled by FDA labels and the
AMP/ASCO/CAP 2017 guideline. Written against the API of the first rounds (``match_evidence``, ``therapy_options``,
``call_tier``, ``resolve_tumour_type``) so that each fails on the code before the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from medai_core.errors import PanelInputError
from medai_core.genomics.evidence import EvidenceBase, call_tier, load_evidence, match_evidence, therapy_options
from medai_core.genomics.readers import Variant
from medai_core.genomics.tumours import resolve_tumour_type


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> EvidenceBase:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MEDAI_EVIDENCE_DIR", raising=False)
        mp.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg")))
        return load_evidence()


def _call(gene: str, change: str, cls: str = "Missense_Mutation") -> Variant:
    return Variant(gene, change, cls, None, "S")


def _tier_one(base: EvidenceBase, calls: list[Variant], tumour: str) -> list[str]:
    return [o.drugs for o in therapy_options(match_evidence(base, calls, tumour)) if o.tier.startswith("I-")]


@pytest.mark.parametrize(
    ("call", "tumour", "drug"),
    [
        (_call("FGFR3", "R248*", "Nonsense_Mutation"), "Bladder Cancer", "Erdafitinib"),
        (_call("PIK3CA", "Q546*", "Nonsense_Mutation"), "Breast Cancer", "Alpelisib + Fulvestrant"),
        (_call("ESR1", "E380fs", "Frame_Shift_Del"), "Breast Cancer", "Elacestrant"),
        (_call("ERBB2", "Q709*", "Nonsense_Mutation"), "Non-Small Cell Lung Cancer", "Fam-trastuzumab deruxtecan"),
        (_call("EGFR", "R108K"), "Non-Small Cell Lung Cancer", "Gefitinib"),
    ],
)
def test_a_protein_change_outside_the_biomarker_definition_is_tier_iii_with_no_drug(
    base: EvidenceBase, call: Variant, tumour: str, drug: str
) -> None:
    items = match_evidence(base, [call], tumour)
    assert call_tier(call, items)[0] == "III"
    assert drug not in _tier_one(base, [call], tumour)
    assert not [o for o in therapy_options(items) if o.tier.startswith("I-")]


def test_egfr_r108k_gets_no_egfr_inhibitor_at_all(base: EvidenceBase) -> None:
    offered = [o.drugs for o in therapy_options(match_evidence(base, [_call("EGFR", "R108K")], "NSCLC"))]
    assert not {"Gefitinib", "Erlotinib", "Afatinib", "Dacomitinib"} & set(offered)


def test_braf_v600e_colorectal_leads_with_encorafenib_cetuximab_and_not_the_excluded_label(base: EvidenceBase) -> None:
    options = therapy_options(match_evidence(base, [_call("BRAF", "V600E")], "Colorectal Cancer"))
    assert options[0].drugs == "Encorafenib + Cetuximab" and options[0].tier == "I-A"
    assert "Dabrafenib + Trametinib" not in [o.drugs for o in options]


def test_t790m_and_exon20_insertions_remove_first_generation_inhibitors(base: EvidenceBase) -> None:
    both = [_call("EGFR", "L858R"), _call("EGFR", "T790M")]
    tier_one = _tier_one(base, both, "Non-Small Cell Lung Cancer")
    assert "Osimertinib" in tier_one
    offered = [o.drugs for o in therapy_options(match_evidence(base, both, "Non-Small Cell Lung Cancer"))]
    assert not {"Erlotinib", "Gefitinib", "Afatinib"} & set(offered)
    ins = [_call("EGFR", "D770_N771insG", "In_Frame_Ins")]
    offered = [o.drugs for o in therapy_options(match_evidence(base, ins, "Non-Small Cell Lung Cancer"))]
    assert not {"Erlotinib", "Gefitinib", "Afatinib"} & set(offered)
    assert "Amivantamab" in _tier_one(base, ins, "Non-Small Cell Lung Cancer")


def test_evidence_from_other_diseases_is_not_an_option(base: EvidenceBase) -> None:
    tp53 = [o.drugs.lower() for o in therapy_options(match_evidence(base, [_call("TP53", "R175H")], "Breast Cancer"))]
    assert "alemtuzumab" not in tp53 and "chemotherapy" not in tp53
    rb1 = therapy_options(match_evidence(base, [_call("RB1", "R320*", "Nonsense_Mutation")], "NSCLC"))
    assert not [o for o in rb1 if o.tier.startswith("I-")] and "Chemotherapy" not in [o.drugs for o in rb1]


def test_gallbladder_is_not_bladder(base: EvidenceBase) -> None:
    assert "Erdafitinib" not in _tier_one(base, [_call("FGFR3", "S249C")], "Gallbladder Cancer")
    assert "Erdafitinib" in _tier_one(base, [_call("FGFR3", "S249C")], "Bladder Urothelial Carcinoma")


@pytest.mark.parametrize(
    ("tumour", "call", "drug"),
    [
        ("Ovarian Cancer", _call("BRCA1", "Q1756fs", "Frame_Shift_Ins"), "Olaparib"),
        ("GIST", _call("KIT", "V559D"), "Imatinib"),
        ("Cholangiocarcinoma", _call("IDH1", "R132C"), "Ivosidenib"),
        ("Anaplastic Thyroid Cancer", _call("BRAF", "V600E"), "Dabrafenib + Trametinib"),
        ("Prostate Cancer", _call("BRCA2", "S1982fs", "Frame_Shift_Del"), "Olaparib"),
    ],
)
def test_tumour_types_outside_the_cohort_get_evidence(
    base: EvidenceBase, tumour: str, call: Variant, drug: str
) -> None:
    resolve_tumour_type(tumour)  # exited 2 before any evidence was looked at
    assert drug in _tier_one(base, [call], tumour)


def test_unknown_tumour_text_lists_the_closest_nodes() -> None:
    with pytest.raises(PanelInputError, match=r"Closest OncoTree nodes: .*\(") as err:
        resolve_tumour_type("lung adenocarcinma")
    assert "LUAD" in str(err.value)


def test_braf_demo_and_synonymous_call_are_unchanged(base: EvidenceBase) -> None:
    items = match_evidence(base, [_call("BRAF", "V600E")], "Melanoma")
    options = therapy_options(items)
    assert (options[0].drugs, options[0].tier) == ("Dabrafenib + Trametinib", "I-A")
    assert therapy_options(match_evidence(base, [_call("BRAF", "V600=", "Silent")], "Melanoma")) == ()


def test_repository_stands_alone() -> None:
    data = Path(__file__).resolve().parents[2] / "medai_core" / "genomics" / "data"
    for name in ("oncotree.tsv", "cancer_hotspots.tsv", "gene_roles.tsv", "therapy_assertions.tsv"):
        first = (data / name).read_text(encoding="utf-8").split("\n", 1)[0]
        assert first.startswith("# ") and "Built by scripts/" in first
