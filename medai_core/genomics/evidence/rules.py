"""How a CIViC variant name is read (the rules in the package docstring): the gene-level names, the codon and exon
rules, :func:`match_kind`, and the per-gene index of entries (:class:`GeneIndex`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from medai_core.genomics.knowledge.biomarkers import TRUNCATING, gene_role
from medai_core.genomics.panels import NONSYNONYMOUS_CLASSES
from medai_core.genomics.readers import Variant

_TRUNCATING = TRUNCATING

# CIViC variant names that cover a class of calls rather than one protein change: name -> the calls they fit.
_GENE_LEVEL: dict[str, str] = {
    "MUTATION": "unspecified",
    "MUTATIONS": "unspecified",
    "LOSS-OF-FUNCTION": "truncating",
    "TRUNCATING MUTATION": "truncating",
    "TRUNCATING": "truncating",
    "FRAMESHIFT TRUNCATION": "truncating",
    "FRAMESHIFT MUTATION": "truncating",
    "NONSENSE MUTATION": "truncating",
    "DELETERIOUS MUTATION": "truncating",
    "AMPLIFICATION": "Amplification",
    "COPY NUMBER GAIN": "Amplification",
    "DELETION": "Deletion",
    "LOSS": "Deletion",
    "COPY NUMBER LOSS": "Deletion",
    "HOMOZYGOUS DELETION": "Deletion",
    "FUSION": "Fusion",
    "FUSIONS": "Fusion",
    "REARRANGEMENT": "Fusion",
}
_CODON_RE = re.compile(r"^([A-Z])(\d+)$")
_CHANGE_RE = re.compile(r"^([A-Z*])(\d+)")
_MISSENSE_RE = re.compile(r"^([A-Z])(\d+)([A-Z])$")
_PAIR_FUSION_RE = re.compile(r"^([A-Z0-9]+)-([A-Z0-9]+)$")


@dataclass(frozen=True)
class Entry:
    gene: str
    variant: str
    disease: str
    drugs: str
    direction: str
    significance: str
    level: str
    source: str


@dataclass(frozen=True)
class GeneIndex:
    """One gene's CIViC entries: by exact protein change, by (reference, codon), entries for structural calls
    (amplification, deletion, fusion names) and the rest (loss-of-function and exon names), so that a call is
    compared with the few entries that can match it. Gene-wide ``MUTATION`` entries, which match nothing, are left
    out."""

    exact: dict[str, tuple[Entry, ...]]
    codon: dict[tuple[str, int], tuple[Entry, ...]]
    structural: tuple[Entry, ...]
    sequence: tuple[Entry, ...]

    @staticmethod
    def build(entries: Iterable[Entry]) -> GeneIndex:
        exact: dict[str, list[Entry]] = {}
        codon: dict[tuple[str, int], list[Entry]] = {}
        structural: list[Entry] = []
        sequence: list[Entry] = []
        for entry in entries:
            name = entry.variant
            kind = _GENE_LEVEL.get(name)
            parts = [_CODON_RE.match(p.strip()) for p in name.split("/")]
            if kind == "unspecified":
                continue
            if all(parts) and not _is_compound(name):
                for part in parts:
                    assert part is not None
                    codon.setdefault((part.group(1), int(part.group(2))), []).append(entry)
            elif kind in {"Amplification", "Deletion", "Fusion"}:
                structural.append(entry)
            elif kind is not None or name.startswith("EXON"):
                sequence.append(entry)
            elif "-" in name or "FUSION" in name:
                structural.append(entry)
            else:
                exact.setdefault(name, []).append(entry)
        return GeneIndex(
            {k: tuple(v) for k, v in exact.items()},
            {k: tuple(v) for k, v in codon.items()},
            tuple(structural),
            tuple(sequence),
        )

    def candidates(self, call: Variant) -> tuple[Entry, ...]:
        """The entries that can match ``call`` (a superset of those :func:`match_kind` accepts)."""
        cls = call.classification
        if cls in {"Amplification", "Deletion", "Fusion"}:
            return self.structural
        change = call.protein_change.upper()
        found = self.exact.get(change, ())
        missense = _MISSENSE_RE.match(change) if cls == "Missense_Mutation" else None
        if missense:
            found = found + self.codon.get((missense.group(1), int(missense.group(2))), ())
        if cls in _TRUNCATING or cls in {"In_Frame_Del", "In_Frame_Ins"}:
            found = found + self.sequence
        return found


def _position(change: str) -> int | None:
    match = _CHANGE_RE.match(change)
    return int(match.group(2)) if match else None


def _is_compound(name: str) -> bool:
    return " AND " in f" {name} " or ";" in name


def _structural_kind(name: str, gene: str, cls: str, change: str) -> str | None:
    """How an entry matches an amplification, deletion or fusion call: the gene-level name of that class, the
    gene's fusion entry, or a fusion pair whose partners are both named in the call."""
    if _GENE_LEVEL.get(name) == cls:
        return "gene-level"
    if cls != "Fusion":
        return None
    if name in {f"{gene} FUSION", f"{gene} FUSIONS"}:
        return "gene-level"
    pair = _PAIR_FUSION_RE.match(name)
    partners = set(re.split(r"[^A-Z0-9]+", change)) if change else set()
    if pair and gene in pair.groups() and set(pair.groups()) <= partners:
        return "variant"
    return None


def _codon_kind(name: str, cls: str, change: str) -> str | None:
    """``codon`` where the entry names the codon of a missense call to another amino acid (``V600``, ``G12/G13``)."""
    missense = _MISSENSE_RE.match(change) if cls == "Missense_Mutation" else None
    if not missense or missense.group(1) == missense.group(3):
        return None
    for part in name.split("/"):
        codon = _CODON_RE.match(part.strip())
        if codon and codon.groups() == missense.groups()[:2]:
            return "codon"
    return None


def _exon_kind(name: str, gene: str, cls: str, change: str) -> str | None:
    """``exon`` for EGFR exon 19 deletions / exon 20 insertions and MET exon 14 skipping, by codon range."""
    position = _position(change)
    if position is None:
        return None
    if gene == "EGFR":
        if name == "EXON 19 DELETION" and cls == "In_Frame_Del" and 729 <= position <= 761:
            return "exon"
        if name == "EXON 20 INSERTION" and cls == "In_Frame_Ins" and 762 <= position <= 823:
            return "exon"
    met_exon14 = gene == "MET" and name.startswith("EXON 14 SKIPPING") and cls == "Splice_Site"
    if met_exon14 and 960 <= position <= 1012:
        return "exon"
    return None


def match_kind(entry_variant: str, gene: str, call: Variant) -> str | None:
    """How a CIViC entry matches a call (``variant``, ``codon``, ``exon``, ``gene-level``), or None (the rules in
    the package docstring)."""
    cls = call.classification
    change = call.protein_change.upper()
    name = entry_variant
    if cls in {"Amplification", "Deletion", "Fusion"}:
        return _structural_kind(name, gene, cls, change)
    if cls not in NONSYNONYMOUS_CLASSES or _is_compound(name):
        return None  # silent, non-coding, Unknown calls and compound entries: nothing
    if change and name == change:
        return "variant"
    codon = _codon_kind(name, cls, change)
    if codon is not None:
        return codon
    if _GENE_LEVEL.get(name) == "truncating":
        return "gene-level" if cls in _TRUNCATING and gene_role(gene) == "tumour suppressor" else None
    return _exon_kind(name, gene, cls, change)
