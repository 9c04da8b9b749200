"""Gene symbols, sequencing panels and the consequence vocabulary shared by readers, TMB and the model.

* Gene symbols are normalised to current HGNC names (``MLL2`` -> ``KMT2D``), so that 2017-era cohort files,
  older MAFs and current VEP output land on the same feature.
* Consequences (VEP/SnpEff Sequence Ontology terms, MAF ``Variant_Classification``) are mapped to one vocabulary:
  MAF ``Variant_Classification`` as written by vcf2maf (Kandoth et al., mskcc/vcf2maf).
* Panels: MSK-IMPACT341/410/468 gene lists (``data/impact_genes.csv``, Cheng et al. 2015; Zehir et al. 2017) and
  the coding size in Mb used as the TMB denominator.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from medai_core.errors import PanelInputError

__all__ = [
    "ALTERATION_CLASSES",
    "GENE_ALIASES",
    "MAF_SYNONYMS",
    "NONSYNONYMOUS_CLASSES",
    "NON_CODING_CLASSES",
    "SO_TERMS",
    "UNRANKED",
    "PANELS",
    "Panel",
    "classification_from_consequence",
    "consequence_rank",
    "is_nonsynonymous",
    "normalise_classification",
    "normalise_gene",
    "observed_mask",
    "panel_genes",
    "resolve_panel",
]

#: Previous/alias symbol -> current HGNC symbol, for genes on cancer panels whose names changed since 2010.
GENE_ALIASES: dict[str, str] = {
    "MLL": "KMT2A",
    "MLL2": "KMT2D",
    "MLL3": "KMT2C",
    "MLL4": "KMT2B",
    "ALR": "KMT2D",
    "PAK7": "PAK5",
    "FAM123B": "AMER1",
    "WTX": "AMER1",
    "MRE11A": "MRE11",
    "PARK2": "PRKN",
    "FAM175A": "ABRAXAS1",
    "FAM46C": "TENT5C",
    "FAM58A": "CCNQ",
    "RFWD2": "COP1",
    "TCEB1": "ELOC",
    "MYCL1": "MYCL",
    "WHSC1": "NSD2",
    "WHSC1L1": "NSD3",
    "SETD8": "KMT5A",
    "H3F3A": "H3-3A",
    "H3F3B": "H3-3B",
    "H3F3C": "H3-5",
    "HIST1H1C": "H1-2",
    "HIST1H2BD": "H2BC5",
    "HIST1H3A": "H3C1",
    "HIST1H3B": "H3C2",
    "HIST1H3C": "H3C3",
    "HIST1H3D": "H3C4",
    "HIST1H3E": "H3C6",
    "HIST1H3F": "H3C7",
    "HIST1H3G": "H3C8",
    "HIST1H3H": "H3C10",
    "HIST1H3I": "H3C11",
    "HIST1H3J": "H3C12",
    "HIST2H3C": "H3C14",
    "HIST2H3D": "H3C13",
    "HIST3H3": "H3-4",
    "C10orf54": "VSIR",
    "GPR124": "ADGRA2",
    "SEPT9": "SEPTIN9",
    "PD-L1": "CD274",
    "PDL1": "CD274",
    "PD1": "PDCD1",
    "HER2": "ERBB2",
    "NEU": "ERBB2",
    "C-KIT": "KIT",
    "C-MET": "MET",
    "P53": "TP53",
    "P16": "CDKN2A",
    "CDKN2A/P16": "CDKN2A",
    "PTPRZ": "PTPRZ1",
    "MYST3": "KAT6A",
    "BRE": "BABAM2",
    "CTAG1": "CTAG1B",
    "ERBB2IP": "ERBIN",
    "STRA13": "CENPX",
}

#: MAF Variant_Classification values that change the protein (counted for TMB and as "mutated" features).
NONSYNONYMOUS_CLASSES: frozenset[str] = frozenset(
    {
        "Missense_Mutation",
        "Nonsense_Mutation",
        "Frame_Shift_Del",
        "Frame_Shift_Ins",
        "In_Frame_Del",
        "In_Frame_Ins",
        "Splice_Site",
        "Translation_Start_Site",
        "Nonstop_Mutation",
    }
)

_ALL_CLASSES: tuple[str, ...] = (
    *sorted(NONSYNONYMOUS_CLASSES),
    "Silent",
    "Splice_Region",
    "Intron",
    "5'UTR",
    "3'UTR",
    "5'Flank",
    "3'Flank",
    "IGR",
    "RNA",
    "Targeted_Region",
    "Amplification",
    "Deletion",
    "Fusion",
    "Unknown",
)
#: Classes that are not point mutations or indels but copy-number or structural alterations.
ALTERATION_CLASSES: frozenset[str] = frozenset({"Amplification", "Deletion", "Fusion"})
#: Classes that never change the protein (silent, non-coding): no evidence, tier IV when nothing else is known.
NON_CODING_CLASSES: frozenset[str] = frozenset(
    {"Silent", "Splice_Region", "Intron", "5'UTR", "3'UTR", "5'Flank", "3'Flank", "IGR", "RNA", "Targeted_Region"}
)
_CLASS_BY_LOWER = {c.lower(): c for c in _ALL_CLASSES}

#: Variant_Classification values written by other annotators (GATK Funcotator, Broad Oncotator) -> the MAF term
#: vcf2maf writes for the same effect: a changed or shifted start codon is ``Translation_Start_Site``, an indel over
#: the stop codon ``Nonstop_Mutation``, a new upstream start in the 5' UTR ``5'UTR``, a lincRNA change ``RNA``.
MAF_SYNONYMS: dict[str, str] = {
    "start_codon_snp": "Translation_Start_Site",
    "start_codon_dnp": "Translation_Start_Site",
    "start_codon_onp": "Translation_Start_Site",
    "start_codon_ins": "Translation_Start_Site",
    "start_codon_del": "Translation_Start_Site",
    "stop_codon_ins": "Nonstop_Mutation",
    "stop_codon_del": "Nonstop_Mutation",
    "de_novo_start_inframe": "5'UTR",
    "de_novo_start_outofframe": "5'UTR",
    "lincrna": "RNA",
}

#: Sequence Ontology term (VEP, SnpEff) -> (severity rank, MAF ``Variant_Classification``), after vcf2maf
#: (mskcc/vcf2maf, ``GetEffectPriority`` and ``GetVariantClassification``; Apache-2.0): a lower rank is more severe,
#: and the most severe term of an ``&``-joined list wins. ``Frame_Shift`` and ``Protein_Altering`` are resolved to
#: Ins/Del (and in-frame or not) from the alleles. Terms vcf2maf does not rank (SnpEff's ``protein_protein_contact``,
#: ``structural_interaction_variant``, ``sequence_feature``, ...) are ``Targeted_Region`` with the lowest rank, so
#: they never hide a protein-changing term of the same variant.
SO_TERMS: dict[str, tuple[int, str]] = {
    "transcript_ablation": (1, "Splice_Site"),
    "exon_loss_variant": (1, "Splice_Site"),
    "splice_donor_variant": (2, "Splice_Site"),
    "splice_acceptor_variant": (2, "Splice_Site"),
    "gene_fusion": (2, "Fusion"),
    "bidirectional_gene_fusion": (2, "Fusion"),
    "stop_gained": (3, "Nonsense_Mutation"),
    "frameshift_variant": (3, "Frame_Shift"),
    "stop_lost": (3, "Nonstop_Mutation"),
    "start_lost": (4, "Translation_Start_Site"),
    "initiator_codon_variant": (4, "Translation_Start_Site"),
    "disruptive_inframe_insertion": (5, "In_Frame_Ins"),
    "disruptive_inframe_deletion": (5, "In_Frame_Del"),
    "conservative_inframe_insertion": (5, "In_Frame_Ins"),
    "conservative_inframe_deletion": (5, "In_Frame_Del"),
    "inframe_insertion": (5, "In_Frame_Ins"),
    "inframe_deletion": (5, "In_Frame_Del"),
    "protein_altering_variant": (5, "Protein_Altering"),
    "missense_variant": (6, "Missense_Mutation"),
    "conservative_missense_variant": (6, "Missense_Mutation"),
    "rare_amino_acid_variant": (6, "Missense_Mutation"),
    "transcript_amplification": (7, "Intron"),
    "stop_retained_variant": (8, "Silent"),
    "start_retained_variant": (8, "Silent"),
    "synonymous_variant": (8, "Silent"),
    "splice_region_variant": (9, "Splice_Region"),
    "splice_donor_5th_base_variant": (9, "Splice_Region"),
    "splice_donor_region_variant": (9, "Splice_Region"),
    "splice_polypyrimidine_tract_variant": (9, "Splice_Region"),
    "incomplete_terminal_codon_variant": (10, "Silent"),
    "coding_sequence_variant": (11, "Missense_Mutation"),
    "mature_miRNA_variant": (11, "RNA"),
    "exon_variant": (11, "RNA"),
    "5_prime_UTR_variant": (12, "5'UTR"),
    "5_prime_UTR_premature_start_codon_gain_variant": (12, "5'UTR"),
    "5_prime_UTR_truncation": (12, "5'UTR"),
    "3_prime_UTR_variant": (12, "3'UTR"),
    "3_prime_UTR_truncation": (12, "3'UTR"),
    "non_coding_exon_variant": (13, "RNA"),
    "non_coding_transcript_exon_variant": (13, "RNA"),
    "non_coding_transcript_variant": (14, "RNA"),
    "nc_transcript_variant": (14, "RNA"),
    "intron_variant": (14, "Intron"),
    "intragenic_variant": (14, "Intron"),
    "INTRAGENIC": (14, "Intron"),
    "NMD_transcript_variant": (15, "Silent"),
    "upstream_gene_variant": (16, "5'Flank"),
    "downstream_gene_variant": (16, "3'Flank"),
    "TFBS_ablation": (17, "Targeted_Region"),
    "TFBS_amplification": (17, "Targeted_Region"),
    "TF_binding_site_variant": (17, "IGR"),
    "regulatory_region_ablation": (17, "Targeted_Region"),
    "regulatory_region_amplification": (17, "Targeted_Region"),
    "regulatory_region_variant": (17, "IGR"),
    "regulatory_region": (17, "IGR"),
    "feature_elongation": (18, "Targeted_Region"),
    "feature_truncation": (18, "Targeted_Region"),
    "intergenic_variant": (19, "IGR"),
    "intergenic_region": (19, "IGR"),
    "protein_protein_contact": (20, "Targeted_Region"),
    "structural_interaction_variant": (20, "Targeted_Region"),
    "sequence_feature": (20, "Targeted_Region"),
    "conserved_intron_variant": (20, "Intron"),
    "conserved_intergenic_variant": (20, "IGR"),
}
#: Rank of a term the table does not know (below every known term).
UNRANKED = 99
_SO_BY_LOWER = {term.lower(): term for term in SO_TERMS}

#: Friendly consequence words accepted in simple CSV panels.
_FRIENDLY: dict[str, str] = {
    "missense": "Missense_Mutation",
    "nonsense": "Nonsense_Mutation",
    "stop gained": "Nonsense_Mutation",
    "frameshift": "Frame_Shift",
    "frame shift": "Frame_Shift",
    "inframe deletion": "In_Frame_Del",
    "inframe insertion": "In_Frame_Ins",
    "splice": "Splice_Site",
    "splice site": "Splice_Site",
    "synonymous": "Silent",
    "silent": "Silent",
    "intronic": "Intron",
    "intron": "Intron",
    "utr": "3'UTR",
    "amplification": "Amplification",
    "amplified": "Amplification",
    "amp": "Amplification",
    "gain": "Amplification",
    "copy number gain": "Amplification",
    "deletion": "Deletion",
    "homozygous deletion": "Deletion",
    "homdel": "Deletion",
    "deep deletion": "Deletion",
    "copy number loss": "Deletion",
    "fusion": "Fusion",
    "rearrangement": "Fusion",
    "translocation": "Fusion",
    "structural variant": "Fusion",
}


def normalise_gene(symbol: str) -> str:
    """Upper-case, strip, and map an old or alias symbol to the current HGNC symbol (``MLL2`` -> ``KMT2D``)."""
    text = symbol.strip().upper()
    return GENE_ALIASES.get(text, text)


def is_nonsynonymous(classification: str) -> bool:
    """True when a MAF ``Variant_Classification`` changes the protein (counted for TMB)."""
    return classification in NONSYNONYMOUS_CLASSES


def normalise_classification(value: str) -> str | None:
    """A MAF ``Variant_Classification`` spelled in any case, or a friendly word (``missense``), as the MAF term.

    Returns None when the value is not recognised.
    """
    text = value.strip()
    if not text:
        return None
    if text.lower() in _CLASS_BY_LOWER:
        return _CLASS_BY_LOWER[text.lower()]
    if text.lower() in MAF_SYNONYMS:
        return MAF_SYNONYMS[text.lower()]
    friendly = _FRIENDLY.get(text.lower().replace("_", " "))
    if friendly is not None:
        return "Frame_Shift_Del" if friendly == "Frame_Shift" else friendly
    return classification_from_consequence(text)


def _resolve(maf: str, *, ref: str, alt: str, variant_type: str = "") -> str:
    """Ins/Del and in-frame resolution of the table's ``Frame_Shift`` and ``Protein_Altering`` (vcf2maf's rules)."""
    if maf not in {"Frame_Shift", "Protein_Altering"}:
        return maf
    vtype = variant_type.strip().upper()
    r, a = ref.strip().replace("-", ""), alt.strip().replace("-", "")
    inserted = vtype == "INS" or (vtype not in {"DEL", "INS"} and len(a) > len(r))
    if maf == "Protein_Altering":
        inframe = abs(len(a) - len(r)) % 3 == 0
        if vtype in {"SNP", "DNP", "TNP", "ONP"} or (inframe and len(a) == len(r)):
            return "Missense_Mutation"
        if inframe:
            return "In_Frame_Ins" if inserted else "In_Frame_Del"
    return "Frame_Shift_Ins" if inserted else "Frame_Shift_Del"


def consequence_rank(consequence: str) -> int:
    """Severity rank of a consequence (``&``-joined SO terms): that of its most severe known term (lower is more
    severe; :data:`UNRANKED` when no term is known)."""
    ranks = [SO_TERMS[_SO_BY_LOWER[t.lower()]][0] for t in _terms(consequence) if t.lower() in _SO_BY_LOWER]
    return min(ranks, default=UNRANKED)


def _terms(consequence: str) -> list[str]:
    return [t.strip() for t in consequence.replace(",", "&").split("&") if t.strip()]


def classification_from_consequence(
    consequence: str, *, ref: str = "", alt: str = "", variant_type: str = ""
) -> str | None:
    """Map a VEP/SnpEff consequence (``&``-joined SO terms) to a MAF ``Variant_Classification``.

    The most severe known term wins (vcf2maf order). Frameshifts become ``Frame_Shift_Ins`` when the variant is an
    insertion (``variant_type`` ``INS``, or the alternate allele longer than the reference), else
    ``Frame_Shift_Del``. Returns None when no term is known.
    """
    known = sorted(
        (SO_TERMS[_SO_BY_LOWER[t.lower()]] for t in _terms(consequence) if t.lower() in _SO_BY_LOWER),
        key=lambda item: item[0],
    )
    if not known:
        return None
    return _resolve(known[0][1], ref=ref, alt=alt, variant_type=variant_type)


@dataclass(frozen=True)
class Panel:
    """A sequencing panel: its name, coding territory in Mb (the TMB denominator), and the genes it observes.

    Attributes:
        name: ``IMPACT341``, ``IMPACT410``, ``IMPACT468``, ``WES`` or ``custom``.
        size_mb: coding territory in megabases.
        genes: normalised symbols it covers, or None where every gene is observed (exome, custom panels).
        size_source: where ``size_mb`` comes from (shown beside the TMB).
    """

    name: str
    size_mb: float
    genes: frozenset[str] | None
    size_source: str

    def observes(self, gene: str) -> bool:
        """True when a call in ``gene`` (normalised symbol) could have been made on this panel."""
        return self.genes is None or gene in self.genes


@lru_cache(maxsize=1)
def _impact_table() -> dict[str, tuple[str, ...]]:
    order = ("IMPACT341", "IMPACT410", "IMPACT468")
    text = resources.files("medai_core.genomics").joinpath("data/impact_genes.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    first = [(normalise_gene(r["gene"]), order.index(r["first_panel"])) for r in rows]
    return {name: tuple(sorted(g for g, k in first if k <= i)) for i, name in enumerate(order)}


def panel_genes(name: str) -> frozenset[str]:
    """Normalised gene symbols of an MSK-IMPACT panel (``IMPACT341``, ``IMPACT410`` or ``IMPACT468``)."""
    return frozenset(_impact_table()[name])


# The denominators behind the cohort's "TMB Score" (mutation count / TMB in samstein2019's clinical table), so a
# panel's TMB here is on the same scale as the cohort percentiles and the model's training feature.
_IMPACT_MB = {"IMPACT341": 0.896, "IMPACT410": 1.016, "IMPACT468": 1.016}
WES_MB = 30.0

PANELS: tuple[str, ...] = ("IMPACT341", "IMPACT410", "IMPACT468", "WES")


def resolve_panel(spec: str | float) -> Panel:
    """The panel for a name (``IMPACT341|IMPACT410|IMPACT468|WES``) or a covered size in Mb (e.g. ``"1.1"``).

    Raises:
        PanelInputError: neither a known panel nor a positive number of megabases.
    """
    if isinstance(spec, str):
        key = spec.strip().upper()
        if key in _IMPACT_MB:
            return Panel(
                key,
                _IMPACT_MB[key],
                panel_genes(key),
                "MSK-IMPACT size as used for the Samstein 2019 cohort's TMB (mutations / Mb)",
            )
        if key in {"WES", "EXOME", "WXS"}:
            return Panel("WES", WES_MB, None, "whole exome, 30 Mb of coding sequence (conventional value)")
        try:
            size = float(key)
        except ValueError:
            raise PanelInputError(
                f"Unknown panel {spec!r}. Accepted: {', '.join(PANELS)}, or the panel's covered size in Mb (e.g. 1.1)."
            ) from None
    else:
        size = float(spec)
    if not size > 0 or size > 100:
        raise PanelInputError(f"Panel size must be between 0 and 100 Mb, got {size}. Give the coding territory in Mb.")
    return Panel("custom", size, None, f"covered size {size:g} Mb given by the user")


def observed_mask(panel: Panel, genes: Iterable[str]) -> list[bool]:
    """For each gene (normalised symbol), whether ``panel`` observes it."""
    return [panel.observes(g) for g in genes]
