"""The knowledge tables the evidence step reads, each shipped in ``medai_core/genomics/data/`` with its source,
licence and release (see that folder's README): gene roles and mutation hotspots (:mod:`.biomarkers`), and
therapy-level assertions from FDA labels and guidelines (:mod:`.assertions`)."""

from __future__ import annotations

from medai_core.genomics.knowledge.assertions import ASSERTION_COLUMNS, Assertion, load_assertions
from medai_core.genomics.knowledge.biomarkers import (
    Biomarker,
    gene_role,
    hotspot_kind,
    parse_biomarker,
)

__all__ = [
    "ASSERTION_COLUMNS",
    "Assertion",
    "Biomarker",
    "gene_role",
    "hotspot_kind",
    "load_assertions",
    "parse_biomarker",
]
