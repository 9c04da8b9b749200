"""Write the synthetic gene-panel fixtures in this folder (run from the repository root:
``python tests/data/genes/make_fixtures.py``). Everything here is synthetic (no patient data): well-known hotspot
changes placed in files that follow the public MAF, VEP ``CSQ`` and SnpEff ``ANN`` layouts, and a small cohort
in the samstein2019 layout with random survival drawn from a fixed seed.

The CIViC excerpt in ``civic/`` is built separately by ``scripts/build_civic_snapshot.py --excerpt`` (CIViC is
CC0 1.0; civicdb.org, release 01-Aug-2021).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MAF_HEADER = (
    "Hugo_Symbol\tTumor_Sample_Barcode\tVariant_Classification\tVariant_Type\tReference_Allele\t"
    "Tumor_Seq_Allele2\tHGVSp_Short\tt_ref_count\tt_alt_count"
)


def _maf(rows: list[tuple[str, ...]], comment: str) -> str:
    return "#version 2.4\n#" + comment + "\n" + MAF_HEADER + "\n" + "\n".join("\t".join(r) for r in rows) + "\n"


def multisample_maf() -> str:
    """Three synthetic tumours with MAF terms (a multi-sample MAF)."""
    rows = [
        ("BRAF", "SYN-A-T01", "Missense_Mutation", "SNP", "A", "T", "p.V600E", "120", "80"),
        ("TP53", "SYN-A-T01", "Nonsense_Mutation", "SNP", "C", "T", "p.R213*", "90", "30"),
        ("CDKN2A", "SYN-A-T01", "Frame_Shift_Del", "DEL", "G", "-", "p.Q50fs", "70", "20"),
        ("EGFR", "SYN-B-T01", "In_Frame_Del", "DEL", "GGAATTAAGAGAAGC", "-", "p.E746_A750del", "100", "60"),
        ("TP53", "SYN-B-T01", "Missense_Mutation", "SNP", "C", "T", "p.R273H", "80", "40"),
        ("KRAS", "SYN-C-T01", "Missense_Mutation", "SNP", "C", "A", "p.G12C", "150", "50"),
        ("STK11", "SYN-C-T01", "Splice_Site", "SNP", "G", "A", "p.X136_splice", "60", "30"),
        ("KEAP1", "SYN-C-T01", "Silent", "SNP", "C", "T", "p.L100=", "60", "30"),
    ]
    return _maf(rows, "SYNTHETIC multi-sample MAF (tests/data/genes/make_fixtures.py): not patient data")


def vep_so_maf() -> str:
    """A MAF whose Variant_Classification holds Sequence Ontology terms (as some VEP pipelines write it), with
    protein_protein_contact rows, '&'-joined terms, 3-letter HGVS and VEP's URL-encoded '='."""
    rows = [
        ("TP53", "SYN-VEP-T01", "protein_protein_contact", "SNP", "C", "T", "p.Arg175His", "50", "50"),
        ("TP53", "SYN-VEP-T01", "missense_variant", "SNP", "C", "T", "p.Arg248Gln", "60", "40"),
        ("PIK3CA", "SYN-VEP-T01", "missense_variant&splice_region_variant", "SNP", "G", "A", "p.Glu545Lys", "70", "30"),
        ("PTEN", "SYN-VEP-T01", "stop_gained", "SNP", "C", "T", "p.Arg130Ter", "80", "20"),
        ("ARID1A", "SYN-VEP-T01", "frameshift_variant", "INS", "-", "A", "p.Gln1334AlafsTer5", "80", "20"),
        ("BRAF", "SYN-VEP-T01", "synonymous_variant", "SNP", "A", "G", "p.Val600%3D", "90", "10"),
        ("APC", "SYN-VEP-T01", "structural_interaction_variant", "SNP", "C", "T", "", "90", "10"),
        ("KMT2D", "SYN-VEP-T01", "intron_variant", "SNP", "C", "T", "", "90", "10"),
    ]
    return _maf(rows, "SYNTHETIC MAF with Sequence Ontology terms (tests/data/genes/make_fixtures.py)")


def single_maf(change: str, cls: str) -> str:
    rows = [
        ("BRAF", "SYN-MEL-T01", cls, "SNP", "A", "T", f"p.{change}", "100", "60"),
        ("CDKN2A", "SYN-MEL-T01", "Nonsense_Mutation", "SNP", "G", "A", "p.R80*", "100", "40"),
        ("TERT", "SYN-MEL-T01", "5'Flank", "SNP", "G", "A", "", "100", "40"),
    ]
    return _maf(rows, f"SYNTHETIC melanoma panel with BRAF {change} (tests/data/genes/make_fixtures.py)")


ANN_HEADER = (
    "##fileformat=VCFv4.2\n"
    "##INFO=<ID=ANN,Number=.,Type=String,Description=\"Functional annotations: 'Allele | Annotation | "
    "Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID | Transcript_BioType | Rank | HGVS.c | "
    "HGVS.p | cDNA.pos / cDNA.length | CDS.pos / CDS.length | AA.pos / AA.length | Distance | ERRORS / WARNINGS / "
    "INFO'\">\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
    "##source=SYNTHETIC_fixture_not_patient_data(tests/data/genes/make_fixtures.py)\n##contig=<ID=12>\n##contig=<ID=17>\n"
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tNORMAL\tTUMOR\n"
)


def snpeff_vcf() -> str:
    """SnpEff ANN where the first entry of TP53 R175H is an interaction term (as SnpEff writes for PDB contacts)."""
    tp53 = ",".join(
        [
            "T|protein_protein_contact|HIGH|TP53|ENSG00000141510|interaction|1TSR:A_175-A_179|protein_coding|"
            "5/11|c.524G>A|||||",
            "T|structural_interaction_variant|HIGH|TP53|ENSG00000141510|interaction|2XWR:A_175|protein_coding|"
            "5/11|c.524G>A|||||",
            "T|missense_variant|MODERATE|TP53|ENSG00000141510|transcript|ENST00000269305.4|protein_coding|5/11|"
            "c.524G>A|p.Arg175His|714/2579|524/1182|175/393||",
        ]
    )
    kras = (
        "A|missense_variant|MODERATE|KRAS|ENSG00000133703|transcript|ENST00000256078.4|protein_coding|2/6|c.35G>T|"
        "p.Gly12Val|99/1119|35/570|12/189||"
    )
    lines = [
        f"17\t7578406\t.\tC\tT\t.\tPASS\tANN={tp53}\tGT:AD\t0/0:50,0\t0/1:40,40",
        f"12\t25398284\t.\tC\tA\t.\tPASS\tANN={kras}\tGT:AD\t0/0:50,0\t0/1:60,20",
    ]
    return ANN_HEADER + "\n".join(lines) + "\n"


CSQ_FORMAT = "Allele|Consequence|IMPACT|SYMBOL|Gene|Feature|BIOTYPE|HGVSp|Protein_position|Amino_acids|CANONICAL"


def vep_vcf() -> str:
    """VEP CSQ where a non-canonical transcript carries a more severe term than the canonical one."""
    header = (
        "##fileformat=VCFv4.2\n"
        f'##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. Format: '
        f'{CSQ_FORMAT}">\n'
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">\n'
        "##source=SYNTHETIC_fixture_not_patient_data(tests/data/genes/make_fixtures.py)\n##contig=<ID=2>\n##contig=<ID=7>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tPATIENT-NAME-NORMAL\tPATIENT-NAME-TUMOR\n"
    )
    braf = ",".join(
        [
            "T|stop_gained|HIGH|BRAF|ENSG00000157764|ENST00000496384|nonsense_mediated_decay|p.Val200Ter|200|V/*|",
            "T|protein_protein_contact|MODERATE|BRAF|ENSG00000157764|ENST00000288602|protein_coding||600|V/E|YES",
            "T|missense_variant&splice_region_variant|MODERATE|BRAF|ENSG00000157764|ENST00000288602|protein_coding|"
            "p.Val600Glu|600|V/E|YES",
        ]
    )
    idh1 = "A|synonymous_variant|LOW|IDH1|ENSG00000138413|ENST00000345146|protein_coding|p.Arg132%3D|132|R|YES"
    lines = [
        f"7\t140453136\t.\tA\tT\t.\tPASS\tCSQ={braf}\tGT:AD\t0/0:60,0\t0/1:55,45",
        f"2\t209113113\t.\tG\tA\t.\tPASS\tCSQ={idh1}\tGT:AD\t0/0:60,0\t0/1:70,30",
    ]
    return header + "\n".join(lines) + "\n"


def cohort(folder: Path, n: int = 48, seed: int = 11) -> None:
    """A synthetic cohort in the samstein2019 layout with SO terms in the MAF, several panels (IMPACT468, WES, a
    size in Mb) and every cBioPortal status spelling; two patients lack an OS time (left out and counted)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    types = ["Melanoma", "Non-Small Cell Lung Cancer", "Bladder Cancer", "Renal Cell Carcinoma"]
    drugs = ["PD-1/PDL-1", "CTLA4", "Combo"]
    panels = ["IMPACT468", "WES", "1.2", "IMPACT410"]
    statuses = ["1:DECEASED", "DECEASED", "1", "0:LIVING", "LIVING", "0"]
    genes = ["TP53", "KRAS", "BRAF", "NF1", "PTEN", "ARID1A", "KMT2D", "PIK3CA", "EGFR", "STK11", "SMARCA4"]
    terms = ["missense_variant", "stop_gained", "frameshift_variant", "missense_variant&splice_region_variant",
             "protein_protein_contact", "synonymous_variant", "splice_acceptor_variant"]  # fmt: skip
    header = ["Patient ID", "Sample ID", "Cancer Type", "Drug Type", "Gene Panel", "Age Group at Diagnosis in Years",
              "Sex", "Overall Survival (Months)", "Overall Survival Status"]  # fmt: skip
    clinical = ["\t".join(header)]
    maf = [MAF_HEADER]
    sequenced = []
    for i in range(n):
        patient, sample = f"SYN-P{i:03d}", f"SYN-P{i:03d}-T01"
        burden = int(rng.integers(0, 40))
        months = "" if i in (5, 17) else f"{rng.exponential(20.0) + 0.5:.1f}"
        clinical.append(
            "\t".join(
                [
                    patient,
                    sample,
                    types[i % 4],
                    drugs[i % 3],
                    panels[i % 4],
                    ["31-50", "61-70", ">71"][i % 3],
                    ["Male", "Female"][i % 2],
                    months,
                    statuses[i % 6],
                ]
            )
        )
        sequenced.append(sample)
        for k in range(burden):
            term = terms[int(rng.integers(len(terms)))]
            gene = genes[int(rng.integers(len(genes)))]
            pos = int(rng.integers(20, 900))
            change = "Ter" if term == "stop_gained" else "%3D" if term == "synonymous_variant" else "Ala"
            vtype = "DEL" if term == "frameshift_variant" else "SNP"
            protein = f"p.Gly{pos}{change}" + ("fsTer4" if vtype == "DEL" else "")
            maf.append(
                "\t".join(
                    [gene, sample, term, vtype, "G", "-" if vtype == "DEL" else "A", protein, str(100 + k), str(20 + k)]
                )
            )
    (folder / "clinical.tsv").write_text("\n".join(clinical) + "\n", encoding="utf-8")
    (folder / "mutations.maf").write_text("\n".join(maf) + "\n", encoding="utf-8")
    (folder / "sequenced_samples.txt").write_text("\n".join(sequenced) + "\n", encoding="utf-8")


def main() -> None:
    (HERE / "multisample.maf").write_text(multisample_maf(), encoding="utf-8")
    (HERE / "vep_so_terms.maf").write_text(vep_so_maf(), encoding="utf-8")
    (HERE / "braf_v600e_melanoma.maf").write_text(single_maf("V600E", "Missense_Mutation"), encoding="utf-8")
    (HERE / "braf_v600_synonymous.maf").write_text(single_maf("V600=", "Silent"), encoding="utf-8")
    (HERE / "snpeff_interaction_first.vcf").write_text(snpeff_vcf(), encoding="utf-8")
    (HERE / "vep_canonical.vcf").write_text(vep_vcf(), encoding="utf-8")
    cohort(HERE / "cohort_so_terms")


if __name__ == "__main__":
    main()
