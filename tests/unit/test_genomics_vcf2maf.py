"""The consequence vocabulary against vcf2maf's own tables (``tests/data/vcf2maf/``, extracted unchanged from
mskcc/vcf2maf ``vcf2maf.pl`` by ``scripts/extract_vcf2maf_terms.py``; Apache-2.0) and the vocabulary examples of
issue 16 ("Why": delins by net length, splice region before synonymous, HGVS forms)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pytest

from medai_core.genomics.readers import read_panel
from medai_core.genomics.vocabulary import (
    SO_TERMS,
    VCF2MAF_DIFFERENCES,
    classification_from_consequence,
    classification_from_protein,
    consequence_rank,
    normalise_protein_change,
)

TABLES = Path(__file__).resolve().parents[1] / "data" / "vcf2maf" / "vcf2maf_consequence_tables.pl"
VCF2MAF_UNKNOWN_RANK = 20  # GetEffectPriority: "Unrecognized effect ... Assigning lowest priority!"


@lru_cache(maxsize=1)
def _text() -> str:
    return TABLES.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def vcf2maf_priority() -> dict[str, int]:
    """``%effectPriority`` as Perl builds it: a key written twice keeps its later value."""
    body = _text().split("my %effectPriority = (", 1)[1].split("\n    );", 1)[0]
    table: dict[str, int] = {}
    for match in re.finditer(r"^\s*'([^']*)'\s*=>\s*(\d+)", body, re.MULTILINE):
        table[match.group(1)] = int(match.group(2))
    return table


def _python_condition(perl: str) -> str:
    """One ``return ... if( COND )`` condition of ``GetVariantClassification`` as a Python expression."""
    cond = perl.replace("not defined $effect or not $effect", "not effect")
    cond = re.sub(r"\$effect eq '([^']*)'", r"(effect == '\1')", cond)
    cond = re.sub(r"\$effect =~ /([^/]*)/", r"bool(re.search(r'\1', effect))", cond)
    cond = re.sub(r"\$var_type eq '(\w+)'", r"(var_type == '\1')", cond)
    cond = cond.replace("!$inframe", "(not inframe)").replace("$inframe", "inframe")
    assert "$" not in cond.replace("$'", "").replace("$)", ""), cond
    return cond


@lru_cache(maxsize=1)
def vcf2maf_rules() -> tuple[tuple[str, str], ...]:
    body = _text().split("sub GetVariantClassification {", 1)[1]
    rules = re.findall(r'return "([^"]+)" if\s*\((.*)\);\s*(?:#.*)?$', body, re.MULTILINE)
    assert len(rules) >= 15
    return tuple((cls, _python_condition(cond)) for cls, cond in rules)


def vcf2maf_class(effect: str, var_type: str, inframe: bool) -> str:
    """What vcf2maf's ``GetVariantClassification`` returns (rules in order, else Targeted_Region)."""
    scope = {"re": re, "bool": bool, "effect": effect, "var_type": var_type, "inframe": inframe}
    for cls, cond in vcf2maf_rules():
        if eval(cond, {"__builtins__": {}}, scope):  # our own translation of the shipped rules
            return cls
    return "Targeted_Region"


def _plain_terms() -> list[str]:
    """vcf2maf's keys that are one SO term (not the empty key, not SnpEff's ``a + b`` composites)."""
    return [t for t in vcf2maf_priority() if t and " " not in t and "+" not in t]


def test_extracted_table_is_the_whole_vcf2maf_table() -> None:
    assert "mskcc/vcf2maf" in _text() and "Apache" in _text()
    assert len(vcf2maf_priority()) >= 75
    assert vcf2maf_priority()["protein_altering_variant"] == 7  # written twice in the hash (5, then 7): Perl keeps 7


@pytest.mark.parametrize("term", _plain_terms())
def test_every_vcf2maf_term_has_vcf2maf_rank(term: str) -> None:
    assert term in SO_TERMS
    assert consequence_rank(term) == vcf2maf_priority()[term]


def test_terms_vcf2maf_lacks_rank_as_vcf2maf_ranks_unknown_terms() -> None:
    extra = [t for t in SO_TERMS if t not in vcf2maf_priority()]
    for term in extra:
        assert consequence_rank(term) == VCF2MAF_UNKNOWN_RANK, term
        assert term in VCF2MAF_DIFFERENCES, term


# (variant type, ref, alt, in frame): an SNV, a 1-base deletion, a 3-base insertion, a 3-base deletion
_ALLELES = [("SNP", "A", "T", True), ("DEL", "AC", "A", False), ("INS", "A", "ACGT", True), ("DEL", "ACGT", "A", True)]


@pytest.mark.parametrize("term", _plain_terms())
def test_every_vcf2maf_term_has_vcf2maf_class(term: str) -> None:
    for var_type, ref, alt, inframe in _ALLELES:
        if term in VCF2MAF_DIFFERENCES and not (term == "protein_altering_variant" and var_type != "SNP"):
            continue
        if term == "frameshift_variant" and inframe:
            continue  # a frameshift is never in frame; vcf2maf has no rule for it
        expected = vcf2maf_class(term, var_type, inframe)
        assert classification_from_consequence(term, ref=ref, alt=alt, variant_type=var_type) == expected, (
            term,
            var_type,
        )


def test_every_difference_names_a_term_of_the_table() -> None:
    assert set(VCF2MAF_DIFFERENCES) <= set(SO_TERMS)
    for term in VCF2MAF_DIFFERENCES:
        if term in vcf2maf_priority() and term != "protein_altering_variant":
            assert SO_TERMS[term][1] != vcf2maf_class(term, "SNP", True), f"{term} is no difference any more"


# ---------------------------------------------------------------- issue 16 "Why": vocabulary


_VCF_HEAD = (
    "##fileformat=VCFv4.2\n"
    '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. Format: '
    'Allele|Consequence|IMPACT|SYMBOL|Gene|Feature|BIOTYPE|HGVSc|HGVSp|Protein_position|Amino_acids|CANONICAL">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
    "##tumor_sample=TUMOR\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNORMAL\tTUMOR\n"
)


def test_vep_splice_region_and_synonymous_is_splice_region_as_vcf2maf() -> None:
    csq = (
        "CSQ=A|splice_region_variant&synonymous_variant|LOW|MET|ENSG2|ENST2|protein_coding|c.3081G>A|"
        "ENSP2:p.Glu1027%3D|1027|E|YES"
    )
    line = f"7\t116412043\t.\tG\tA\t.\tPASS\t{csq}\tGT:AD\t0/0:50,0\t0/1:60,40\n"
    (call,) = read_panel((_VCF_HEAD + line).encode(), name="splice.vcf").variants
    assert call.classification == "Splice_Region" and call.protein_change == "E1027="
    assert vcf2maf_class("splice_region_variant", "SNP", True) == "Splice_Region"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("N771delinsGY", "In_Frame_Ins"),  # EGFR exon 20 insertion (one residue replaced by two)
        ("p.Asn771delinsGlyTyr", "In_Frame_Ins"),
        ("E746_A750delinsQ", "In_Frame_Del"),
        ("L747_P753delinsS", "In_Frame_Del"),
        ("V600_K601delinsED", "Missense_Mutation"),  # same length: missense-like
        ("p.Val600_Lys601delinsGluAsp", "Missense_Mutation"),
        ("A767_V769delinsASVDNPH", "In_Frame_Ins"),
        ("G12delins4", None),  # residues not spelled out: nothing definite
    ],
)
def test_delins_is_classified_by_net_length(change: str, expected: str | None) -> None:
    assert classification_from_protein(normalise_protein_change(change)) == expected


def test_egfr_n771delinsgy_in_a_table_is_an_insertion() -> None:
    (call,) = read_panel(b"gene,protein_change\nEGFR,p.N771delinsGY\n", name="ex20.csv").variants
    assert call.classification == "In_Frame_Ins" and call.nonsynonymous


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("p.Val600Glu", "V600E"),
        ("p.(Val600Glu)", "V600E"),
        ("(p.Val600Glu)", "V600E"),
        ("p.[Val600Glu]", "V600E"),
        ("p.val600glu", "V600E"),
        ("p.VAL600GLU", "V600E"),
        ("NP_004324.2:p.(Val600Glu)", "V600E"),
        ("p.(Arg248Ter)", "R248*"),
        ("p.(Glu746_Ala750del)", "E746_A750del"),
        ("p.(Asp770_Asn771insSerValAsp)", "D770_N771insSVD"),
        ("p.G12C;p.G13D", "G12C;p.G13D"),  # two changes: kept as written, no class follows
    ],
)
def test_hgvs_three_letter_and_predicted_forms(raw: str, expected: str) -> None:
    assert normalise_protein_change(raw) == expected


def test_nonstop_extension_with_unknown_length_is_nonstop() -> None:
    assert classification_from_protein(normalise_protein_change("p.Ter1211Trpext*?")) == "Nonstop_Mutation"
