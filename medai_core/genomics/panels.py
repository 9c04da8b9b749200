"""Gene symbols, sequencing panels and the consequence vocabulary shared by readers, TMB and the model.

* Gene symbols are normalised to current HGNC names (``MLL2`` -> ``KMT2D``), so that 2017-era cohort files,
  older MAFs and current VEP output land on the same feature.
* Consequences (VEP/SnpEff Sequence Ontology terms, MAF ``Variant_Classification``): the tables live in
  :mod:`medai_core.genomics.vocabulary` and are re-exported here for existing imports.
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
from medai_core.genomics.vocabulary import (
    ALTERATION_CLASSES,
    MAF_SYNONYMS,
    NON_CODING_CLASSES,
    NONSYNONYMOUS_CLASSES,
    SO_TERMS,
    UNRANKED,
    classification_from_consequence,
    consequence_rank,
    is_nonsynonymous,
    normalise_classification,
)

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


def normalise_gene(symbol: str) -> str:
    """Upper-case, strip, and map an old or alias symbol to the current HGNC symbol (``MLL2`` -> ``KMT2D``)."""
    text = symbol.strip().upper()
    return GENE_ALIASES.get(text, text)


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


@lru_cache(maxsize=1)
def _impact_sizes() -> dict[str, tuple[float, int]]:
    """Panel -> (size in Mb, cohort samples it is derived from), from ``data/impact_panel_sizes.csv`` (built by
    ``scripts/build_panel_sizes.py``: median Mutation Count / TMB Score of the panel's samples in Samstein 2019)."""
    text = resources.files("medai_core.genomics").joinpath("data/impact_panel_sizes.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {r["panel"]: (float(r["size_mb"]), int(r["samples"])) for r in rows}


WES_MB = 30.0

PANELS: tuple[str, ...] = ("IMPACT341", "IMPACT410", "IMPACT468", "WES")


def resolve_panel(spec: str | float) -> Panel:
    """The panel for a name (``IMPACT341|IMPACT410|IMPACT468|WES``) or a covered size in Mb (e.g. ``"1.1"``).

    Raises:
        PanelInputError: neither a known panel nor a positive number of megabases.
    """
    if isinstance(spec, str):
        key = spec.strip().upper()
        if key in _impact_sizes():
            size, samples = _impact_sizes()[key]
            return Panel(
                key,
                size,
                panel_genes(key),
                f"MSK-{key} size {size:.3f} Mb: median mutation count / TMB score of its {samples} samples in the "
                "Samstein 2019 cohort (cBioPortal tmb_mskcc_2018)",
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
