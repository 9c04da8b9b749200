"""Tumour mutational burden: nonsynonymous calls per Mb of the panel, its percentile among patients with the same
cancer type in the Samstein 2019 cohort, and the TMB-high flag (>= 10 mut/Mb, the tissue-agnostic threshold of the
FDA approval of pembrolizumab for TMB-high solid tumours, 2020; Marabelle et al., Lancet Oncol 2020)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from medai_core.genomics.panels import Panel
from medai_core.genomics.readers import Variant

__all__ = ["TMB_HIGH_THRESHOLD", "TmbResult", "compute_tmb"]

TMB_HIGH_THRESHOLD = 10.0


@dataclass(frozen=True)
class TmbResult:
    """TMB with where each number comes from.

    Attributes:
        tmb_per_mb: nonsynonymous calls per Mb.
        n_nonsynonymous: calls counted (nonsynonymous, in genes the panel observes).
        panel: panel name; size_mb: its coding territory; size_source: where the size comes from.
        high: TMB >= 10 mut/Mb.
        percentile: share (0-100) of cohort patients with the same cancer type whose TMB is <= this one, or
            None when the cohort has no such patients.
        reference_n: cohort patients of that type; reference_source: the cohort it comes from.
    """

    tmb_per_mb: float
    n_nonsynonymous: int
    panel: str
    size_mb: float
    size_source: str
    high: bool
    percentile: float | None
    reference_n: int
    reference_source: str

    @property
    def percentile_label(self) -> str:
        """``"51st percentile"``, or ``"n/a"`` without a reference."""
        if self.percentile is None:
            return "n/a"
        n = round(self.percentile)
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return f"{n}{suffix} percentile"

    @property
    def threshold_source(self) -> str:
        """Where the TMB-high threshold comes from."""
        return "FDA tissue-agnostic threshold (pembrolizumab, TMB >= 10 mut/Mb by FoundationOne CDx, 2020)"


def compute_tmb(
    variants: Iterable[Variant],
    panel: Panel,
    *,
    cancer_type: str,
    reference: Mapping[str, Sequence[float]] | None = None,
) -> TmbResult:
    """TMB of one tumour.

    Args:
        variants: the tumour's calls.
        panel: the sequencing panel (size and observed genes).
        cancer_type: cohort cancer type, for the percentile.
        reference: cancer type -> sorted cohort TMB values (the model card's ``artifacts["tmb_reference"]``).
    """
    n = sum(1 for v in variants if v.nonsynonymous and panel.observes(v.gene))
    tmb = n / panel.size_mb
    values = np.asarray((reference or {}).get(cancer_type, ()), dtype=np.float64)
    percentile = float(100.0 * np.searchsorted(values, tmb + 1e-9, side="left") / len(values)) if len(values) else None
    return TmbResult(
        tmb_per_mb=float(tmb),
        n_nonsynonymous=n,
        panel=panel.name,
        size_mb=panel.size_mb,
        size_source=panel.size_source,
        high=bool(tmb >= TMB_HIGH_THRESHOLD),
        percentile=percentile,
        reference_n=len(values),
        reference_source=f"{len(values)} patients with {cancer_type} in Samstein et al. 2019 (MSK-IMPACT)",
    )
