"""What a matched piece of evidence is: :class:`EvidenceItem`, the AMP/ASCO/CAP tiers, the call labels and
the JSON rows (:func:`evidence_rows`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from medai_core.genomics.readers import Variant

LEVEL_ORDER = {"FDA": 0, "NCCN": 0, "A": 1, "B": 2, "C": 3, "D": 4, "E": 5}
#: AMP/ASCO/CAP 2017 tiers, best first.
TIERS: tuple[str, ...] = ("I-A", "I-B", "II-C", "II-D", "III", "IV")


@dataclass(frozen=True)
class EvidenceItem:
    """One knowledge-base statement matched to a call.

    Attributes:
        gene: gene symbol; variant: the knowledge-base variant name or biomarker definition (``V600E``,
            ``exon 19 deletion|L858R``).
        matched: the patient's call it was matched to (``BRAF V600E``) and match_kind how (``variant``, ``codon``,
            ``exon``, ``gene-level``, ``definition``).
        level: CIViC evidence level A-E, or ``FDA`` / ``NCCN`` for a therapy-level assertion.
        drugs: therapies: ``A + B`` a combination, ``A; B`` alternatives.
        direction: ``Supports`` or ``Does Not Support``.
        significance: ``Sensitivity/Response``, ``Resistance``, ``Reduced Sensitivity``, ``Adverse Response``.
        disease: the disease the evidence is for; same_tumour_type: whether that is the patient's OncoTree node or
            an ancestor of it (``SOLID`` for a tumour-agnostic assertion that does not exclude it).
        source: ``CIViC EID1409 (PubMed 22608338)`` or the label / guideline citation.
        kind: ``assertion`` (FDA label or guideline) or ``civic``.
        biomarker: how the call meets the definition (``exact change V600E named by the source``).
        date: approval, label or guideline date of an assertion; url: link to the source.
        agnostic: a tumour-agnostic assertion; excluded: the assertion excludes the patient's tumour type.
        line: line of therapy of an assertion; assertion_id: its id.
    """

    gene: str
    variant: str
    matched: str
    match_kind: str
    level: str
    drugs: str
    direction: str
    significance: str
    disease: str
    same_tumour_type: bool
    source: str
    kind: str = "civic"
    biomarker: str = ""
    date: str = ""
    url: str = ""
    agnostic: bool = False
    excluded: bool = False
    line: str = ""
    assertion_id: str = ""

    @property
    def is_resistance(self) -> bool:
        """Evidence supporting resistance (or reduced sensitivity) to the drugs."""
        return self.direction == "Supports" and self.significance in {"Resistance", "Reduced Sensitivity"}

    @property
    def is_sensitivity(self) -> bool:
        """Evidence supporting response to the drugs."""
        return self.direction == "Supports" and self.significance == "Sensitivity/Response"

    @property
    def tier(self) -> str | None:
        """AMP/ASCO/CAP tier this item supports: an assertion gives ``I-A`` in the patient's tumour type and
        ``II-C`` for another type (None where it excludes the patient's type, or for resistance in another type); a
        CIViC item gives ``II-D`` in the
        patient's tumour type (levels A-D) and nothing elsewhere: off-tumour CIViC evidence is shown, not tiered
        (level E and evidence that does not support the association give None)."""
        if self.direction != "Supports":
            return None
        if self.kind == "assertion":
            if self.excluded or (self.is_resistance and not self.same_tumour_type):
                return None  # excluded by the label; resistance in another tumour type says nothing here
            return "I-A" if self.same_tumour_type else "II-C"
        return "II-D" if self.same_tumour_type and self.level in {"A", "B", "C", "D"} else None


def call_label(call: Variant) -> str:
    if call.gene == "TMB":
        return "TMB-high"
    if call.classification in {"Amplification", "Deletion", "Fusion"}:
        what = call.classification.lower() + (f" {call.protein_change}" if call.protein_change else "")
        return f"{call.gene} {what}"
    return f"{call.gene} {call.protein_change or call.classification}"


def call_key(call: Variant) -> tuple[str, str, str]:
    """What evidence matching and tiering read from a call: gene, protein change and class."""
    return call.gene, call.protein_change, call.classification


def evidence_rows(items: Sequence[EvidenceItem]) -> list[dict[str, object]]:
    """JSON rows in the CLI contract's keys (plus ``matched``, ``match_kind``, ``tier``, ``kind``, ``biomarker``,
    ``date``, ``url``, ``excluded``)."""
    return [
        {
            "gene": e.gene,
            "variant": e.variant,
            "matched": e.matched,
            "match_kind": e.match_kind,
            "level": e.level,
            "tier": e.tier,
            "drugs": e.drugs,
            "direction": e.direction,
            "significance": e.significance,
            "disease": e.disease,
            "same_tumour_type": e.same_tumour_type,
            "source": e.source,
            "kind": e.kind,
            "biomarker": e.biomarker,
            "date": e.date,
            "url": e.url,
            "excluded": e.excluded,
        }
        for e in items
    ]
