"""Matching calls to the knowledge base (:func:`match_evidence`): the distinct calls, the CIViC disease mapping to
OncoTree, and one :class:`EvidenceItem` per matched assertion or CIViC entry."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

from medai_core.genomics.evidence.base import EvidenceBase
from medai_core.genomics.evidence.items import LEVEL_ORDER, EvidenceItem, call_label
from medai_core.genomics.evidence.rules import Entry, match_kind
from medai_core.genomics.knowledge.assertions import Assertion
from medai_core.genomics.readers import Variant
from medai_core.genomics.tumours import TumourType, oncotree, resolve_tumour


def distinct_calls(variants: Iterable[Variant]) -> dict[Variant, int]:
    """The distinct calls for evidence matching, in first-seen order, each with how many rows repeat it.

    Args:
        variants: calls, possibly repeated (the same gene, protein change and class on several rows).

    Returns:
        first call of each (gene, protein change, class) -> the number of rows with that key.
    """
    first: dict[tuple[str, str, str], Variant] = {}
    counts: dict[tuple[str, str, str], int] = {}
    for call in variants:
        key = (call.gene, call.protein_change, call.classification)
        if key not in first:
            first[key] = call
            counts[key] = 0
        counts[key] += 1
    return {first[key]: n for key, n in counts.items()}


@lru_cache(maxsize=1)
def _civic_disease_codes() -> dict[str, str]:
    text = resources.files("medai_core.genomics").joinpath("data/civic_diseases.tsv").read_text(encoding="utf-8")
    rows = csv.DictReader((line for line in text.splitlines() if not line.startswith("#")), delimiter="\t")
    return {r["civic_disease"].lower(): r["oncotree"] for r in rows}


@lru_cache(maxsize=4096)
def disease_code(disease: str) -> str | None:
    """The OncoTree code of a knowledge-base disease name: the curated CIViC mapping, else an exact OncoTree name
    or code; None for anything else (``Cancer``, ``Solid Tumor``: never the patient's tumour type)."""
    key = " ".join(disease.lower().split())
    if key in _civic_disease_codes():
        return _civic_disease_codes()[key]
    tree = oncotree()
    return tree.code_for_name(key) or (disease.strip().upper() if disease.strip().upper() in tree.nodes else None)


def _assertion_item(a: Assertion, call: Variant, how: str, tumour: TumourType) -> EvidenceItem:
    tree = oncotree()
    excluded = bool(a.exclude) and tree.within(tumour.code, a.exclude)
    same = tree.within(tumour.code, a.oncotree) and not excluded
    names = [tree.nodes[c][0] if c in tree.nodes else "any solid tumour" for c in a.oncotree]
    disease = ", ".join(names)
    if a.exclude:
        disease += " (except " + ", ".join(tree.nodes[c][0] for c in a.exclude if c in tree.nodes) + ")"
    return EvidenceItem(
        a.gene,
        a.biomarker.text,
        call_label(call),
        "definition",
        a.level,
        a.drugs,
        "Supports",
        "Resistance" if a.significance == "Resistance" else "Sensitivity/Response",
        disease,
        same,
        f"{a.citation} [{a.id}]",
        kind="assertion",
        biomarker=how,
        date=a.date,
        url=a.url,
        agnostic=a.agnostic,
        excluded=excluded,
        line=a.line,
        assertion_id=a.id,
    )


def _civic_item(entry: Entry, call: Variant, kind: str, tumour: TumourType) -> EvidenceItem:
    code = disease_code(entry.disease)
    same = code is not None and oncotree().within(tumour.code, [code])
    eid = entry.source.split()[1] if entry.source.startswith("CIViC EID") else ""
    return EvidenceItem(
        call.gene,
        entry.variant,
        call_label(call),
        kind,
        entry.level,
        entry.drugs,
        entry.direction,
        entry.significance,
        entry.disease,
        same,
        entry.source,
        biomarker=f"CIViC {entry.variant.lower()} ({kind} match)",
        url=f"https://civicdb.org/evidence/{eid.removeprefix('EID')}" if eid else "",
    )


def match_evidence(
    base: EvidenceBase, variants: Iterable[Variant], tumour_type: str | TumourType, *, tmb_high: bool = False
) -> tuple[EvidenceItem, ...]:
    """Every assertion and CIViC item that matches one of the calls, sorted: same tumour type first, then level
    (FDA/NCCN, A..E), then specificity. ``tmb_high`` adds the TMB-high assertions.

    Args:
        base: from :func:`load_evidence`.
        variants: the calls; identical calls (same gene, protein change and class) are matched once.
        tumour_type: an OncoTree code, name or synonym (resolved by
            :func:`~medai_core.genomics.tumours.resolve_tumour`) or a resolved :class:`TumourType`.

    The knowledge is indexed by gene, so the cost is linear in the number of distinct calls.

    Raises:
        PanelInputError: an unknown tumour type.
    """
    tumour = tumour_type if isinstance(tumour_type, TumourType) else resolve_tumour(tumour_type)
    items: list[EvidenceItem] = []
    seen: set[tuple[str, str, str]] = set()
    calls: list[Variant] = list(distinct_calls(variants))
    if tmb_high:
        calls.append(Variant("TMB", "TMB-HIGH", "Targeted_Region", None, ""))
    for call in calls:
        for assertion in base.assertions.get(call.gene, ()):
            how = assertion.biomarker.met_by(call.gene, call.protein_change, call.classification)
            if how is not None:
                items.append(_assertion_item(assertion, call, how, tumour))
        if call.gene == "TMB":
            continue
        index = base.index.get(call.gene)
        for entry in index.candidates(call) if index is not None else ():
            kind = match_kind(entry.variant, call.gene, call)
            if kind is None:
                continue
            key = (call_label(call), entry.source, entry.disease)
            if key in seen:
                continue
            seen.add(key)
            items.append(_civic_item(entry, call, kind, tumour))
    specificity = {"definition": 0, "variant": 0, "exon": 1, "codon": 1, "gene-level": 2}
    items.sort(key=lambda e: (not e.same_tumour_type, LEVEL_ORDER.get(e.level, 9), specificity[e.match_kind], e.gene))
    return tuple(items)
