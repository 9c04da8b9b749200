"""Hostile gene-panel uploads (issue 10, fuzzer findings): each defect the fuzzer found, from a minimal input.

- malformed genotypes that made htslib/cyvcf2 segfault in ``Variant.format`` are refused as text, before cyvcf2;
- corrupt gzip streams (``zlib.error``, ``EOFError``, ``BadGzipFile``) are a ``PanelInputError``;
- rows with an empty gene are left out with a note (or the file is refused when no row has a gene);
- repeated calls are matched to evidence once, and files are capped at :data:`MAX_VARIANT_ROWS` rows;
- :func:`analyse_bytes` parses untrusted bytes only in the isolated worker, and only once.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from medai_core import untrusted
from medai_core.errors import PanelInputError
from medai_core.genomics.evidence import call_tier, call_tiers, distinct_calls, load_evidence, match_evidence
from medai_core.genomics.readers import MAX_VARIANT_ROWS, Variant, read_panel, vcf_samples
from medai_core.genomics.readers import common as panel_common

ROOT = Path(__file__).resolve().parents[2]
CSQ_FORMAT = "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature|BIOTYPE|HGVSc|HGVSp|Protein_position|Amino_acids|CANONICAL"
CSQ = "CSQ=T|missense_variant|MODERATE|BRAF|ENSG1|ENST1|protein_coding|c.1799T>A|ENSP1:p.Val600Glu|600|V/E|YES"
#: The fuzzer's minimal gzip trigger: a VEP VCF's first bytes with a damaged deflate block (52 bytes).
BAD_DEFLATE = bytes.fromhex(
    "1f8b0800000000000203b44fcd4bd52928ca2f49cdcc8b4fce48cc4b4fe5720a7274d309333330701d7e4c00a5edb23df0000000"
)


def vep_vcf(gt: str, *, fmt: str = "GT:AD", rest: str = ":60,40", alt: str = "T", records: int = 1) -> bytes:
    """A VEP-annotated single-sample VCF with the given genotype (the segfault trigger with ``fmt=GT:AD``)."""
    body = f"7\t140453136\t.\tA\t{alt}\t.\tPASS\t{CSQ}\t{fmt}\t{gt}{rest}\n" * records
    return (
        "##fileformat=VCFv4.2\n"
        f'##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. Format: '
        f'{CSQ_FORMAT}">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
        '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fraction">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\n" + body
    ).encode()


def snpeff_vcf(gt: str) -> bytes:
    """A SnpEff-annotated VCF whose sample is ``GT:AF`` (the fuzzer's third segfault: GT written ``0|``)."""
    return (
        "##fileformat=VCFv4.2\n"
        "##INFO=<ID=ANN,Number=.,Type=String,Description=\"Functional annotations: 'Allele | Annotation | "
        "Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID | Transcript_BioType | Rank | HGVS.c | "
        "HGVS.p'\">\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fraction">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\n"
        "12\t25398284\t.\tC\tA\t.\tPASS\tANN=A|missense_variant|MODERATE|KRAS|ENSG1|transcript|ENST1|protein_coding|"
        f"2/6|c.35G>T|p.Gly12Val\tGT:AF\t{gt}:0.25\n"
    ).encode()


# ---------------------------------------------------------------- 1. genotypes htslib cannot parse

SEGFAULT_TRIGGERS = {
    "20-digit allele": vep_vcf("99999999999999999999/0"),
    "negative allele": vep_vcf("0/-1"),
    "allele past ALT": vep_vcf("0/2"),
    "dangling phase (SnpEff GT:AF)": snpeff_vcf("0|"),
    "dangling slash": vep_vcf("0/"),
    "letters": vep_vcf("A/B"),
    "empty GT before AD": vep_vcf("", rest=":60,40"),
}


@pytest.mark.parametrize(
    ("gt", "n_alt", "ok"),
    [
        ("0/1", 1, True),
        ("1|0", 1, True),
        ("./.", 1, True),
        (".", 1, True),
        ("", 1, False),
        ("1", 1, True),
        ("0/2", 2, True),
        ("0/1/1", 1, True),
        ("0/2", 1, False),
        ("0/1", 0, False),
        ("0|", 1, False),
        ("/1", 1, False),
        ("0//1", 1, False),
        ("0/-1", 1, False),
        ("99999999999999999999/0", 1, False),
        ("0 /1", 1, False),
        ("0\\1", 1, False),
    ],
)
def test_genotype_table_edges(gt: str, n_alt: int, ok: bool) -> None:
    assert (vcf_samples.check_genotype(gt, n_alt) is None) is ok


def test_multi_allelic_genotype_counts_every_alt() -> None:
    panel = read_panel(vep_vcf("1/2", rest=":10,20,30", alt="T,G"), name="t.vcf")
    assert [v.gene for v in panel.variants] == ["BRAF"]
    with pytest.raises(PanelInputError, match="allele 3 but the record has 2 ALT"):
        read_panel(vep_vcf("0/3", rest=":10,20,30", alt="T,G"), name="t.vcf")


def test_gt_not_first_and_extra_sample_columns_are_refused() -> None:
    with pytest.raises(PanelInputError, match="GT must be the first FORMAT key"):
        read_panel(vep_vcf("60,40", fmt="AD:GT", rest=":0/1"), name="t.vcf")
    empty = vep_vcf("0/1").replace(b"\tTUMOR\n", b"\tNORMAL\tTUMOR\n").replace(b"\tGT:AD\t", b"\tGT:AD\t\t")
    with pytest.raises(PanelInputError, match="a sample column is empty"):  # fuzz seed 11: SIGSEGV before
        read_panel(empty, name="t.vcf")
    extra = vep_vcf("0/1").replace(b":60,40\n", b":60,40\t0/1:1,1\n")
    with pytest.raises(PanelInputError, match="2 sample columns where the #CHROM header names 1"):
        read_panel(extra, name="t.vcf")


# ---------------------------------------------------------------- 2. corrupt compression


def test_the_fuzzers_52_byte_gzip_is_a_panel_input_error() -> None:
    assert len(BAD_DEFLATE) == 52
    with pytest.raises(PanelInputError, match="gzip-compressed but cannot be unpacked"):
        read_panel(BAD_DEFLATE, name="tumour.vcf.gz")


@pytest.mark.parametrize(
    "damage",
    [
        lambda z: z[: len(z) // 2],  # truncated: EOFError
        lambda z: z[:3] + b"\xff" + z[4:],  # reserved flag bits: BadGzipFile
        lambda z: z[:-8] + bytes(8),  # CRC and size wrong
        lambda z: z + b"garbage",  # trailing bytes that are not a member
        lambda z: z[:12] + bytes([z[12] ^ 0xFF]) + z[13:],  # a damaged deflate block: zlib.error
    ],
)
def test_damaged_gzip_is_a_panel_input_error(damage: object) -> None:
    good = gzip.compress(b"gene,protein_change\n" + b"".join(b"TP53,R%dH\n" % (100 + i) for i in range(50)))
    assert len(read_panel(good, name="p.csv.gz").variants) == 50
    with pytest.raises(PanelInputError, match="cannot be unpacked"):
        read_panel(damage(good), name="p.csv.gz")  # type: ignore[operator]


def test_multi_member_gzip_is_joined_and_a_bomb_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    two = gzip.compress(b"gene,protein_change\nBRAF,V600E\n") + gzip.compress(b"EGFR,L858R\n")
    assert [v.gene for v in read_panel(two, name="p.csv.gz").variants] == ["BRAF", "EGFR"]
    monkeypatch.setattr(untrusted, "MAX_DECOMPRESSED_BYTES", 1000)
    bomb = gzip.compress(b"gene,protein_change\n" + b"BRAF,V600E\n" * 200)
    with pytest.raises(PanelInputError, match="unpacks to more than"):
        read_panel(bomb, name="p.csv.gz")


# ---------------------------------------------------------------- 3. empty genes


def test_maf_row_with_an_empty_gene_is_left_out_with_a_note() -> None:
    with pytest.raises(PanelInputError, match="no row has a gene in its Hugo_Symbol column"):
        read_panel(b"Hugo_Symbol\tVariant_Classification\n\tMissense_Mutation\n", name="a.maf")
    panel = read_panel(
        b"Hugo_Symbol\tVariant_Classification\tHGVSp_Short\n \tMissense_Mutation\tp.V600E\n"
        b"BRAF\tMissense_Mutation\tp.V600E\n",
        name="a.maf",
    )
    assert [v.gene for v in panel.variants] == ["BRAF"]
    assert any("1 row(s) with an empty gene column were left out" in n for n in panel.notes)


def test_table_row_with_an_empty_gene_is_left_out_with_a_note() -> None:
    with pytest.raises(PanelInputError, match="no row has a gene in its gene column"):
        read_panel(b"gene,protein_change\n,V600E\n  ,L858R\n", name="a.csv")
    panel = read_panel(b"gene,protein_change\n,V600E\nEGFR,L858R\n", name="a.csv")
    assert [(v.gene, v.protein_change) for v in panel.variants] == [("EGFR", "L858R")]
    assert panel.notes[0].startswith("1 row(s) with an empty gene column")


def test_vcf_annotation_with_a_blank_symbol_is_unknown_not_empty() -> None:
    blank = vep_vcf("0/1").replace(b"|BRAF|ENSG1|", b"| | |")
    (call,) = read_panel(blank, name="t.vcf").variants
    assert call.gene == "Unknown"


# ---------------------------------------------------------------- 4. repeated calls and the row cap


def test_repeated_calls_are_matched_once_with_the_same_evidence(monkeypatch: pytest.MonkeyPatch) -> None:
    from medai_core.genomics.evidence import matching as evidence_module

    base = load_evidence()
    one = Variant("BRAF", "V600E", "Missense_Mutation", 0.4, "")
    many = [one, *[Variant("BRAF", "V600E", "Missense_Mutation", 0.1 * (i % 9), "") for i in range(19_999)]]
    expected = match_evidence(base, [one], "Melanoma")
    assert expected
    calls = {"n": 0}
    real = evidence_module.match_kind

    def counting(*args: object) -> object:
        calls["n"] += 1
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(evidence_module, "match_kind", counting)
    match_evidence(base, [one], "Melanoma")
    single = calls["n"]
    assert 0 < single <= len(base.entries["BRAF"])  # the gene index compares a call with its candidates only
    assert match_evidence(base, many, "Melanoma") == expected
    assert calls["n"] == 2 * single  # one call's worth of matching, not 20,000
    counts = distinct_calls([*many, Variant("EGFR", "L858R", "Missense_Mutation", None, "")])
    assert list(counts.values()) == [20_000, 1] and next(iter(counts)) is one
    tiers = call_tiers(many[:3], expected)
    assert tiers == (call_tier(one, expected),) * 3


def test_files_over_the_row_cap_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert MAX_VARIANT_ROWS == 100_000
    monkeypatch.setattr(panel_common, "MAX_VARIANT_ROWS", 5)
    assert len(read_panel(b"gene,protein_change\n" + b"BRAF,V600E\n" * 5, name="a.csv").variants) == 1  # one call
    with pytest.raises(PanelInputError, match="more than 5 variant rows"):
        read_panel(b"gene,protein_change\n" + b"BRAF,V600E\n" * 6, name="a.csv")
    with pytest.raises(PanelInputError, match="more than 5 variant rows"):
        read_panel(b"Hugo_Symbol\tVariant_Classification\n" + b"BRAF\tMissense_Mutation\n" * 6, name="a.maf")
    assert len(read_panel(vep_vcf("0/1", records=5), name="t.vcf").variants) == 1  # the same record five times
    with pytest.raises(PanelInputError, match="more than 5 variant rows"):
        read_panel(vep_vcf("0/1", records=6), name="t.vcf")


# ---------------------------------------------------------------- 5. analyse_bytes parses only in the worker


def test_a_call_written_twice_counts_once_in_tmb_with_a_note() -> None:
    rows = b"gene,protein_change,vaf\nBRAF,V600E,0.31\nBRAF,V600E,0.31\nTP53,R175H,0.4\nBRAF,V600E,0.12\n"
    panel = read_panel(rows, name="p.csv")
    # one sample, no position: the same gene and protein change is one call whatever its VAF (issue 21 item 5)
    assert [(v.gene, v.protein_change, v.vaf) for v in panel.variants] == [
        ("BRAF", "V600E", 0.31),
        ("TP53", "R175H", 0.4),
    ]
    assert any("2 duplicate row(s)" in note and "first row" in note for note in panel.notes)
