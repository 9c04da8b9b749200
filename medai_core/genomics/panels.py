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
    "GENE_ALIASES",
    "NONSYNONYMOUS_CLASSES",
    "PANELS",
    "Panel",
    "classification_from_consequence",
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
_CLASS_BY_LOWER = {c.lower(): c for c in _ALL_CLASSES}

# Sequence Ontology term -> MAF class, in vcf2maf's order of severity (first match of a '&'-joined list wins).
_SO_TO_MAF: dict[str, str] = {
    "transcript_ablation": "Splice_Site",
    "exon_loss_variant": "Splice_Site",
    "splice_acceptor_variant": "Splice_Site",
    "splice_donor_variant": "Splice_Site",
    "stop_gained": "Nonsense_Mutation",
    "frameshift_variant": "Frame_Shift",
    "stop_lost": "Nonstop_Mutation",
    "start_lost": "Translation_Start_Site",
    "initiator_codon_variant": "Translation_Start_Site",
    "disruptive_inframe_insertion": "In_Frame_Ins",
    "disruptive_inframe_deletion": "In_Frame_Del",
    "conservative_inframe_insertion": "In_Frame_Ins",
    "conservative_inframe_deletion": "In_Frame_Del",
    "inframe_insertion": "In_Frame_Ins",
    "inframe_deletion": "In_Frame_Del",
    "missense_variant": "Missense_Mutation",
    "protein_altering_variant": "Missense_Mutation",
    "coding_sequence_variant": "Missense_Mutation",
    "splice_region_variant": "Splice_Region",
    "splice_donor_5th_base_variant": "Splice_Region",
    "splice_donor_region_variant": "Splice_Region",
    "splice_polypyrimidine_tract_variant": "Splice_Region",
    "incomplete_terminal_codon_variant": "Silent",
    "start_retained_variant": "Silent",
    "stop_retained_variant": "Silent",
    "synonymous_variant": "Silent",
    "mature_miRNA_variant": "RNA",
    "non_coding_transcript_exon_variant": "RNA",
    "non_coding_exon_variant": "RNA",
    "non_coding_transcript_variant": "RNA",
    "nc_transcript_variant": "RNA",
    "5_prime_UTR_variant": "5'UTR",
    "5_prime_UTR_premature_start_codon_gain_variant": "5'UTR",
    "3_prime_UTR_variant": "3'UTR",
    "intron_variant": "Intron",
    "NMD_transcript_variant": "Silent",
    "upstream_gene_variant": "5'Flank",
    "downstream_gene_variant": "3'Flank",
    "TF_binding_site_variant": "IGR",
    "regulatory_region_variant": "IGR",
    "regulatory_region_ablation": "IGR",
    "regulatory_region_amplification": "IGR",
    "TFBS_ablation": "IGR",
    "TFBS_amplification": "IGR",
    "intergenic_variant": "IGR",
    "intergenic_region": "IGR",
    "intragenic_variant": "Intron",
    "feature_elongation": "Intron",
    "feature_truncation": "Intron",
    "gene_fusion": "Fusion",
    "bidirectional_gene_fusion": "Fusion",
    "sequence_feature": "Targeted_Region",
}
_SO_ORDER = {term: i for i, term in enumerate(_SO_TO_MAF)}

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
    "amp": "Amplification",
    "deletion": "Deletion",
    "homozygous deletion": "Deletion",
    "fusion": "Fusion",
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
    friendly = _FRIENDLY.get(text.lower().replace("_", " "))
    if friendly is not None:
        return "Frame_Shift_Del" if friendly == "Frame_Shift" else friendly
    return classification_from_consequence(text, ref="", alt="") if "_" in text else None


def classification_from_consequence(consequence: str, *, ref: str, alt: str) -> str | None:
    """Map a VEP/SnpEff consequence (``&``-joined SO terms) to a MAF ``Variant_Classification``.

    The most severe term wins (vcf2maf order). Frameshifts become ``Frame_Shift_Ins`` when the alternate allele is
    longer than the reference, else ``Frame_Shift_Del``. Returns None when no term is known.
    """
    terms = [t.strip() for t in consequence.replace(",", "&").split("&") if t.strip()]
    known = sorted((t for t in terms if t in _SO_TO_MAF), key=_SO_ORDER.__getitem__)
    if not known:
        return None
    maf = _SO_TO_MAF[known[0]]
    if maf == "Frame_Shift":
        return "Frame_Shift_Ins" if len(alt) > len(ref) else "Frame_Shift_Del"
    return maf


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
