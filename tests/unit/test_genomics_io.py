"""Panel readers: MAF, VEP/SnpEff-annotated VCF, CSV/TSV; every bad-input message."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from medai_core.errors import InputError, PanelInputError
from medai_core.genomics.panels import classification_from_consequence, normalise_gene, resolve_panel
from medai_core.genomics.readers import read_panel
from medai_core.genomics.tumours import resolve_tumour_type
from medai_core.genomics.vocabulary import normalise_protein_change

CSQ_FORMAT = "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature|BIOTYPE|HGVSc|HGVSp|Protein_position|Amino_acids|CANONICAL"
VEP_VCF = f"""##fileformat=VCFv4.2
##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. Format: {CSQ_FORMAT}">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">
##tumor_sample=TUMOR
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNORMAL\tTUMOR
7\t140453136\t.\tA\tT\t.\tPASS\tCSQ=T|missense_variant|MODERATE|BRAF|ENSG1|ENST1|protein_coding|c.1799T>A|ENSP1:p.Val600Glu|600|V/E|YES\tGT:AD\t0/0:50,0\t0/1:60,40
17\t7577120\t.\tC\tT\t.\tPASS\tCSQ=T|synonymous_variant|LOW|TP53|ENSG2|ENST2|protein_coding|c.1C>T|ENSP2:p.Arg273%3D|273|R|YES\tGT:AD\t0/0:40,0\t0/1:30,10
12\t49420000\t.\tAG\tA\t.\tPASS\tCSQ=-|frameshift_variant|HIGH|MLL2|ENSG3|ENST3|protein_coding|c.1del|ENSP3:p.Gln100fs|100|Q/X|YES\tGT:AD\t0/0:40,0\t0/1:70,30
1\t100\t.\tG\tA\t.\tLowQual\tCSQ=A|missense_variant|MODERATE|NRAS|ENSG4|ENST4|protein_coding|c.1G>A|ENSP4:p.Gln61Arg|61|Q/R|YES\tGT:AD\t0/0:40,0\t0/1:70,30
"""
ANN_FORMAT = (
    "'Allele | Annotation | Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID | "
    "Transcript_BioType | Rank | HGVS.c | HGVS.p | cDNA.pos / cDNA.length | CDS.pos / CDS.length | AA.pos / AA.length"
)
ANN_VCF = f"""##fileformat=VCFv4.2
##INFO=<ID=ANN,Number=.,Type=String,Description="Functional annotations: {ANN_FORMAT}'">
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fraction">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tsample1
7\t55259515\t.\tT\tG\t.\tPASS\tANN=G|missense_variant|MODERATE|EGFR|ENSG|transcript|ENST|protein_coding|21/28|c.2573T>G|p.Leu858Arg|1|1|1||\tGT:AF\t0/1:0.25
"""


def test_vep_vcf_tumour_normal_reads_tumour_vaf_and_filters_non_pass() -> None:
    panel = read_panel(VEP_VCF.encode(), name="vep.vcf")
    assert panel.source_format == "VCF (VEP CSQ)"
    assert panel.samples == ("TUMOR",)
    braf, tp53, kmt2d = panel.variants
    assert (braf.gene, braf.protein_change, braf.classification) == ("BRAF", "V600E", "Missense_Mutation")
    assert braf.vaf == pytest.approx(0.4)
    assert tp53.classification == "Silent" and not tp53.nonsynonymous
    assert kmt2d.gene == "KMT2D" and kmt2d.classification == "Frame_Shift_Del"
    assert any("PASS" in n for n in panel.notes)


def test_snpeff_vcf_single_sample() -> None:
    panel = read_panel(ANN_VCF.encode(), name="snpeff.vcf")
    (egfr,) = panel.variants
    assert panel.source_format == "VCF (SnpEff ANN)"
    assert (egfr.gene, egfr.protein_change, egfr.vaf) == ("EGFR", "L858R", pytest.approx(0.25))


def test_gzipped_vcf_is_read() -> None:
    assert len(read_panel(gzip.compress(ANN_VCF.encode()), name="x.vcf.gz").variants) == 1


@pytest.mark.full_data
def test_unannotated_vcf_fixture_says_annotate(shared_data: Path) -> None:
    path = shared_data / "genes" / "fixtures" / "vcf2maf_test_mutect.vcf"
    with pytest.raises(PanelInputError, match="VEP"):
        read_panel(path.read_bytes(), name=path.name)


def test_vcf_without_samples() -> None:
    text = "\n".join(line.split("\tFORMAT")[0] if line.startswith("#CHROM") else line for line in ANN_VCF.splitlines())
    text = text.replace("\tGT:AF\t0/1:0.25", "")
    with pytest.raises(PanelInputError, match="no samples"):
        read_panel(text.encode(), name="sites.vcf")


def test_vcf_malformed_line_is_named() -> None:
    text = ANN_VCF + "7\tnotanumber\t.\tT\n"
    with pytest.raises(PanelInputError, match="line 7"):
        read_panel(text.encode(), name="bad.vcf")


@pytest.mark.full_data
def test_multisample_maf_needs_a_sample(shared_data: Path) -> None:
    path = shared_data / "genes" / "fixtures" / "tcga_example_multisample.maf"
    panel = read_panel(path.read_bytes(), name=path.name)
    assert panel.source_format == "MAF" and len(panel.samples) > 1
    with pytest.raises(PanelInputError, match="choose one"):
        panel.for_sample(None)
    with pytest.raises(PanelInputError, match="not in the file"):
        panel.for_sample("NOPE")
    first = panel.for_sample(panel.samples[0])
    assert first and all(v.sample == panel.samples[0] for v in first)


@pytest.mark.full_data
def test_versioned_single_sample_maf(shared_data: Path) -> None:
    path = shared_data / "genes" / "fixtures" / "tcga_example_single_sample.maf"
    panel = read_panel(path.read_bytes(), name=path.name)
    calls = panel.for_sample(None)
    assert len(calls) > 100
    assert any(v.classification == "Silent" and not v.nonsynonymous for v in calls)
    assert all(v.vaf is None or 0 <= v.vaf <= 1 for v in calls)


MAF = (
    "#version 2.4\nHugo_Symbol\tVariant_Classification\tTumor_Sample_Barcode\tHGVSp_Short\n"
    "MLL2\tMissense_Mutation\tS1\tp.R5432W\n"
)


def test_maf_alias_and_protein_change() -> None:
    (v,) = read_panel(MAF.encode(), name="x.maf").variants
    assert (v.gene, v.protein_change) == ("KMT2D", "R5432W")


def test_maf_missing_column() -> None:
    text = "Hugo_Symbol\tTumor_Sample_Barcode\nTP53\tS1\n"
    with pytest.raises(PanelInputError, match="Variant_Classification"):
        read_panel(text.encode(), name="x.maf")


def test_maf_malformed_line_is_named() -> None:
    text = MAF + "TP53\tMissense_Mutation\n"
    with pytest.raises(PanelInputError, match="line 4"):
        read_panel(text.encode(), name="x.maf")


def test_maf_unknown_classification_is_a_note_not_a_refusal() -> None:
    panel = read_panel(MAF.replace("Missense_Mutation", "Weird").encode(), name="x.maf")
    (v,) = panel.variants
    assert v.classification == "Missense_Mutation"  # decided by p.R5432W, and said so
    assert any("'Weird'" in n for n in panel.notes)
    no_protein = read_panel(MAF.replace("Missense_Mutation", "Weird").replace("p.R5432W", "").encode(), name="x.maf")
    assert no_protein.variants[0].classification == "Unknown" and not no_protein.variants[0].nonsynonymous
    assert any("Unknown" in n for n in no_protein.notes)


def test_csv_simple_and_inferred_consequences() -> None:
    text = "gene,protein_change,vaf\nEGFR,L858R,0.3\nTP53,R213*,45%\nBRCA2,T3085=,\nMLL2,Q100fs,\n"
    calls = read_panel(text.encode(), name="p.csv").variants
    assert [v.classification for v in calls] == ["Missense_Mutation", "Nonsense_Mutation", "Silent", "Frame_Shift_Del"]
    assert calls[1].vaf == pytest.approx(0.45)
    assert calls[3].gene == "KMT2D"


def test_tsv_with_consequence_column() -> None:
    text = "Gene\tProtein\tConsequence\nTP53\tp.Arg273His\tmissense_variant\nPTEN\t\tintron_variant\n"
    tp53, pten = read_panel(text.encode(), name="p.tsv").variants
    assert tp53.protein_change == "R273H" and tp53.nonsynonymous
    assert pten.classification == "Intron" and not pten.nonsynonymous


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("symbol_x,protein_change\nEGFR,L858R\n", "no gene column"),
        ("gene,zzz\nEGFR,L858R\n", "no protein change column"),
        ("gene,protein_change\nEGFR,L858R,extra\n", "line 2"),
        ("gene,protein_change,alteration_type\nERBB2,,gained-ish\n", "unknown alteration type"),
        ("gene,protein_change,vaf\nEGFR,L858R,2000\n", "VAF"),
    ],
)
def test_csv_bad_inputs(text: str, message: str) -> None:
    with pytest.raises(PanelInputError, match=message):
        read_panel(text.encode(), name="p.csv")


def test_empty_panel_is_a_valid_empty_result() -> None:
    assert read_panel(b"gene,protein_change\n", name="p.csv").variants == ()
    assert read_panel(b"Hugo_Symbol\tVariant_Classification\n", name="p.maf").for_sample(None) == ()


@pytest.mark.parametrize("data", [b"", b"   \n", b"\x89PNG\r\n\x1a\n\x00\x00binary", b"just some words\n"])
def test_not_a_panel(data: bytes) -> None:
    with pytest.raises(PanelInputError) as info:
        read_panel(data, name="upload.bin")
    assert isinstance(info.value, InputError)
    assert "MAF" in str(info.value)


def test_unknown_tumour_type_and_synonyms() -> None:
    assert resolve_tumour_type("nsclc") == "Non-Small Cell Lung Cancer"
    with pytest.raises(PanelInputError, match="Unknown tumour type"):
        resolve_tumour_type("Martian sarcoma")


def test_panels_and_normalisation() -> None:
    assert normalise_gene(" mll3 ") == "KMT2C"
    assert resolve_panel("impact341").observes("TP53")
    assert not resolve_panel("IMPACT341").observes("ZFHX3")  # added in IMPACT410
    assert resolve_panel("IMPACT410").observes("ZFHX3")
    assert resolve_panel("1.5").size_mb == 1.5
    for bad in ("nope", "-1", "500"):
        with pytest.raises(PanelInputError):
            resolve_panel(bad)
    assert classification_from_consequence("splice_region_variant&intron_variant", ref="A", alt="G") == "Splice_Region"
    assert classification_from_consequence("frameshift_variant", ref="A", alt="AT") == "Frame_Shift_Ins"
    assert normalise_protein_change("ENSP0001:p.Gly12Cys") == "G12C"


def test_unannotated_vcf_from_the_repository_says_annotate() -> None:
    text = (Path(__file__).resolve().parents[1] / "data" / "genes" / "vep_canonical.vcf").read_text()
    plain = "\n".join(line for line in text.splitlines() if "ID=CSQ" not in line) + "\n"
    with pytest.raises(PanelInputError, match="VEP"):
        read_panel(plain.encode(), name="plain.vcf")
