"""Variant_Classification values of other annotators (GATK Funcotator, Broad Oncotator) read as vcf2maf's terms."""

from __future__ import annotations

import pytest

from medai_core.genomics.panels import MAF_SYNONYMS, is_nonsynonymous, normalise_classification
from medai_core.genomics.readers import read_panel


@pytest.mark.parametrize(
    ("value", "expected", "counted"),
    [
        ("Start_Codon_SNP", "Translation_Start_Site", True),
        ("START_CODON_DEL", "Translation_Start_Site", True),
        ("Start_Codon_Ins", "Translation_Start_Site", True),
        ("Stop_Codon_Del", "Nonstop_Mutation", True),
        ("De_novo_Start_InFrame", "5'UTR", False),
        ("De_novo_Start_OutOfFrame", "5'UTR", False),
        ("lincRNA", "RNA", False),
        ("Missense_Mutation", "Missense_Mutation", True),
    ],
)
def test_funcotator_terms(value: str, expected: str, counted: bool) -> None:
    assert normalise_classification(value) == expected
    assert is_nonsynonymous(expected) is counted


def test_every_synonym_maps_into_the_vocabulary() -> None:
    for value in MAF_SYNONYMS.values():
        assert normalise_classification(value) == value


def test_funcotator_maf_counts_start_codon_calls_and_not_upstream_starts() -> None:
    header = "Hugo_Symbol\tVariant_Classification\tHGVSp_Short\tTumor_Sample_Barcode"
    rows = [
        "PTEN\tStart_Codon_SNP\tp.M1I\tT1",
        "TP53\tMissense_Mutation\tp.R175H\tT1",
        "KRAS\tDe_novo_Start_OutOfFrame\t\tT1",
        "MALAT1\tlincRNA\t\tT1",
    ]
    panel = read_panel(("\n".join([header, *rows]) + "\n").encode(), name="funcotator.maf")
    classes = {v.gene: v.classification for v in panel.variants}
    assert classes == {"PTEN": "Translation_Start_Site", "TP53": "Missense_Mutation", "KRAS": "5'UTR", "MALAT1": "RNA"}
    assert sum(is_nonsynonymous(v.classification) for v in panel.variants) == 2


@pytest.mark.parametrize("missing", [".", "NA", "-", "n/a"])
def test_table_vaf_written_as_missing_is_unknown(missing: str) -> None:
    text = f"gene,protein_change,vaf\nBRAF,V600E,{missing}\nTP53,R175H,0.31\n"
    panel = read_panel(text.encode(), name="panel.csv")
    vafs = {v.gene: v.vaf for v in panel.variants}
    assert vafs == {"BRAF": None, "TP53": 0.31}


_VCF_HEAD = (
    "##fileformat=VCFv4.2\n"
    '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. Format: '
    'Allele|Consequence|IMPACT|SYMBOL|Gene|Feature|BIOTYPE|HGVSc|HGVSp|Protein_position|Amino_acids|CANONICAL">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
    "##tumor_sample=TUMOR\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNORMAL\tTUMOR\n"
)
_CSQ = "CSQ=T|missense_variant|MODERATE|BRAF|ENSG1|ENST1|protein_coding|c.1799T>A|ENSP1:p.Val600Glu|600|V/E|YES"


@pytest.mark.parametrize(
    ("tail", "match"),
    [
        ("\tGT:AD", "0 sample columns"),  # FORMAT with no sample columns: htslib crashed reading the genotypes
        ("\tGT:AD\t0/1:60,40", "1 sample columns"),
        ("\tGT:AD" + "\x00" * 64, "NUL bytes|not a MAF, VCF"),  # binary: refused at detection or per line
    ],
)
def test_vcf_record_missing_its_sample_columns_is_refused_in_process(tail: str, match: str) -> None:
    good = f"7\t140453136\t.\tA\tT\t.\tPASS\t{_CSQ}\tGT:AD\t0/0:50,0\t0/1:60,40\n"
    bad = f"7\t140453137\t.\tA\tT\t.\tPASS\t{_CSQ}{tail}\n"
    from medai_core.errors import PanelInputError

    with pytest.raises(PanelInputError, match=match):
        read_panel((_VCF_HEAD + good + bad).encode(), name="case.vcf")


def test_vcf_record_without_format_is_read_with_unknown_genotype() -> None:
    line = f"7\t140453136\t.\tA\tT\t.\tPASS\t{_CSQ}\n"
    panel = read_panel((_VCF_HEAD + line).encode(), name="case.vcf")
    assert [v.gene for v in panel.variants] == ["BRAF"]
