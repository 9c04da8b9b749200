"""The gene-panel domain's part of the fuzz command: seeds (the demo MAF, VEP and SnpEff VCFs, CSV/TSV panels,
gzipped, and the fixtures), the text mutation step with VCF sample values, the worker's check (TMB and evidence
matching) and the generated cases (the same calls stored other ways, or a header-only panel)."""

from __future__ import annotations

import gzip
import random
from collections.abc import Sequence
from typing import Any

from medai_core.domains import GENES, resolve
from medai_core.fuzz.mutations import text_step
from medai_core.fuzz.report import StructuredCase
from medai_core.fuzz.target import FuzzTarget, Seed, finite, fixture_files

__all__ = ["TARGET", "TMB_REFERENCE_PANEL", "TUMOUR_TYPE", "check_genes"]

TMB_REFERENCE_PANEL = "IMPACT468"
TUMOUR_TYPE = "Melanoma"
_SUFFIXES = {".maf", ".vcf", ".csv", ".tsv", ".gz", ".txt"}
_VCF_VALUES = (
    "99999999999999999999/0", "./.", "1/2/3", "0|", "", ".", "-5,3", "2147483648,1", "1", "nan", "-1", "2",
    "0/1:", ":::", "0/1:60,40,7",
)  # fmt: skip


# ------------------------------------------------------------------------------------------------ seeds

_CSQ = "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature|BIOTYPE|HGVSc|HGVSp|Protein_position|Amino_acids|CANONICAL"
_VEP_VCF = (
    "##fileformat=VCFv4.2\n"
    f'##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. Format: {_CSQ}">\n'
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
    "##tumor_sample=TUMOR\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNORMAL\tTUMOR\n"
    "7\t140453136\t.\tA\tT\t.\tPASS\tCSQ=T|missense_variant|MODERATE|BRAF|ENSG1|ENST1|protein_coding|c.1799T>A|"
    "ENSP1:p.Val600Glu|600|V/E|YES\tGT:AD\t0/0:50,0\t0/1:60,40\n"
    "17\t7577120\t.\tC\tT\t.\tPASS\tCSQ=T|synonymous_variant|LOW|TP53|ENSG2|ENST2|protein_coding|c.1C>T|"
    "ENSP2:p.Arg273%3D|273|R|YES\tGT:AD\t0/0:40,0\t0/1:30,10\n"
)
_ANN_VCF = (
    "##fileformat=VCFv4.2\n"
    "##INFO=<ID=ANN,Number=.,Type=String,Description=\"Functional annotations: 'Allele | Annotation | "
    "Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID | Transcript_BioType | Rank | HGVS.c | "
    "HGVS.p | cDNA.pos / cDNA.length | CDS.pos / CDS.length | AA.pos / AA.length'\">\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fraction">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tsample1\n"
    "7\t55259515\t.\tT\tG\t.\tPASS\tANN=G|missense_variant|MODERATE|EGFR|ENSG|transcript|ENST|protein_coding|21/28|"
    "c.2573T>G|p.Leu858Arg|1|1|1||\tGT:AF\t0/1:0.25\n"
)
_CSV_PANEL = "gene,protein_change,consequence,vaf\nBRAF,V600E,missense_variant,0.4\nERBB2,,amplification,\n"


def _gene_seeds() -> list[Seed]:
    from medai_core.genomics.demo import demo_maf

    seeds: list[Seed] = [
        ("demo.maf", demo_maf(), None),
        ("demo_3_samples.maf", demo_maf(samples=3), None),
        ("vep.vcf", _VEP_VCF.encode(), None),
        ("snpeff.vcf", _ANN_VCF.encode(), None),
        ("panel.csv", _CSV_PANEL.encode(), None),
        ("panel.tsv", _CSV_PANEL.replace(",", "\t").encode(), None),
        ("vep.vcf.gz", gzip.compress(_VEP_VCF.encode(), mtime=0), None),
    ]
    seeds += [(p.name, p.read_bytes(), None) for p in fixture_files(GENES.name, _SUFFIXES, skip_folder="civic")]
    return seeds


# ------------------------------------------------------------------------------------------------ mutation and check


def _mutate_step(rng: random.Random, data: bytes, other: bytes) -> tuple[bytes, str]:
    """The text step, with VCF sample values (``GT:AD``) among the operators."""
    return text_step(rng, data, other, _VCF_VALUES)


def check_genes(data: bytes, name: str, point: object = None) -> list[str]:
    """Read a panel, then TMB and evidence matching for up to three samples; the violations found.

    Raises:
        InputError: what the reader raised for input it rejects.
    """
    from medai_core.genomics.evidence import load_evidence, match_evidence
    from medai_core.genomics.panels import resolve_panel
    from medai_core.genomics.tmb import compute_tmb

    panel_file = resolve(GENES.reader)(data, name=name)
    problems: list[str] = []
    if not panel_file.samples:
        problems.append("no samples")
    for v in panel_file.variants:
        if v.vaf is not None and not (finite(v.vaf) and 0 <= v.vaf <= 1):
            problems.append(f"VAF {v.vaf} of {v.gene} outside [0, 1]")
        if not v.gene.strip():
            problems.append("a call with an empty gene")
    panel = resolve_panel(TMB_REFERENCE_PANEL)
    base = load_evidence()
    for sample in panel_file.samples[:3]:
        calls = panel_file.for_sample(sample)
        tmb = compute_tmb(calls, panel, cancer_type=TUMOUR_TYPE)
        if not (finite(tmb.tmb_per_mb) and tmb.tmb_per_mb >= 0 and tmb.n_nonsynonymous >= 0):
            problems.append(f"TMB {tmb.tmb_per_mb} ({tmb.n_nonsynonymous} calls) is not finite and >= 0")
        if tmb.percentile is not None and not 0 <= tmb.percentile <= 100:
            problems.append(f"TMB percentile {tmb.percentile} outside 0-100")
        match_evidence(base, calls, TUMOUR_TYPE, tmb_high=tmb.high)
    return problems[:5]


# ------------------------------------------------------------------------------------------------ generated cases


_MAF_COLUMNS = (
    "Hugo_Symbol", "Chromosome", "Start_Position", "End_Position", "Reference_Allele", "Tumor_Seq_Allele2",
    "Tumor_Sample_Barcode", "Variant_Classification", "Variant_Type", "HGVSp_Short", "t_ref_count", "t_alt_count",
)  # fmt: skip
_CLASSES = (
    ("Missense_Mutation", "missense_variant"),
    ("Nonsense_Mutation", "stop_gained"),
    ("Silent", "synonymous_variant"),
    ("Splice_Site", "splice_donor_variant"),
)
_AMINO = "ACDEFGHIKLMNPQRSTVWY"


def _calls(rng: random.Random) -> list[dict[str, str]]:
    from medai_core.genomics.panels import panel_genes

    genes = sorted(panel_genes(TMB_REFERENCE_PANEL))
    samples = [f"SYN-{s + 1:02d}-T" for s in range(rng.randint(1, 2))]
    calls = []
    for sample in samples:
        for _ in range(rng.randint(1, 30)):
            cls, _ = rng.choice(_CLASSES)
            ref, alt = rng.sample("ACGT", 2)
            aa = rng.choice(_AMINO)
            change = {"Silent": "=", "Nonsense_Mutation": "*"}.get(cls, rng.choice(_AMINO))
            depth = rng.randint(80, 900)
            alt_count = max(5, int(depth * rng.uniform(0.05, 0.6)))
            position = rng.randint(10**5, 10**8)
            calls.append({
                "Hugo_Symbol": rng.choice(genes), "Chromosome": str(rng.randint(1, 22)),
                "Start_Position": str(position), "End_Position": str(position), "Reference_Allele": ref,
                "Tumor_Seq_Allele2": alt, "Tumor_Sample_Barcode": sample, "Variant_Classification": cls,
                "Variant_Type": "SNP", "HGVSp_Short": f"p.{aa}{rng.randint(2, 1500)}{change}",
                "t_ref_count": str(depth - alt_count), "t_alt_count": str(alt_count),
            })  # fmt: skip
    # one identity per call: a random draw may repeat a position, which is then one call, not two
    unique = {(c["Chromosome"], c["Start_Position"], c["Tumor_Sample_Barcode"]): c for c in calls}
    return list(unique.values())


def _maf(calls: Sequence[dict[str, str]], columns: Sequence[str] = _MAF_COLUMNS) -> bytes:
    lines = ["#version 2.4", "\t".join(columns)]
    lines += ["\t".join(call[c] for c in columns) for call in calls]
    return ("\n".join(lines) + "\n").encode()


def _vep_vcf(calls: Sequence[dict[str, str]]) -> bytes:
    """The calls of one sample as a VEP-annotated VCF (GT:AD per call; the CSQ consequence of each class)."""
    consequence = dict(_CLASSES)
    chromosomes = sorted({int(c["Chromosome"]) for c in calls})
    sample = calls[0]["Tumor_Sample_Barcode"]
    lines = [
        "##fileformat=VCFv4.2",
        *(f"##contig=<ID={k}>" for k in chromosomes),
        '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. Format: '
        'Allele|Consequence|IMPACT|SYMBOL|HGVSp">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
        f"#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{sample}",
    ]
    for c in sorted(calls, key=lambda c: (int(c["Chromosome"]), int(c["Start_Position"]))):
        csq = f"{c['Tumor_Seq_Allele2']}|{consequence[c['Variant_Classification']]}|MODERATE|{c['Hugo_Symbol']}|"
        fields = [c["Chromosome"], c["Start_Position"], ".", c["Reference_Allele"], c["Tumor_Seq_Allele2"], ".", "PASS"]
        lines.append("\t".join([*fields, f"CSQ={csq}ENSP1:{c['HGVSp_Short']}", "GT:AD",
                                 f"0/1:{c['t_ref_count']},{c['t_alt_count']}"]))  # fmt: skip
    return ("\n".join(lines) + "\n").encode()


def _genes_case(rng: random.Random, index: int) -> StructuredCase:
    calls = _calls(rng)
    files = [("MAF", "panel.maf", _maf(calls), "reference")]
    roll = rng.random()
    if roll < 0.7:
        shuffled = list(calls)
        rng.shuffle(shuffled)
        columns = list(_MAF_COLUMNS)
        rng.shuffle(columns)
        twice = []
        for call in calls:  # a second caller or a re-export: the same call with other read counts
            depth = int(call["t_ref_count"]) + int(call["t_alt_count"]) + rng.randint(-40, 40)
            alt = max(5, int(call["t_alt_count"]) + rng.randint(-10, 10))
            twice += [call, {**call, "t_ref_count": str(max(1, depth - alt)), "t_alt_count": str(alt)}]
        options = [
            ("rows shuffled", "panel.maf", _maf(shuffled)),
            ("columns reordered", "panel.maf", _maf(calls, columns)),
            ("every call written twice, identically", "panel.maf", _maf([c for c in calls for _ in (0, 1)])),
            ("every call written twice with other read counts", "panel.maf", _maf(twice)),
            ("CRLF line ends", "panel.maf", _maf(calls).replace(b"\n", b"\r\n")),
        ]
        if len({c["Tumor_Sample_Barcode"] for c in calls}) == 1:
            options.append(("the same calls as a VEP-annotated VCF", "panel.vcf", _vep_vcf(calls)))
        files += [(*f, "same") for f in rng.sample(options, 2)]
        return StructuredCase(index, "genes same calls", tuple(files))
    header_vcf = (
        '##fileformat=VCFv4.2\n##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from '
        'Ensembl VEP. Format: Allele|Consequence|IMPACT|SYMBOL">\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n'
    )
    empty = [
        ("MAF with a header and no calls", "panel.maf", _maf([])),
        ("VCF with a header and no records", "panel.vcf", header_vcf.encode()),
        ("CSV with a header and no rows", "panel.csv", b"gene,protein_change,consequence,vaf\n"),
    ]
    files.append((*rng.choice(empty), "empty"))
    return StructuredCase(index, "genes empty panel", tuple(files))


def _genes_answer(data: bytes, name: str) -> tuple[Any, tuple[str, ...]]:
    from medai_core.genomics.panels import resolve_panel
    from medai_core.genomics.tmb import compute_tmb

    panel_file = resolve(GENES.reader)(data, name=name)
    panel = resolve_panel(TMB_REFERENCE_PANEL)
    answer = {}
    for sample in panel_file.samples:
        tmb = compute_tmb(panel_file.for_sample(sample), panel, cancer_type=TUMOUR_TYPE)
        answer[sample] = (round(float(tmb.tmb_per_mb), 6), tmb.n_nonsynonymous, bool(tmb.high))
    return answer, panel_file.notes


def _genes_differs(a: Any, b: Any) -> str | None:
    if a == b:
        return None
    shown = [f"{s}: TMB {b.get(s, ('-',))[0]} instead of {a[s][0]}" for s in a if a[s] != b.get(s)]
    return "; ".join(shown) or f"samples {sorted(b)} instead of {sorted(a)}"


TARGET = FuzzTarget(
    seeds=_gene_seeds,
    mutate_step=_mutate_step,
    check=check_genes,
    generate=_genes_case,
    answer=_genes_answer,
    differs=_genes_differs,
)
"""The gene-panel domain's fuzz target (the registry's ``GENES.fuzz``)."""
