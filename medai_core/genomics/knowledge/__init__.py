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
    table_source,
)

#: The shipped tables, in the order the page lists their sources.
KNOWLEDGE_TABLES: tuple[str, ...] = (
    "therapy_assertions.tsv",
    "oncotree.tsv",
    "cancer_hotspots.tsv",
    "gene_roles.tsv",
    "civic_diseases.tsv",
)


def knowledge_sources() -> list[str]:
    """One line per shipped knowledge table: its source, licence and release (the table's first line, without the
    build note)."""
    return [table_source(name).split(" Built by")[0].rstrip(".") for name in KNOWLEDGE_TABLES]


__all__ = [
    "ASSERTION_COLUMNS",
    "knowledge_sources",
    "Assertion",
    "Biomarker",
    "gene_role",
    "hotspot_kind",
    "load_assertions",
    "parse_biomarker",
]
