"""Gene panel reader speed: ``read_panel`` on MAFs of 100 to 100,000 calls (the reader's row cap), and on VCFs of
20,000 records, distinct or one record written 20,000 times (the fuzzer's ``repeat_line`` case, which took about
8 s of the isolated reader's 10 s before a repeated record was parsed once).

Run ``python -m benchmarks.bench_genes_reader`` from the repository root. The MAFs are synthetic, one tumour, in the
46-column layout of a cBioPortal ``data_mutations`` file (distinct positions, read counts, HGVSp_Short), so every
row goes through splitting, vocabulary, protein-change normalisation, VAF and the duplicate merge. Target: the
100,000-row MAF well under 5 s on 2 CPU cores (whole-panel analysis at 100k calls is benchmarked with it). The
CPU time of one call is printed beside the wall times, which on a shared machine include waiting for a core.
"""

from __future__ import annotations

import time

import numpy as np

from medai_core.benchmarking import BenchRow, format_table, measure
from medai_core.genomics.panels import panel_genes
from medai_core.genomics.readers import read_panel

COLUMNS = [
    "Hugo_Symbol",
    "Entrez_Gene_Id",
    "Center",
    "NCBI_Build",
    "Chromosome",
    "Start_Position",
    "End_Position",
    "Strand",
    "Variant_Classification",
    "Variant_Type",
    "Reference_Allele",
    "Tumor_Seq_Allele1",
    "Tumor_Seq_Allele2",
    "dbSNP_RS",
    "dbSNP_Val_Status",
    "Tumor_Sample_Barcode",
    "Matched_Norm_Sample_Barcode",
    "Match_Norm_Seq_Allele1",
    "Match_Norm_Seq_Allele2",
    "Tumor_Validation_Allele1",
    "Tumor_Validation_Allele2",
    "Match_Norm_Validation_Allele1",
    "Match_Norm_Validation_Allele2",
    "Verification_Status",
    "Validation_Status",
    "Mutation_Status",
    "Sequencing_Phase",
    "Sequence_Source",
    "Validation_Method",
    "Score",
    "BAM_File",
    "Sequencer",
    "HGVSc",
    "HGVSp",
    "HGVSp_Short",
    "Transcript_ID",
    "RefSeq",
    "Protein_position",
    "Codons",
    "Exon_Number",
    "t_depth",
    "t_ref_count",
    "t_alt_count",
    "n_depth",
    "n_ref_count",
    "n_alt_count",
]
_AA = "ACDEFGHIKLMNPQRSTVWY"
_CLASSES = ("Missense_Mutation", "Missense_Mutation", "Missense_Mutation", "Nonsense_Mutation", "Silent")


def synthetic_maf(n: int, seed: int = 11) -> bytes:
    """A synthetic MAF of ``n`` distinct calls of one tumour (labelled synthetic in its header)."""
    rng = np.random.default_rng(seed)
    genes = sorted(panel_genes("IMPACT468"))
    lines = ["#version 2.4", "#SYNTHETIC benchmark MAF: not patient data", "\t".join(COLUMNS)]
    for i in range(n):
        gene = genes[i % len(genes)]
        cls = _CLASSES[int(rng.integers(len(_CLASSES)))]
        ref_aa, codon = _AA[int(rng.integers(20))], int(rng.integers(10, 2000))
        alt_aa = "*" if cls == "Nonsense_Mutation" else "=" if cls == "Silent" else _AA[int(rng.integers(20))]
        depth = int(rng.integers(200, 900))
        alt = int(depth * rng.uniform(0.05, 0.5))
        row = dict.fromkeys(COLUMNS, "")
        row.update(
            Hugo_Symbol=gene,
            NCBI_Build="GRCh37",
            Chromosome=str(1 + i % 22),
            Start_Position=str(1_000_000 + i),
            End_Position=str(1_000_000 + i),
            Strand="+",
            Variant_Classification=cls,
            Variant_Type="SNP",
            Reference_Allele="C",
            Tumor_Seq_Allele1="C",
            Tumor_Seq_Allele2="T",
            Tumor_Sample_Barcode="SYNTHETIC-T01",
            Mutation_Status="Somatic",
            HGVSc=f"c.{3 * codon}C>T",
            HGVSp_Short=f"p.{ref_aa}{codon}{alt_aa}",
            t_depth=str(depth),
            t_ref_count=str(depth - alt),
            t_alt_count=str(alt),
        )
        lines.append("\t".join(row[c] for c in COLUMNS))
    return ("\n".join(lines) + "\n").encode("utf-8")


_VCF_HEAD = (
    "##fileformat=VCFv4.2\n##source=Mutect2\n##reference=GRCh37\n"
    '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. '
    'Format: Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|HGVSc|HGVSp|CANONICAL">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
    '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fraction">\n'
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Depth">\n'
    "##contig=<ID=7,length=159138663>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNORMAL\tTUMOR\n"
)


def synthetic_vcf(n: int, *, distinct: bool) -> bytes:
    """A synthetic Mutect2-like VEP VCF (tumour/normal) of ``n`` records: distinct positions, or one record ``n``
    times."""
    line = (
        "7\t{pos}\t.\tA\tT\t.\tPASS\tCSQ=T|missense_variant|MODERATE|BRAF|ENSG00000157764|Transcript|"
        "ENST00000288602|protein_coding|c.1799T>A|p.Val600Glu|YES,T|missense_variant|MODERATE|BRAF|ENSG00000157764|"
        "Transcript|ENST00000496384|protein_coding|c.1037T>A|p.Val346Glu|\tGT:AD:AF:DP\t0/0:80,0:0.0:80\t"
        "0/1:60,40:0.4:100\n"
    )
    body = "".join(line.format(pos=140_453_136 + (i if distinct else 0)) for i in range(n))
    return (_VCF_HEAD + body).encode("utf-8")


def vcf_rows() -> list[BenchRow]:
    """The VCF rows: 20,000 distinct records, and one record written 20,000 times."""
    rows = []
    for label, distinct in (("distinct records", True), ("one record written 20,000 times", False)):
        data = synthetic_vcf(20_000, distinct=distinct)
        started = time.process_time()
        read_panel(data, name="bench.vcf")
        cpu_ms = 1000 * (time.process_time() - started)
        rows.append(
            measure(
                f"read_panel, 20,000-record VCF, {label} ({len(data) / 1e6:.1f} MB)",
                lambda data=data: read_panel(data, name="bench.vcf"),
                repeat=3,
                warmup=1,
                note=f"CPU {cpu_ms:.0f} ms (wall above includes waiting for a shared CPU)",
            )
        )
    return rows


def main() -> None:
    rows = []
    for n, repeat in ((100, 30), (1_000, 10), (10_000, 5), (100_000, 3)):
        data = synthetic_maf(n)
        started = time.process_time()
        read_panel(data, name="bench.maf")
        cpu_ms = 1000 * (time.process_time() - started)
        rows.append(
            measure(
                f"read_panel, {n:,}-row MAF ({len(data) / 1e6:.1f} MB)",
                lambda data=data: read_panel(data, name="bench.maf"),
                repeat=repeat,
                warmup=1,
                note=f"CPU {cpu_ms:.0f} ms (wall above includes waiting for a shared CPU)",
            )
        )
    print(format_table(rows, title="gene panel reader (synthetic 46-column MAF, one tumour)"))
    print(format_table(vcf_rows(), title="gene panel reader (synthetic VEP-annotated tumour/normal VCF)"))


if __name__ == "__main__":
    main()
