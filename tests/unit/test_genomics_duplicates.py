"""Duplicate calls by genomic identity and files with no calls (issue 21 item 5, its "Why" examples)."""

from __future__ import annotations

import pytest

from medai_core.genomics.panels import resolve_panel
from medai_core.genomics.readers import read_panel
from medai_core.genomics.tmb import compute_tmb

MAF_HEADER = (
    "Hugo_Symbol\tVariant_Classification\tHGVSp_Short\tChromosome\tStart_Position\tReference_Allele\t"
    "Tumor_Seq_Allele2\tTumor_Sample_Barcode\tt_ref_count\tt_alt_count\n"
)
CALLS = [
    ("TP53", "p.R175H", "17", 7578406, "C", "T"),
    ("KRAS", "p.G12D", "12", 25398284, "C", "T"),
    ("PIK3CA", "p.E545K", "3", 178936091, "G", "A"),
    ("APC", "p.R1450*", "5", 112175639, "C", "T"),
    ("SMAD4", "p.R361H", "18", 48591919, "G", "A"),
    ("FBXW7", "p.R465C", "4", 153249385, "G", "A"),
]


def _maf_written_twice() -> str:
    first = [f"{g}\tMissense_Mutation\t{p}\t{c}\t{pos}\t{r}\t{a}\tT1\t60\t40\n" for g, p, c, pos, r, a in CALLS]
    # a second caller (or a re-export) wrote every call again, with other read counts and "chr" names
    second = [f"{g}\tMissense_Mutation\t{p}\tchr{c}\t{pos}\t{r}\t{a}\tT1\t150\t50\n" for g, p, c, pos, r, a in CALLS]
    return MAF_HEADER + "".join(first + second)


def test_every_call_written_twice_with_other_read_counts_counts_once() -> None:
    panel = read_panel(_maf_written_twice().encode(), name="twice.maf")
    assert len(panel.variants) == 6
    tmb = compute_tmb(panel.variants, resolve_panel("IMPACT410"), cancer_type="Colorectal Cancer")
    assert round(tmb.tmb_per_mb, 1) == 5.9 and not tmb.high  # 11.8 and TMB-high when each call counted twice
    assert all(v.vaf == pytest.approx(50 / 200) for v in panel.variants)  # the deeper row (200 reads) is kept
    note = next(n for n in panel.notes if "duplicate" in n)
    assert "6 duplicate row(s)" in note and "most tumour reads" in note


def test_other_alleles_samples_and_positions_stay_apart() -> None:
    rows = [
        "TP53\tMissense_Mutation\tp.R175H\t17\t7578406\tC\tT\tT1\t60\t40\n",
        "TP53\tMissense_Mutation\tp.R175L\t17\t7578406\tC\tA\tT1\t60\t40\n",  # another ALT at the same position
        "TP53\tMissense_Mutation\tp.R175H\t17\t7578406\tC\tT\tT2\t60\t40\n",  # another tumour
        "BRAF\tMissense_Mutation\tp.V600E\t7\t140453136\tA\tT\tT1\t60\t40\n",
        "BRAF\tMissense_Mutation\tp.V600E\t7\t140453135\tCA\tTT\tT1\t60\t40\n",  # same protein change, other DNA
    ]
    panel = read_panel((MAF_HEADER + "".join(rows)).encode(), name="apart.maf")
    assert len(panel.variants) == 5 and not any("duplicate" in n for n in panel.notes)


def test_without_positions_gene_and_protein_change_identify_the_call() -> None:
    text = "gene,protein_change,vaf,sample\nEGFR,L858R,0.3,A\nEGFR,p.Leu858Arg,0.2,A\nEGFR,L858R,0.3,B\n"
    panel = read_panel(text.encode(), name="p.csv")
    assert [(v.sample, v.vaf) for v in panel.variants] == [("A", 0.3), ("B", 0.3)]
    assert any("1 duplicate row(s)" in n and "first row" in n for n in panel.notes)


_VCF_HEAD = (
    "##fileformat=VCFv4.2\n"
    '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. Format: '
    'Allele|Consequence|IMPACT|SYMBOL|Gene|Feature|BIOTYPE|HGVSc|HGVSp|Protein_position|Amino_acids|CANONICAL">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
    "##tumor_sample=TUMOR\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNORMAL\tTUMOR\n"
)


def test_vcf_record_written_twice_keeps_the_deeper_one() -> None:
    csq = "CSQ=T|missense_variant|MODERATE|BRAF|ENSG1|ENST1|protein_coding|c.1799T>A|ENSP1:p.Val600Glu|600|V/E|YES"
    shallow = f"7\t140453136\t.\tA\tT\t.\tPASS\t{csq}\tGT:AD\t0/0:50,0\t0/1:30,10\n"
    deep = f"7\t140453136\t.\tA\tT\t.\tPASS\t{csq}\tGT:AD\t0/0:50,0\t0/1:120,80\n"
    (call,) = read_panel((_VCF_HEAD + shallow + deep).encode(), name="twice.vcf").variants
    assert call.vaf == pytest.approx(80 / 200) and call.position == 140453136 and call.chromosome == "7"


EMPTY = {
    "empty.maf": MAF_HEADER,
    "empty.csv": "gene,protein_change,vaf\n",
    "empty.vcf": _VCF_HEAD,
}


@pytest.mark.parametrize("name", sorted(EMPTY))
def test_a_file_with_no_calls_says_so(name: str) -> None:
    panel = read_panel(EMPTY[name].encode(), name=name)
    assert not panel.variants
    assert any("holds no calls" in n for n in panel.notes)
