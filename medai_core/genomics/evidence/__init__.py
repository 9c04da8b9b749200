"""Knowledge-base evidence for panel alterations, AMP/ASCO/CAP 2017 tiers (Li et al., J Mol Diagn 2017) and the
therapy options they support.

Two kinds of knowledge, indexed by gene (the evidence step is linear in the number of calls):

* **therapy-level assertions** (:mod:`medai_core.genomics.knowledge.assertions`: FDA labels and NCCN guidelines, each
  with its biomarker definition, OncoTree tumour types, exclusions, line and citation). Only these make tier I: I-A
  where the row covers the patient's OncoTree node (itself or an ancestor; ``SOLID`` rows cover every solid tumour)
  and does not exclude it; II-C where the call meets an assertion made for another tumour type.
* **CIViC predictive evidence items** (Griffith et al., Nat Genet 2017; CC0), tier II-D at best and never a tier-I
  option: shown as evidence, and offered as a (II-D) option only when its disease is the patient's tumour type on the
  OncoTree (``data/civic_diseases.tsv``) and it names a specific drug.

Biomarker definitions are explicit (:mod:`medai_core.genomics.knowledge.biomarkers`). CIViC variant names are read
as: the exact protein change; a codon (``V600``, ``G12/G13``: a missense call at that codon to another amino acid);
EGFR exon 19 deletions / exon 20 insertions and MET exon 14 skipping by codon range; ``AMPLIFICATION``,
``DELETION``/``LOSS`` and fusions for calls of that type; truncating entries (``LOSS-OF-FUNCTION``, ``TRUNCATING
MUTATION``, ...) for nonsense, frameshift and splice-site calls in tumour suppressors only. Gene-wide ``MUTATION``
entries match nothing (CIViC uses them for a gene's sensitising mutations, which the entry does not list), nor do
compound or expression entries, silent, non-coding or ``Unknown`` calls.

Resistance: a resistance assertion, or CIViC level A/B resistance, in the patient's tumour type removes the drug (an
option all of whose drugs are resisted) from the options and says why. Ranking: tier, then a tumour-type-specific
approval before a tumour-agnostic one, then support in this tumour type.

Where the CIViC export comes from: a folder given explicitly (tests, scripts); otherwise the newest release, by
the ``DD-Mon-YYYY`` date in its name, among the ``MEDAI_EVIDENCE_DIR`` folder (if set) and the exports installed
with ``evidence import`` in the user data folder; without any, the dated snapshot shipped in ``data/`` (built by
``scripts/build_civic_snapshot.py``). No default path lies outside the repository.

Modules: :mod:`.items` (the evidence item, tiers, JSON rows), :mod:`.rules` (how CIViC variant names match calls;
the per-gene index), :mod:`.base` (the knowledge base, its sources and ``evidence import``), :mod:`.matching`
(:func:`match_evidence`), :mod:`.tiering` (tier per call), :mod:`.options` (therapy options and their ranking).
"""

from __future__ import annotations

from medai_core.genomics.evidence.base import (
    CIVIC_COLUMNS,
    SNAPSHOT_COLUMNS,
    EvidenceBase,
    civic_release_date,
    evidence_import,
    find_civic_export,
    load_evidence,
    read_civic_rows,
)
from medai_core.genomics.evidence.items import TIERS, EvidenceItem, evidence_rows
from medai_core.genomics.evidence.matching import distinct_calls, match_evidence
from medai_core.genomics.evidence.options import TherapyOption, ranked_options, therapy_options
from medai_core.genomics.evidence.tiering import LIKELY_BENIGN_CLASSES, call_tier, call_tiers

__all__ = [
    "CIVIC_COLUMNS",
    "LIKELY_BENIGN_CLASSES",
    "SNAPSHOT_COLUMNS",
    "TIERS",
    "EvidenceBase",
    "EvidenceItem",
    "TherapyOption",
    "call_tier",
    "call_tiers",
    "civic_release_date",
    "evidence_import",
    "find_civic_export",
    "load_evidence",
    "distinct_calls",
    "evidence_rows",
    "match_evidence",
    "ranked_options",
    "read_civic_rows",
    "therapy_options",
]
