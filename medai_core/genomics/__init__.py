"""Gene-panel domain: read tumour panels (MAF, annotated VCF, CSV), TMB, knowledge-base evidence (CIViC, FDA
labels) with AMP/ASCO/CAP tiers and therapy options, and overall survival on immune checkpoint inhibitors from a
Keras ensemble trained on Samstein et al. 2019.

Heavy modules (TensorFlow) are imported only where a model runs.
"""

from __future__ import annotations

from medai_core.genomics.analysis import OUTCOME_CAVEAT, ClassSurvival, GeneResult, analyse_bytes, analyse_panel
from medai_core.genomics.evidence import (
    TIERS,
    EvidenceBase,
    EvidenceItem,
    TherapyOption,
    call_tier,
    evidence_import,
    load_evidence,
    match_evidence,
    therapy_options,
)
from medai_core.genomics.panels import Panel, normalise_gene, resolve_panel
from medai_core.genomics.readers import PanelFile, Variant, read_panel
from medai_core.genomics.tmb import TMB_HIGH_THRESHOLD, TmbResult, compute_tmb
from medai_core.genomics.tumours import TUMOUR_TYPES, resolve_tumour_type

__all__ = [
    "ClassSurvival",
    "EvidenceBase",
    "EvidenceItem",
    "GeneResult",
    "OUTCOME_CAVEAT",
    "Panel",
    "PanelFile",
    "TIERS",
    "TMB_HIGH_THRESHOLD",
    "TUMOUR_TYPES",
    "TherapyOption",
    "TmbResult",
    "Variant",
    "analyse_bytes",
    "analyse_panel",
    "call_tier",
    "compute_tmb",
    "evidence_import",
    "load_evidence",
    "match_evidence",
    "normalise_gene",
    "read_panel",
    "resolve_panel",
    "resolve_tumour_type",
    "therapy_options",
]
