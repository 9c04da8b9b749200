"""AMP/ASCO/CAP 2017 tier of each call from the evidence matched to it (:func:`call_tier`, :func:`call_tiers`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from medai_core.genomics.evidence.items import TIERS, EvidenceItem, call_key, call_label
from medai_core.genomics.knowledge.biomarkers import hotspot_kind
from medai_core.genomics.panels import NON_CODING_CLASSES
from medai_core.genomics.readers import Variant

#: Classes that get tier IV (benign or likely benign for therapy) when no evidence matches: synonymous, intronic,
#: intergenic, non-coding RNA, 3' UTR and downstream calls. Promoter/5' calls (e.g. TERT promoter mutations), splice
#: region, interaction-only and Unknown calls stay tier III: their significance is unknown, not benign.
LIKELY_BENIGN_CLASSES: frozenset[str] = frozenset({"Silent", "Intron", "IGR", "RNA", "3'UTR", "3'Flank"})


def _best_by_call(evidence: Sequence[EvidenceItem]) -> dict[str, tuple[int, str, EvidenceItem]]:
    best: dict[str, tuple[int, str, EvidenceItem]] = {}
    for e in evidence:
        tier = e.tier
        if tier is None:
            continue
        rank = TIERS.index(tier)
        if e.matched not in best or rank < best[e.matched][0]:
            best[e.matched] = (rank, tier, e)
    return best


def _tier_of_call(call: Variant, best: Mapping[str, tuple[int, str, EvidenceItem]]) -> tuple[str, str]:
    found = best.get(call_label(call))
    if found is not None:
        _, tier, e = found
        what = "resistance" if e.is_resistance else "response"
        where = "this tumour type" if e.same_tumour_type else f"another tumour type ({e.disease})"
        if e.kind == "assertion":
            return tier, f"{e.level} {what} assertion in {where}; {e.biomarker} ({e.source})"
        return tier, f"CIViC level {e.level} {what} evidence in {e.disease}, tier II-D at most ({e.source})"
    if call.classification in LIKELY_BENIGN_CLASSES:
        return "IV", "no protein change and no evidence: likely benign for therapy (synonymous or non-coding)"
    if call.classification in NON_CODING_CLASSES:
        return "III", "no evidence matched; non-coding call near a promoter or splice site: unknown significance"
    hot = hotspot_kind(call.gene, call.protein_change.upper(), call.classification)
    if hot:
        return "III", f"{hot}, but no therapy-level evidence for it in this tumour type"
    return "III", "no therapeutic evidence matched: unknown clinical significance"


def call_tier(call: Variant, evidence: Sequence[EvidenceItem]) -> tuple[str, str]:
    """AMP/ASCO/CAP 2017 tier of one call and the reason.

    The best tier of the evidence matched to this call (tier I only from therapy-level assertions in this tumour
    type, II-C from assertions for another type, II-D from CIViC); without any: ``IV`` for
    :data:`LIKELY_BENIGN_CLASSES` (no protein change, away from promoters and splice sites), else ``III``
    (unknown significance, including ``Unknown`` calls and hotspots without therapy evidence). Population
    frequencies are not available here, so no protein-changing call is ever called benign.
    """
    return _tier_of_call(call, _best_by_call(evidence))


def call_tiers(calls: Sequence[Variant], evidence: Sequence[EvidenceItem]) -> tuple[tuple[str, str], ...]:
    """:func:`call_tier` of every call, with the evidence indexed once (linear in calls + evidence).

    Returns:
        one (tier, reason) per call, in the order of ``calls``.
    """
    best = _best_by_call(evidence)
    memo: dict[tuple[str, str, str], tuple[str, str]] = {}
    out = []
    for call in calls:
        key = call_key(call)
        if key not in memo:
            memo[key] = _tier_of_call(call, best)
        out.append(memo[key])
    return tuple(out)
