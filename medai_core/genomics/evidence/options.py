"""Therapy options from the matched evidence: grouping by drug, resistance and label exclusions, ranking
(:func:`ranked_options`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from medai_core.genomics.evidence.items import TIERS, EvidenceItem

#: Therapy names that are not one drug or regimen: shown as evidence, never offered as an option.
GENERIC_THERAPIES = frozenset(
    {"chemotherapy", "radiation therapy", "radiotherapy", "immunotherapy", "platinum compound", "surgery"}
)


@dataclass(frozen=True)
class TherapyOption:
    """One drug (or combination) supported by the matched evidence.

    Attributes:
        drugs: ``Dabrafenib + Trametinib``.
        tier: best AMP/ASCO/CAP tier among its supporting items.
        same_tumour_type: some support is in the patient's tumour type.
        calls: the calls that support it (``BRAF V600E``).
        sources: citations of the supporting items (label section, guideline, CIViC EID + PubMed).
        resistance: lines describing evidence of resistance to any of its drugs among the patient's calls.
        biomarkers: the biomarker definitions met (``V600E|V600K: exact change V600E named by the source``).
        dates: approval / label / guideline dates of the supporting assertions; urls: links to the sources.
        agnostic: its tier comes only from tumour-agnostic assertions (ranked after a tumour-specific approval).
        line: line of therapy of the best supporting assertion.
        removed_by: why the option is withheld (resistance in this tumour type); empty for an offered option.
    """

    drugs: str
    tier: str
    same_tumour_type: bool
    calls: tuple[str, ...]
    sources: tuple[str, ...]
    resistance: tuple[str, ...]
    biomarkers: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    agnostic: bool = False
    line: str = ""
    removed_by: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON row (``drugs``, ``tier``, ``calls``, ``sources``, ``resistance``, ``same_tumour_type``,
        ``biomarkers``, ``dates``, ``urls``, ``tumour_agnostic``, ``line``, ``removed_by``)."""
        return {
            "drugs": self.drugs,
            "tier": self.tier,
            "calls": list(self.calls),
            "sources": list(self.sources),
            "resistance": list(self.resistance),
            "same_tumour_type": self.same_tumour_type,
            "biomarkers": list(self.biomarkers),
            "dates": list(self.dates),
            "urls": list(self.urls),
            "tumour_agnostic": self.agnostic,
            "line": self.line,
            "removed_by": list(self.removed_by),
        }


def _drug_key(option: str) -> frozenset[str]:
    return frozenset(d.strip().lower() for d in option.split("+") if d.strip())


def _offerable(item: EvidenceItem) -> bool:
    """Whether an item may put a drug on the list: an assertion that does not exclude this tumour type, or a CIViC
    clinical (level A/B) item in this tumour type naming specific drugs (off-tumour, case-report and preclinical
    CIViC evidence stays evidence)."""
    if not item.is_sensitivity or item.tier is None:
        return False
    if item.kind == "assertion":
        return True
    return item.same_tumour_type and item.level in {"A", "B"} and bool(item.drugs)


@dataclass
class _Group:
    """The supporting evidence of one option while it is collected (first-seen order, no repeats)."""

    drugs: str
    tier: str
    best: int = 99
    line: str = ""
    same: bool = False
    specific: bool = False
    lists: dict[str, dict[str, None]] = field(
        default_factory=lambda: {"calls": {}, "sources": {}, "bio": {}, "dates": {}, "urls": {}}
    )
    """Each list as the keys of a dict: first-seen order, repeats found in constant time."""

    def add(self, item: EvidenceItem, tier: str) -> None:
        """Count ``item`` (an offerable item of tier ``tier``) as support."""
        rank = TIERS.index(tier)
        if rank < self.best:
            self.best, self.tier, self.line = rank, tier, item.line
        if tier.startswith("I-") and not item.agnostic:
            self.specific = True
        self.same = self.same or item.same_tumour_type
        for name, value in (
            ("calls", item.matched),
            ("sources", item.source),
            ("dates", item.date),
            ("urls", item.url),
            ("bio", f"{item.variant}: {item.biomarker}"),
        ):
            if value:
                self.lists[name].setdefault(value)

    def option(self, against: list[str], blocked: list[str]) -> TherapyOption:
        """The option, with its resistance lines and why it is withheld (if it is)."""
        return TherapyOption(
            self.drugs,
            self.tier,
            self.same,
            tuple(self.lists["calls"]),
            tuple(self.lists["sources"]),
            tuple(against),
            tuple(self.lists["bio"]),
            tuple(self.lists["dates"]),
            tuple(self.lists["urls"]),
            self.tier.startswith("I-") and not self.specific,
            self.line,
            tuple(blocked),
        )


def _groups(evidence: Sequence[EvidenceItem]) -> dict[frozenset[str], _Group]:
    """Drug set -> its supporting evidence, over the offerable items (alternatives ``A; B`` apart, generic
    therapies left out)."""
    groups: dict[frozenset[str], _Group] = {}
    for item in evidence:
        if not _offerable(item):
            continue
        tier = str(item.tier)
        for option in (o.strip() for o in item.drugs.split(";")):
            key = _drug_key(option)
            if not option or key <= GENERIC_THERAPIES:
                continue
            groups.setdefault(key, _Group(option, tier)).add(item, tier)
    return groups


def _all_drugs(item: EvidenceItem) -> set[str]:
    return set().union(*(_drug_key(o) for o in item.drugs.split(";")))


def _against(key: frozenset[str], resistance: Sequence[EvidenceItem]) -> tuple[list[str], int]:
    """Lines for the resistance evidence to any drug of ``key``, and how many of them are in this tumour type."""
    against: dict[str, None] = {}
    same_type = 0
    for e in resistance:
        drugs = _all_drugs(e) if e.drugs else set()
        if drugs & key:
            line = f"{e.matched}: {e.significance.lower()} to {e.drugs}, level {e.level}, {e.disease} ({e.source})"
            if line not in against:
                against[line] = None
                same_type += e.same_tumour_type
    return list(against), same_type


def _blocked(key: frozenset[str], evidence: Sequence[EvidenceItem], blocking: Sequence[EvidenceItem]) -> list[str]:
    """Why the option ``key`` is withheld: a label excluding this tumour type, or resistance in this tumour type
    to all of its drugs (empty: offered)."""
    blocked = [
        f"{e.matched}: the label excludes this tumour type for {e.drugs} ({e.source})"
        for e in evidence
        if e.excluded and e.is_sensitivity and _drug_key(e.drugs) == key
    ]
    for e in blocking:
        if key <= _all_drugs(e):
            why = f"{e.matched}: {e.significance.lower()} to {e.drugs} in {e.disease} (level {e.level}; {e.source})"
            if why not in blocked:
                blocked.append(why)
    return blocked


def _order(pair: tuple[TherapyOption, int]) -> tuple[Any, ...]:
    o, same_type = pair
    return (TIERS.index(o.tier), o.agnostic, not o.same_tumour_type, same_type, -len(o.sources), o.drugs)


def ranked_options(evidence: Sequence[EvidenceItem]) -> tuple[tuple[TherapyOption, ...], tuple[TherapyOption, ...]]:
    """(offered, removed) therapy options. Offered: best first, by tier, then tumour-type-specific before
    tumour-agnostic, then support in this tumour type, then fewer resistance findings, then more sources.
    Removed: options all of whose drugs have resistance evidence in this tumour type (a resistance assertion, or
    CIViC level A/B), or that a label excludes for this tumour type (the BRAF V600E tumour-agnostic label and
    colorectal cancer), each with ``removed_by`` saying why. Alternatives (``A; B``) become separate options; a
    combination (``A + B``) stays one."""
    resistance = [e for e in evidence if e.is_resistance]
    blocking = [e for e in resistance if e.same_tumour_type and e.level in {"FDA", "NCCN", "A", "B"}]
    offered: list[tuple[TherapyOption, int]] = []
    removed: list[tuple[TherapyOption, int]] = []
    for key, group in _groups(evidence).items():
        against, same_type = _against(key, resistance)
        blocked = _blocked(key, evidence, blocking)
        (removed if blocked else offered).append((group.option(against, blocked), same_type))
    return tuple(o for o, _ in sorted(offered, key=_order)), tuple(o for o, _ in sorted(removed, key=_order))


def therapy_options(evidence: Sequence[EvidenceItem]) -> tuple[TherapyOption, ...]:
    """The offered options of :func:`ranked_options`, best first."""
    return ranked_options(evidence)[0]
