"""One reader, one vocabulary: the regression tests of issue 8 (readers) from fixtures in tests/data/genes."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from medai_core.errors import PanelInputError
from medai_core.genomics.panels import (
    SO_TERMS,
    UNRANKED,
    classification_from_consequence,
    consequence_rank,
    normalise_classification,
)
from medai_core.genomics.readers import read_panel
from medai_core.genomics.vocabulary import classification_from_protein, normalise_protein_change

DATA = Path(__file__).resolve().parents[1] / "data" / "genes"
MAF_CLASSES = {
    "Splice_Site", "Nonsense_Mutation", "Frame_Shift", "Nonstop_Mutation", "Translation_Start_Site", "In_Frame_Ins",
    "In_Frame_Del", "Protein_Altering", "Missense_Mutation", "Intron", "Splice_Region", "Silent", "RNA", "5'UTR",
    "3'UTR", "IGR", "5'Flank", "3'Flank", "Targeted_Region", "Fusion",
}  # fmt: skip


def _read(name: str) -> object:
    path = DATA / name
    return read_panel(path.read_bytes(), name=path.name)


# ---------------------------------------------------------------- vocabulary (one table, its edges)


def test_every_so_term_maps_to_a_maf_class_with_a_rank() -> None:
    assert len(SO_TERMS) >= 60
    for term, (rank, cls) in SO_TERMS.items():
        assert cls in MAF_CLASSES, term
        assert 1 <= rank < UNRANKED
        assert classification_from_consequence(term, ref="A", alt="G") is not None


@pytest.mark.parametrize(
    ("consequence", "ref", "alt", "expected"),
    [
        ("missense_variant&splice_region_variant", "A", "G", "Missense_Mutation"),
        ("splice_region_variant&missense_variant", "A", "G", "Missense_Mutation"),  # order of the list is irrelevant
        ("splice_region_variant&synonymous_variant", "A", "G", "Splice_Region"),  # vcf2maf: splice region 8, silent 9
        ("splice_region_variant&intron_variant", "A", "G", "Splice_Region"),
        ("stop_gained&frameshift_variant", "AT", "A", "Nonsense_Mutation"),
        ("frameshift_variant", "A", "AT", "Frame_Shift_Ins"),
        ("frameshift_variant", "AT", "A", "Frame_Shift_Del"),
        ("frameshift_variant&stop_retained_variant", "A", "AT", "Frame_Shift_Ins"),
        ("protein_protein_contact", "C", "T", "Targeted_Region"),
        ("structural_interaction_variant", "C", "T", "Targeted_Region"),
        ("protein_protein_contact&missense_variant", "C", "T", "Missense_Mutation"),
        ("protein_altering_variant", "ATTT", "A", "In_Frame_Del"),
        ("protein_altering_variant", "AT", "A", "Frame_Shift_Del"),
        ("splice_donor_5th_base_variant&intron_variant", "G", "A", "Splice_Region"),
        ("start_lost", "A", "G", "Translation_Start_Site"),
        ("stop_lost", "A", "G", "Nonstop_Mutation"),
        ("upstream_gene_variant", "A", "G", "5'Flank"),
        ("5_prime_UTR_premature_start_codon_gain_variant", "A", "G", "5'UTR"),
        ("NMD_transcript_variant", "A", "G", "Silent"),
        ("made_up_variant", "A", "G", None),
    ],
)
def test_consequence_mapping_edges(consequence: str, ref: str, alt: str, expected: str | None) -> None:
    assert classification_from_consequence(consequence, ref=ref, alt=alt) == expected


def test_ranks_put_interaction_terms_last() -> None:
    assert consequence_rank("missense_variant") < consequence_rank("protein_protein_contact") < UNRANKED
    assert (
        consequence_rank("stop_gained") < consequence_rank("missense_variant") < consequence_rank("synonymous_variant")
    )
    assert consequence_rank("nothing_known") == UNRANKED


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Missense_Mutation", "Missense_Mutation"),
        ("missense_mutation", "Missense_Mutation"),
        ("missense", "Missense_Mutation"),
        ("stop_gained", "Nonsense_Mutation"),
        ("amplification", "Amplification"),
        ("homdel", "Deletion"),
        ("rearrangement", "Fusion"),
        ("", None),
        ("weird", None),
    ],
)
def test_normalise_classification(text: str, expected: str | None) -> None:
    assert normalise_classification(text) == expected


@pytest.mark.parametrize(
    ("raw", "change", "cls"),
    [
        ("p.Val600Glu", "V600E", "Missense_Mutation"),
        ("ENSP00000288602.6:p.Val600Glu", "V600E", "Missense_Mutation"),
        ("p.(Val600Glu)", "V600E", "Missense_Mutation"),
        ("p.Val600%3D", "V600=", "Silent"),
        ("p.Val600=", "V600=", "Silent"),
        ("p.V600V", "V600V", "Silent"),
        ("p.Arg213Ter", "R213*", "Nonsense_Mutation"),
        ("p.Val600GlufsTer5", "V600Efs*5", "Frame_Shift_Del"),
        ("p.V600fs", "V600fs", "Frame_Shift_Del"),
        ("p.Glu746_Ala750del", "E746_A750del", "In_Frame_Del"),
        ("p.Leu747_Pro753delinsSer", "L747_P753delinsS", "In_Frame_Del"),
        ("p.Tyr772_Ala775dup", "Y772_A775dup", "In_Frame_Ins"),
        ("p.Ter394GlnextTer10", "*394Qext*10", "Nonstop_Mutation"),
        ("p.Met1?", "M1?", None),
        ("p.?", "?", None),
        ("p.=", "=", "Silent"),
        ("", "", None),
        (".", "", None),
    ],
)
def test_protein_changes(raw: str, change: str, cls: str | None) -> None:
    assert normalise_protein_change(raw) == change
    assert classification_from_protein(change) == cls


# ---------------------------------------------------------------- regression tests (issue 8, "Why")


def test_vep_maf_with_protein_protein_contact_rows_is_read_whole() -> None:
    panel = _read("vep_so_terms.maf")
    calls = {(v.gene, v.protein_change): v for v in panel.variants}  # type: ignore[attr-defined]
    assert len(panel.variants) == 8  # type: ignore[attr-defined]
    assert calls[("TP53", "R175H")].classification == "Missense_Mutation"
    assert calls[("PIK3CA", "E545K")].classification == "Missense_Mutation"
    assert calls[("PTEN", "R130*")].classification == "Nonsense_Mutation"
    assert calls[("ARID1A", "Q1334Afs*5")].classification == "Frame_Shift_Ins"
    assert calls[("BRAF", "V600=")].classification == "Silent" and not calls[("BRAF", "V600=")].nonsynonymous
    assert calls[("APC", "")].classification == "Targeted_Region" and not calls[("APC", "")].nonsynonymous
    assert any("protein_protein_contact" in n for n in panel.notes)  # type: ignore[attr-defined]


def test_snpeff_vcf_whose_first_ann_entry_is_an_interaction_term() -> None:
    panel = _read("snpeff_interaction_first.vcf")
    tp53, kras = panel.variants  # type: ignore[attr-defined]
    assert (tp53.gene, tp53.protein_change, tp53.classification) == ("TP53", "R175H", "Missense_Mutation")
    assert tp53.nonsynonymous and tp53.vaf == pytest.approx(0.5)
    assert (kras.gene, kras.protein_change) == ("KRAS", "G12V")


def test_vep_vcf_picks_the_canonical_transcript_then_the_most_severe_mapped_term() -> None:
    panel = _read("vep_canonical.vcf")
    braf, idh1 = panel.variants  # type: ignore[attr-defined]
    # the NMD transcript's stop_gained is not canonical; among canonical entries missense beats the contact term
    assert (braf.protein_change, braf.classification) == ("V600E", "Missense_Mutation")
    assert (idh1.protein_change, idh1.classification) == ("R132=", "Silent")


def test_vcf_sample_names_never_reach_notes() -> None:
    text = (DATA / "vep_canonical.vcf").read_text().replace("PATIENT-NAME-NORMAL\tPATIENT-NAME-TUMOR", "JD1\tJD2")
    panel = read_panel(text.encode(), name="x.vcf")
    assert panel.notes and all("JD" not in n for n in panel.notes)  # "first sample column was used"


def test_csv_gene_without_change_is_unknown_with_a_note_not_missense() -> None:
    panel = read_panel(b"gene,protein_change\nERBB2,\nEGFR,L858R\n", name="p.csv")
    erbb2, egfr = panel.variants
    assert erbb2.classification == "Unknown" and not erbb2.nonsynonymous
    assert egfr.classification == "Missense_Mutation"
    assert any("1 call(s) have neither a protein change nor a known consequence" in n for n in panel.notes)


def test_alteration_type_column_is_read_as_such() -> None:
    text = (
        "gene,protein_change,alteration_type\nERBB2,,amplification\nCDKN2A,,deletion\nALK,EML4-ALK,fusion\n"
        "BRAF,V600E,mutation\nMET,amplification,\n"
    )
    erbb2, cdkn2a, alk, braf, met = read_panel(text.encode(), name="p.csv").variants
    assert [erbb2.classification, cdkn2a.classification, alk.classification] == ["Amplification", "Deletion", "Fusion"]
    assert alk.protein_change == "EML4-ALK"
    assert braf.classification == "Missense_Mutation"
    assert met.classification == "Amplification" and met.protein_change == ""
    assert not erbb2.nonsynonymous  # a copy-number call is not counted in TMB


def test_negative_or_impossible_read_counts_are_clear_errors() -> None:
    base = "Hugo_Symbol\tVariant_Classification\tHGVSp_Short\tt_ref_count\tt_alt_count\n"
    with pytest.raises(PanelInputError, match="t_alt_count"):
        read_panel((base + "TP53\tMissense_Mutation\tp.R273H\t10\t-3\n").encode(), name="x.maf")
    with pytest.raises(PanelInputError, match="larger than the depth"):
        read_panel(
            (base.replace("t_ref_count", "t_depth") + "TP53\tMissense_Mutation\tp.R273H\t10\t30\n").encode(),
            name="x.maf",
        )
    (ok,) = read_panel((base + "TP53\tMissense_Mutation\tp.R273H\t30\t10\n").encode(), name="x.maf").variants
    assert ok.vaf == pytest.approx(0.25)


def test_overlong_line_is_a_panel_error_not_a_csv_crash() -> None:
    text = "gene,protein_change\nEGFR," + '"' + "L" * 200_000 + '"\n'
    with pytest.raises(PanelInputError, match="line 2"):
        read_panel(text.encode(), name="p.csv")
    with pytest.raises(PanelInputError, match="line 2"):
        read_panel(b'gene,protein_change\nEGFR,"L858R\n', name="p.csv")  # unterminated quote


def test_multisample_maf_from_the_repository() -> None:
    panel = _read("multisample.maf")
    assert panel.samples == ("SYN-A-T01", "SYN-B-T01", "SYN-C-T01")  # type: ignore[attr-defined]
    with pytest.raises(PanelInputError, match="choose one"):
        panel.for_sample(None)  # type: ignore[attr-defined]
    calls = panel.for_sample("SYN-B-T01")  # type: ignore[attr-defined]
    assert [v.protein_change for v in calls] == ["E746_A750del", "R273H"]


def test_result_is_picklable_for_an_isolated_worker() -> None:
    panel = _read("vep_so_terms.maf")
    assert pickle.loads(pickle.dumps(panel)) == panel
