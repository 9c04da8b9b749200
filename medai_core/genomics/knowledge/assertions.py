"""Therapy-level assertions: the rows that can make a tier-I option.

Each row of ``data/therapy_assertions.tsv`` (built and validated by ``scripts/build_knowledge.py`` from the curated
``scripts/curated/therapy_assertions.csv``) is one FDA label indication or guideline statement: the gene and its
biomarker definition (:mod:`.biomarkers`), the OncoTree codes it covers (``SOLID`` for a tumour-agnostic label) and
those it excludes (the BRAF V600E tumour-agnostic label excludes colorectal cancer), one therapy (``A + B`` a
combination), sensitivity or resistance, the level (``FDA`` label or ``NCCN`` guideline), the line of therapy, the
date of the approval (or of the guideline/label revision), the citation (label section) and a link.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from medai_core.genomics.knowledge.biomarkers import Biomarker, _rows, parse_biomarker, table_source

__all__ = ["ASSERTION_COLUMNS", "Assertion", "assertions_source", "load_assertions"]

ASSERTION_COLUMNS: tuple[str, ...] = (
    "id",
    "gene",
    "biomarker",
    "oncotree",
    "exclude",
    "drugs",
    "significance",
    "level",
    "line",
    "date",
    "citation",
    "url",
)


@dataclass(frozen=True)
class Assertion:
    """One therapy-level assertion (see the module docstring for the fields)."""

    id: str
    gene: str
    biomarker: Biomarker
    oncotree: tuple[str, ...]
    exclude: tuple[str, ...]
    drugs: str
    significance: str
    level: str
    line: str
    date: str
    citation: str
    url: str

    @property
    def agnostic(self) -> bool:
        """A tumour-agnostic (``SOLID``) row."""
        return "SOLID" in self.oncotree


def assertion_from_row(row: dict[str, str]) -> Assertion:
    """One :class:`Assertion` from a table row (raises PanelInputError for a biomarker it cannot parse)."""

    def codes(text: str) -> tuple[str, ...]:
        return tuple(c.strip() for c in text.split("|") if c.strip())

    return Assertion(
        row["id"],
        row["gene"],
        parse_biomarker(row["gene"], row["biomarker"]),
        codes(row["oncotree"]),
        codes(row["exclude"]),
        row["drugs"],
        row["significance"],
        row["level"],
        row["line"],
        row["date"],
        row["citation"],
        row["url"],
    )


@lru_cache(maxsize=1)
def load_assertions() -> dict[str, tuple[Assertion, ...]]:
    """The shipped assertions indexed by gene."""
    out: dict[str, list[Assertion]] = {}
    for row in _rows("therapy_assertions.tsv"):
        item = assertion_from_row(row)
        out.setdefault(item.gene, []).append(item)
    return {g: tuple(v) for g, v in out.items()}


def assertions_source() -> str:
    """The source line of the shipped assertion table."""
    return table_source("therapy_assertions.tsv")
