"""The panel reader on files in the layouts other tools write (Strelka2, Mutect2, VarScan2, SnpEff -cancer,
vcf2maf): tumour column, VAF field, multi-allelic records, germline and filtered calls, genome build.
Fixtures and their sources: tests/data/genes/external/README.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from medai_core.errors import PanelInputError
from medai_core.genomics.readers import read_panel

EXTERNAL = Path(__file__).resolve().parents[1] / "data" / "genes" / "external"


def _read(name: str, text: str | None = None):  # type: ignore[no-untyped-def]
    data = text.encode() if text is not None else (EXTERNAL / name).read_bytes()
    return read_panel(data, name=name)


def _calls(panel) -> dict[str, tuple[str, str, float | None]]:  # type: ignore[no-untyped-def]
    return {f"{v.gene} {v.protein_change}": (v.classification, v.sample, v.vaf) for v in panel.variants}


def test_strelka_vaf_comes_from_tier1_allele_counts() -> None:
    panel = _read("strelka_somatic_vep.vcf")
    vafs = {v.gene: v.vaf for v in panel.variants}
    assert vafs == pytest.approx(
        {"GENEA": 1.0, "GENEB": 56 / 58, "GENEC": 25 / 64, "GENED": 35 / 91, "GENEF": 57 / 76, "GENEG": 32 / 98}
    )
    assert panel.samples == ("TUMOR",) and "GENEE" not in vafs  # the QSS_ref record
    assert sum(v.nonsynonymous for v in panel.variants) == 4  # synonymous and intronic calls are not counted
    assert any("1 call(s) not marked PASS" in n for n in panel.notes)
    assert any("VCF column 11" in n and "column 10 is the matched normal" in n for n in panel.notes)
    assert panel.genome_build == "GRCh37"


def test_mutect2_multiallelic_record_is_split_with_each_alleles_annotation_and_af() -> None:
    panel = _read("mutect2_multiallelic_vep.vcf")
    calls = _calls(panel)
    assert calls["KRAS G12V"] == ("Missense_Mutation", "PATIENT-T1", pytest.approx(0.20))
    assert calls["KRAS G12D"] == ("Missense_Mutation", "PATIENT-T1", pytest.approx(0.10))
    assert calls["BRAF V600E"][2] == pytest.approx(0.31)
    assert "TP53 R175H" not in calls  # FILTER germline
    assert any("1 multi-allelic record(s) were split" in n for n in panel.notes)
    assert any("named by the ##tumor_sample header line" in n for n in panel.notes)
    assert panel.genome_build == "GRCh38"  # Homo_sapiens_assembly38 in the GATK command line
    assert all("PATIENT" not in n for n in panel.notes)


def test_multiallelic_allele_absent_from_the_tumour_genotype_is_left_out() -> None:
    text = (EXTERNAL / "mutect2_multiallelic_vep.vcf").read_text().replace("0/1/2:70,20,10", "0/1:70,20,10")
    calls = _calls(_read("m.vcf", text))
    assert "KRAS G12V" in calls and "KRAS G12D" not in calls


def test_vep_allele_without_shared_first_base_and_without_allele_num() -> None:
    text = (EXTERNAL / "mutect2_multiallelic_vep.vcf").read_text()
    text = (
        text.replace("|YES|1,T|", "|YES|,T|")
        .replace("p.Gly12Asp|YES|2", "p.Gly12Asp|YES|")
        .replace("p.Gly12Val|YES|1", "p.Gly12Val|YES|")
    )
    calls = _calls(_read("m.vcf", text))
    assert calls["KRAS G12V"][2] == pytest.approx(0.20) and calls["KRAS G12D"][2] == pytest.approx(0.10)


def test_varscan_freq_percent_and_somatic_status_germline_and_loh() -> None:
    panel = _read("varscan_somatic_snpeff.vcf")
    calls = _calls(panel)
    assert set(calls) == {"BRAF V600E", "KRAS G12D"}  # TP53 P72R (SS=1) and BRCA2 (SS=3) are germline
    assert calls["BRAF V600E"][2] == pytest.approx(0.30)
    assert calls["KRAS G12D"][2] == pytest.approx(0.125)
    assert any("2 call(s) present in the matched normal's genotype" in n for n in panel.notes)
    assert panel.genome_build == "GRCh37"


def test_snpeff_cancer_keeps_the_somatic_allele_not_the_germline_one() -> None:
    panel = _read("snpeff_cancer.ann.vcf")
    assert panel.samples == ("Patient_01_Somatic",)
    assert [(v.gene, v.protein_change, v.classification) for v in panel.variants] == [
        ("OR4F5", "M1?", "Translation_Start_Site")
    ]
    assert any("1 call(s) present in the matched normal's genotype" in n for n in panel.notes)
    assert panel.genome_build == "GRCh37"  # SnpEff database GRCh37.75


def test_unlabelled_tumour_normal_pair_is_told_from_genotypes_not_column_order() -> None:
    text = (EXTERNAL / "mutect2_multiallelic_vep.vcf").read_text()
    text = "".join(line + "\n" for line in text.splitlines() if "_sample=" not in line)
    text = text.replace("PATIENT-N1\tPATIENT-T1", "S1\tS2")
    panel = _read("u.vcf", text)
    assert panel.samples == ("S2",)
    assert any("told from the genotypes" in n for n in panel.notes)


def test_unlabelled_samples_that_genotypes_cannot_tell_apart_must_be_chosen() -> None:
    text = (EXTERNAL / "varscan_somatic_snpeff.vcf").read_text().replace("NORMAL\tTUMOR", "S1\tS2")
    text = text.replace("0/0:80:80:0:0%", "0/1:80:60:20:25%")
    panel = _read("u.vcf", text)
    assert panel.samples == ("S1", "S2")
    with pytest.raises(PanelInputError, match="choose one"):
        panel.for_sample(None)
    assert [v.vaf for v in panel.for_sample("S2") if v.gene == "KRAS"] == [pytest.approx(0.125)]


def test_vcf2maf_maf_filter_mutation_status_and_build() -> None:
    panel = _read("vcf2maf_b38_excerpt.maf")
    calls = _calls(panel)
    assert len(panel.variants) == 8 and "RUNX1 G367D" not in calls and "ERG T248M" not in calls
    assert sum(v.nonsynonymous for v in panel.variants) == 6
    assert calls["RUNX1 L429R"][2] == pytest.approx(21 / 54)  # t_ref_count "." with t_depth given
    assert calls["RUNX1 X168_splice"][0] == "Splice_Site"
    assert panel.genome_build == "GRCh38"
    assert any("FILTER column is not PASS" in n for n in panel.notes)
    assert any("Mutation_Status Germline or LOH" in n for n in panel.notes)


@pytest.mark.parametrize(
    ("line", "build"),
    [
        ("##reference=file:///ref/hg19.fa", "GRCh37"),
        ("##reference=file:///ref/GRCh38_full_analysis_set.fa", "GRCh38"),
        ("##reference=file:///ref/human_g1k_v37_decoy.fasta", "GRCh37"),
        ("##reference=file:///ref/hs37d5.fa", "GRCh37"),
        ("##reference=file:///ref/genome.fa", None),
        ("##reference=file:///ref/hg380.fa", None),
        ("##contig=<ID=chr1,length=248956422>", "GRCh38"),
        ("##contig=<ID=1,length=249250621>", "GRCh37"),
    ],
)
def test_genome_build_from_the_header(line: str, build: str | None) -> None:
    text = (EXTERNAL / "varscan_somatic_snpeff.vcf").read_text().replace("##reference=file:///ref/hg19.fa", line)
    panel = _read("b.vcf", text)
    assert panel.genome_build == build
    assert any(n.startswith("Genome build") for n in panel.notes)


def test_header_naming_two_builds_records_none_and_says_so() -> None:
    # SnpEff's tests/ensembl_hgvs_intron.within_cds.vep.vcf carries a GRCh37 and a GRCh38 ##VEP line.
    vep_lines = (
        "##VEP=v76 cache=/data_ensembl/vep/grch37/release-76/homo_sapiens/76_GRCh37\n"
        "##VEP=v76 cache=/data_ensembl/vep/ensembl/release-76/homo_sapiens/76_GRCh38\n"
    )
    text = (EXTERNAL / "varscan_somatic_snpeff.vcf").read_text().replace("##reference=file:///ref/hg19.fa\n", vep_lines)
    panel = _read("b.vcf", text)
    assert panel.genome_build is None
    assert any("several builds (GRCh37, GRCh38)" in n for n in panel.notes)


def test_vcf_with_a_log_line_before_fileformat_is_refused_clearly() -> None:
    # SnpEff's examples/cancer.ann.vcf as stored begins with a "Reading cancer samples pedigree" log line.
    log = "00:00:38.758\tReading cancer samples pedigree from file\n"
    text = log + (EXTERNAL / "snpeff_cancer.ann.vcf").read_text()
    with pytest.raises(PanelInputError, match="1 line\\(s\\) come before its ##fileformat line"):
        _read("cancer.ann.vcf", text)


@pytest.mark.parametrize(
    ("hgvsc", "protein"),
    [
        ("ENST00000397752.8:c.3028+1G>A", "X1010_splice"),  # MET exon 14 donor
        ("c.504_508+1dup", "X168_splice"),  # vcf2maf's own test output: p.X168_splice
        ("c.3082-2A>G", "X1028_splice"),
        ("c.-5-1G>A", ""),
        ("c.*10+1G>A", ""),
        ("", ""),
    ],
)
def test_splice_site_protein_position_as_vcf2maf_writes_it(hgvsc: str, protein: str) -> None:
    from medai_core.genomics.vocabulary import splice_site_protein

    assert splice_site_protein(hgvsc) == protein


def test_met_exon14_splice_donor_from_a_vep_vcf_reaches_its_evidence() -> None:
    from medai_core.genomics.evidence import load_evidence, match_evidence

    met = (
        "chr7\t116771989\t.\tG\tA\t.\tPASS\tCSQ=A|splice_donor_variant|HIGH|MET|ENSG00000105976|ENST00000397752|"
        "protein_coding|ENST00000397752.8:c.3028+1G>A||YES|1\tGT:AD:AF:DP\t0/0:80,0:0.012:80\t0/1:60,40:0.400:100\n"
    )
    lines = (EXTERNAL / "mutect2_multiallelic_vep.vcf").read_text().splitlines(keepends=True)
    text = "".join(line for line in lines if line.startswith("#")) + met
    (call,) = _read("met.vcf", text).variants
    assert (call.gene, call.protein_change, call.classification) == ("MET", "X1010_splice", "Splice_Site")
    items = match_evidence(load_evidence(), [call], "Non-Small Cell Lung Cancer")
    assert any("Capmatinib" in item.drugs for item in items)


@pytest.mark.parametrize(
    ("fmt", "tumour", "vaf"),
    [
        ("GT:AD:AF", "0/1:69,31:0.31", 0.31),  # Mutect2
        ("GT:AD:FA", "0/1:39,3:0.071", 0.071),  # MuTect 1 (vcf2maf tests/test_mutect.vcf)
        ("GT:AD:VF", "0/1:70,30:0.3", 0.3),  # Illumina Pisces
        ("GT:RD:AD:FREQ", "0/1:70:10:12.5%", 0.125),  # VarScan2: AD is the ALT depth alone
        ("GT:GQ:NR:NV", "0/1:99:80:20", 0.25),  # Platypus
        ("GT:RO:AO", "0/1:60:20", 0.25),  # FreeBayes
        ("GT:AD", "0/1:60,20", 0.25),
        ("GT:AD", "0/1:.", None),
        ("GT:DP", "0/1:80", None),
    ],
)
def test_vaf_fields_of_different_callers(fmt: str, tumour: str, vaf: float | None) -> None:
    text = (EXTERNAL / "varscan_somatic_snpeff.vcf").read_text()
    lines = [line for line in text.splitlines() if line.startswith("#") or line.startswith("7\t")]
    record = lines[-1].split("\t")
    record[8], record[9], record[10] = fmt, "0/0" + ":." * fmt.count(":"), tumour
    lines[-1] = "\t".join(record)
    (call,) = _read("v.vcf", "\n".join(lines) + "\n").variants
    assert call.vaf == (pytest.approx(vaf) if vaf is not None else None)


@pytest.mark.parametrize(
    ("line", "refused"),
    [
        ('##GATKCommandLine=<ID=HaplotypeCaller,CommandLine="HaplotypeCaller -R hg19.fa",Version="4.2">', True),
        ('##GATKCommandLine.HaplotypeCaller=<ID=HaplotypeCaller,Version="3.8">', True),
        ('##GATKCommandLine=<ID=GenotypeGVCFs,CommandLine="GenotypeGVCFs",Version="4.2">', True),
        ("##source=DeepVariant", True),
        ("##content=strelka germline small-variant calls", True),
        ('##GATKCommandLine=<ID=Mutect2,CommandLine="Mutect2",Version="4.2">', False),
        ("##source=VarScan2", False),
    ],
)
def test_vcf_from_a_germline_caller_is_refused(line: str, refused: bool) -> None:
    text = (EXTERNAL / "varscan_somatic_snpeff.vcf").read_text().replace("##source=VarScan2", line)
    if refused:
        with pytest.raises(PanelInputError, match="germline caller"):
            _read("g.vcf", text)
    else:
        assert len(_read("g.vcf", text).variants) == 2


def test_haplotypecaller_line_beside_a_mutect2_line_is_not_refused() -> None:
    extra = '##GATKCommandLine=<ID=HaplotypeCaller,Version="4.2">\n##GATKCommandLine=<ID=Mutect2,Version="4.2">'
    text = (EXTERNAL / "varscan_somatic_snpeff.vcf").read_text().replace("##source=VarScan2", extra)
    assert len(_read("g.vcf", text).variants) == 2


def _braf_two_isoforms(mane_on_second: bool) -> str:
    """A VEP VCF whose BRAF call is annotated on the long isoform (V640E) first and the MANE one (V600E) second,
    without --canonical, as VEP writes on GRCh38 when run without --canonical/--pick."""
    fmt = "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature|BIOTYPE|HGVSc|HGVSp|MANE_SELECT"
    long_isoform = (
        "T|missense_variant|MODERATE|BRAF|ENSG00000157764|ENST00000644969|protein_coding|c.1919T>A|p.Val640Glu|"
    )
    mane = "T|missense_variant|MODERATE|BRAF|ENSG00000157764|ENST00000646891|protein_coding|c.1799T>A|p.Val600Glu|"
    mane += "NM_004333.6" if mane_on_second else ""
    return (
        "##fileformat=VCFv4.2\n"
        f'##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. Format: {fmt}">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "##tumor_sample=T1\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tT1\n"
        f"chr7\t140753336\t.\tA\tT\t.\tPASS\tCSQ={long_isoform},{mane}\tGT\t0/1\n"
    )


def test_mane_select_transcript_is_preferred_and_an_unflagged_choice_is_noted() -> None:
    flagged = _read("b.vcf", _braf_two_isoforms(mane_on_second=True))
    assert [v.protein_change for v in flagged.variants] == ["V600E"]
    assert not any("none is flagged canonical" in n for n in flagged.notes)
    unflagged = _read("b.vcf", _braf_two_isoforms(mane_on_second=False))
    assert [v.protein_change for v in unflagged.variants] == ["V640E"]
    assert any("1 call(s) are annotated on several protein-coding transcripts" in n for n in unflagged.notes)


@pytest.mark.parametrize(
    ("column", "expected", "percent_note"),
    [
        (["0.4", "0.3", "1"], [0.4, 0.3, 1.0], False),  # fractions: 1 is 100%
        (["40", "30", "1"], [0.4, 0.3, 0.01], True),  # percentages: 1 is 1%, not 100%
        (["40%", "0.5", "1"], [0.4, 0.005, 0.01], True),
        (["", "0.3", "0.2"], [None, 0.3, 0.2], False),
    ],
)
def test_table_vaf_scale_is_decided_for_the_whole_column(
    column: list[str], expected: list[float | None], percent_note: bool
) -> None:
    rows = "".join(
        f"{gene},{change},{vaf}\n"
        for (gene, change), vaf in zip([("BRAF", "V600E"), ("TP53", "R175H"), ("NRAS", "Q61R")], column, strict=True)
    )
    panel = _read("t.csv", "gene,protein_change,vaf\n" + rows)
    assert [v.vaf for v in panel.variants] == [pytest.approx(e) if e is not None else None for e in expected]
    assert any("read as percentages" in n for n in panel.notes) == percent_note


def test_table_splice_call_written_in_cdna_notation_gets_its_codon() -> None:
    panel = _read("t.tsv", "gene\tprotein_change\tconsequence\nMET\tc.3028+1G>A\tsplice\n")
    assert [(v.protein_change, v.classification) for v in panel.variants] == [("X1010_splice", "Splice_Site")]


def test_structural_and_spanning_deletion_alleles_are_not_point_mutations() -> None:
    lines = (EXTERNAL / "mutect2_multiallelic_vep.vcf").read_text().splitlines(keepends=True)
    header = "".join(line for line in lines if line.startswith("#"))
    sv = (
        "chr17\t7668402\t.\tT\t<DEL>\t.\tPASS\tCSQ=<DEL>|transcript_ablation|HIGH|TP53|ENSG00000141510|ENST00000269305|"
        "protein_coding|||YES|1\tGT:AD\t0/0:30,0\t0/1:20,10\n"
    )
    spanning = (
        "chr7\t140753336\t.\tA\tT,*\t.\tPASS\tCSQ=T|missense_variant|MODERATE|BRAF|ENSG00000157764|ENST00000646891|"
        "protein_coding|c.1799T>A|ENSP00000493543.1:p.Val600Glu|YES|1\tGT:AD\t0/0:80,0,0\t1/2:50,30,20\n"
    )
    panel = _read("sv.vcf", header + sv + spanning)
    assert [(v.gene, v.protein_change, v.vaf) for v in panel.variants] == [("BRAF", "V600E", pytest.approx(0.3))]
    assert any("1 structural-variant allele(s)" in n for n in panel.notes)
    assert not any("multi-allelic" in n for n in panel.notes)


@pytest.mark.parametrize(
    ("info", "tool"),
    [
        ('##INFO=<ID=EFF,Number=.,Type=String,Description="Predicted effects for this variant">', "EFF field"),
        (
            '##INFO=<ID=FUNCOTATION,Number=A,Type=String,Description="Functional annotation from Funcotator">',
            "Funcotator",
        ),
    ],
)
def test_annotations_the_reader_does_not_read_are_named(info: str, tool: str) -> None:
    text = (EXTERNAL / "varscan_somatic_snpeff.vcf").read_text()
    text = "".join(line for line in text.splitlines(keepends=True) if "ID=ANN" not in line)
    text = text.replace("##source=VarScan2", info)
    with pytest.raises(PanelInputError, match=tool):
        _read("a.vcf", text)


def test_tcga_barcodes_tell_tumour_from_normal() -> None:
    text = (EXTERNAL / "varscan_somatic_snpeff.vcf").read_text()
    text = text.replace("NORMAL\tTUMOR", "TCGA-A1-A0SB-10A\tTCGA-A1-A0SB-01A").replace(
        "0/0:80:80:0:0%", "0/1:80:79:1:1%"
    )
    panel = _read("t.vcf", text)
    assert panel.samples == ("TCGA-A1-A0SB-01A",)
    assert any("told by the tumour/normal labels" in n for n in panel.notes)


def test_record_without_format_and_sample_columns_is_read_not_crashed() -> None:
    text = (EXTERNAL / "mutect2_multiallelic_vep.vcf").read_text()
    lines = text.splitlines()
    lines[-1] = "\t".join(lines[-1].split("\t")[:8])  # the TP53 synonymous record: no FORMAT, no samples
    panel = _read("f.vcf", "\n".join(lines) + "\n")
    assert [(v.gene, v.protein_change, v.vaf) for v in panel.variants][-1] == ("TP53", "R71=", None)


@pytest.mark.parametrize(
    ("typed", "change", "cls"),
    [
        ("v600e", "V600E", "Missense_Mutation"),
        ("p.g12d", "G12D", "Missense_Mutation"),
        ("r213*", "R213*", "Nonsense_Mutation"),
        ("q61fs", "q61fs", "Frame_Shift_Del"),  # not a simple change: left as typed, still a frameshift
        ("e746_a750del", "e746_a750del", "In_Frame_Del"),
    ],
)
def test_lower_case_protein_change_in_a_table(typed: str, change: str, cls: str) -> None:
    (call,) = _read("t.csv", f"gene,protein_change\nBRAF,{typed}\n").variants
    assert (call.protein_change, call.classification) == (change, cls)


def test_maf_row_with_empty_hgvsp_short_uses_the_next_protein_column() -> None:
    # cBioPortal study_es_0 layout: HGVSp_Short and Amino_Acid_Change side by side, one of them empty on some rows
    header = "Hugo_Symbol\tVariant_Classification\tTumor_Sample_Barcode\tHGVSp_Short\tAmino_Acid_Change\n"
    rows = "BRAF\tMissense_Mutation\tS1\t\tV600E\nKRAS\tMissense_Mutation\tS1\tp.G12D\tG12V\n"
    panel = _read("m.maf", header + rows)
    assert [v.protein_change for v in panel.variants] == ["V600E", "G12D"]


def test_maf_vaf_from_tumor_f_when_read_counts_are_missing() -> None:
    header = (
        "Hugo_Symbol\tVariant_Classification\tTumor_Sample_Barcode\tHGVSp_Short\tt_alt_count\tt_ref_count\ttumor_f\n"
    )
    rows = "BRAF\tMissense_Mutation\tS1\tp.V600E\t\t\t0.27\nKRAS\tMissense_Mutation\tS1\tp.G12D\t10\t30\t0.9\n"
    panel = _read("f.maf", header + rows)
    assert [v.vaf for v in panel.variants] == [pytest.approx(0.27), pytest.approx(0.25)]  # counts win when given


def test_vcf_without_any_filter_verdict_is_noted_as_unfiltered() -> None:
    text = (EXTERNAL / "mutect2_multiallelic_vep.vcf").read_text()
    unfiltered = text.replace("\tPASS\t", "\t.\t").replace("\tgermline\t", "\t.\t")
    assert any("calls look unfiltered" in n for n in _read("u.vcf", unfiltered).notes)
    assert not any("calls look unfiltered" in n for n in _read("f.vcf", text).notes)


def test_mutect2_multi_tumour_vcf_keeps_each_named_tumour_apart() -> None:
    text = (EXTERNAL / "mutect2_multiallelic_vep.vcf").read_text()
    text = text.replace("##tumor_sample=PATIENT-T1", "##tumor_sample=PATIENT-T1\n##tumor_sample=PATIENT-T2")
    lines = text.splitlines()
    lines = [
        line
        + ("\tPATIENT-T2" if line.startswith("#CHROM") else "" if line.startswith("#") else "\t0/1:50,50,0:0.5,0.0:100")
        for line in lines
    ]
    lines = [
        line.replace("0/1:50,50,0:0.5,0.0:100", "0/1:50,50:0.5:100") if "C\tA,T" not in line else line for line in lines
    ]
    panel = _read("mt.vcf", "\n".join(lines) + "\n")
    assert panel.samples == ("PATIENT-T1", "PATIENT-T2")
    assert {v.gene for v in panel.for_sample("PATIENT-T2")} == {"BRAF", "KRAS", "TP53"}
    assert [v.vaf for v in panel.for_sample("PATIENT-T2") if v.gene == "BRAF"] == [pytest.approx(0.5)]
    assert any(
        "2 tumour sample columns (several ##tumor_sample lines) with one matched normal" in n for n in panel.notes
    )


def test_snpeff_initiator_codon_variant_is_a_retained_start_not_a_lost_one() -> None:
    # the germline C allele of SnpEff's cancer example: A>C at OR4F5 c.1, "initiator_codon_variant|LOW"
    text = (EXTERNAL / "snpeff_cancer.ann.vcf").read_text().replace("\t1/0\t2/1", "\t0/0\t0/1")
    (call,) = _read("c.vcf", text).variants
    assert (call.gene, call.classification, call.nonsynonymous) == ("OR4F5", "Silent", False)


def test_maf_without_sample_column_says_all_rows_are_one_tumour() -> None:
    panel = _read("m.maf", "Hugo_Symbol\tVariant_Classification\tHGVSp_Short\nBRAF\tMissense_Mutation\tp.V600E\n")
    assert any("no Tumor_Sample_Barcode column" in n for n in panel.notes)
    assert not any("no Tumor_Sample_Barcode" in n for n in _read("vcf2maf_b38_excerpt.maf").notes)


def test_vep_tab_output_is_refused_by_name() -> None:
    text = (
        "## ENSEMBL VARIANT EFFECT PREDICTOR v104.3\n"
        "#Uploaded_variation\tLocation\tAllele\tGene\tFeature\tFeature_type\tConsequence\tExtra\n"
        "7_140453136_A/T\t7:140453136\tT\tENSG00000157764\tENST00000288602\tTranscript\tmissense_variant\tSYMBOL=BRAF\n"
    )
    with pytest.raises(PanelInputError, match="VEP's tab-separated output"):
        _read("vep.txt", text)


def test_table_headers_written_as_words_are_recognised() -> None:
    panel = _read("t.csv", "Gene Symbol,Protein Change,VAF (%)\nBRAF,p.V600E,1\nKRAS,G12D,0.5\n")
    assert [(v.gene, v.protein_change, v.vaf) for v in panel.variants] == [
        ("BRAF", "V600E", pytest.approx(0.01)),
        ("KRAS", "G12D", pytest.approx(0.005)),
    ]
    assert any("read as percentages" in n for n in panel.notes)
    words = _read("t.tsv", "Gene\tAmino Acid Change\tAllele Frequency\nTP53\tR175H\t0.3\n")
    assert [(v.protein_change, v.vaf) for v in words.variants] == [("R175H", pytest.approx(0.3))]


def test_sample_columns_all_named_normal_or_a_lone_normal_are_not_dropped_silently() -> None:
    text = (EXTERNAL / "varscan_somatic_snpeff.vcf").read_text()
    both = _read("n.vcf", text.replace("NORMAL\tTUMOR", "NORMAL1\tNORMAL2"))  # the genotypes tell them apart
    assert both.samples == ("NORMAL2",) and any("told from the genotypes" in n for n in both.notes)
    lines = [line.rsplit("\t", 1)[0] if not line.startswith("##") else line for line in text.splitlines()]
    lone = _read("n.vcf", "\n".join(lines).replace("\tNORMAL\tTUMOR", "\tNORMAL") + "\n")
    assert lone.samples == ("NORMAL",) and any("named like a normal sample" in n for n in lone.notes)


@pytest.mark.parametrize(
    ("amino_acids", "position", "consequence", "change"),
    [
        ("V/E", "600", "missense_variant", "V600E"),
        ("V", "600", "synonymous_variant", "V600="),
        ("R/*", "213", "stop_gained", "R213*"),
        ("ELREA/-", "746-750", "inframe_deletion", "E746_A750del"),
        ("LREATS/S", "747-752", "inframe_deletion", "L747_S752delinsS"),
        ("-/ASV", "769-770", "inframe_insertion", "X769_X770insASV"),
        ("E/X", "746", "frameshift_variant", "E746fs"),
        ("", "", "intron_variant", ""),
        ("V/E", "600-?", "missense_variant", ""),
    ],
)
def test_protein_change_from_vep_amino_acids_without_hgvs(
    amino_acids: str, position: str, consequence: str, change: str
) -> None:
    from medai_core.genomics.vocabulary import protein_from_amino_acids

    assert protein_from_amino_acids(amino_acids, position, consequence) == change


def test_egfr_exon19_deletion_from_vep_without_hgvs_reaches_its_evidence() -> None:
    from medai_core.genomics.evidence import load_evidence, match_evidence

    fmt = "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature|BIOTYPE|Protein_position|Amino_acids|CANONICAL"
    text = (
        "##fileformat=VCFv4.2\n"
        f'##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. Format: {fmt}">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\n"
        "7\t55242464\t.\tAGGAATTAAGAGAAGC\tA\t.\tPASS\tCSQ=-|inframe_deletion|MODERATE|EGFR|ENSG00000146648|"
        "ENST00000275493|protein_coding|746-750|ELREA/-|YES\tGT\t0/1\n"
    )
    (call,) = _read("egfr.vcf", text).variants
    assert (call.protein_change, call.classification) == ("E746_A750del", "In_Frame_Del")
    items = match_evidence(load_evidence(), [call], "Non-Small Cell Lung Cancer")
    assert any(item.variant == "EXON 19 DELETION" for item in items)


def test_splice_call_without_hgvsc_is_noted() -> None:
    fmt = "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature|BIOTYPE|CANONICAL"
    text = (
        "##fileformat=VCFv4.2\n"
        f'##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. Format: {fmt}">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tTUMOR\n"
        "7\t116412044\t.\tG\tA\t.\tPASS\tCSQ=A|splice_donor_variant|HIGH|MET|ENSG00000105976|ENST00000397752|"
        "protein_coding|YES\tGT\t0/1\n"
    )
    panel = _read("met.vcf", text)
    assert [(v.protein_change, v.classification) for v in panel.variants] == [("", "Splice_Site")]
    assert any("1 splice-site call(s) have no HGVSc" in n for n in panel.notes)


def test_lumpy_structural_variants_annotated_by_snpeff_are_not_counted_as_point_mutations() -> None:
    panel = _read("snpeff_lumpy_sv_excerpt.vcf")
    assert panel.variants == ()
    assert any("2 structural-variant allele(s)" in n for n in panel.notes)
