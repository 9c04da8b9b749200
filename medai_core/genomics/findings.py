"""What a panel analysis derives from the calls alone, before the model: TMB, the matched evidence, the tier of each
call, the therapy options and the panel notes.

This is the analysis step whose cost grows with the number of calls (the reader accepts up to 100,000 rows), so
:func:`medai_core.genomics.analysis.analyse_bytes` runs it as it runs the reader: in an isolated worker, under the
same time and memory limits (:func:`medai_core.isolation.run_isolated`; ``MEDAI_ISOLATION_TIME_S``,
``MEDAI_ISOLATION_MEMORY_MB``). The model step that follows reads a fixed-size input (one row per drug class),
whatever the number of calls. The module imports no model code, so an isolated worker runs it without TensorFlow.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from medai_core.genomics.evidence import (
    EvidenceBase,
    EvidenceItem,
    TherapyOption,
    call_tiers,
    match_evidence,
    ranked_options,
)
from medai_core.genomics.panels import Panel
from medai_core.genomics.readers import Variant
from medai_core.genomics.tmb import TmbResult, compute_tmb
from medai_core.genomics.tumours import TumourType

__all__ = ["PanelFindings", "panel_findings", "panel_notes"]


@dataclass(frozen=True)
class PanelFindings:
    """The model-free part of one panel's analysis.

    Attributes:
        tmb: TMB with percentile and flag.
        mutated: genes with a nonsynonymous call that the panel observes.
        evidence: matched knowledge-base items (sorted, see :func:`~medai_core.genomics.evidence.match_evidence`).
        tiers: per call (same order), its AMP/ASCO/CAP 2017 tier and the reason.
        offered, removed: the therapy options offered and withheld (see
            :func:`~medai_core.genomics.evidence.ranked_options`).
        panel_notes: see :func:`panel_notes`.
    """

    tmb: TmbResult
    mutated: frozenset[str]
    evidence: tuple[EvidenceItem, ...]
    tiers: tuple[tuple[str, str], ...]
    offered: tuple[TherapyOption, ...]
    removed: tuple[TherapyOption, ...]
    panel_notes: tuple[str, ...]


def panel_findings(
    calls: Sequence[Variant],
    tumour: TumourType,
    panel: Panel,
    evidence_base: EvidenceBase,
    *,
    tmb_reference: Mapping[str, Sequence[float]],
    model_genes: Collection[str],
) -> PanelFindings:
    """TMB, evidence, tiers, therapy options and panel notes of one tumour's calls.

    Args:
        calls: the sample's calls.
        tumour: the resolved tumour type (its cohort cancer type, else its main type, ranks the TMB).
        panel: the sequencing panel.
        evidence_base: from :func:`~medai_core.genomics.evidence.load_evidence`.
        tmb_reference: cancer type -> sorted cohort TMB values (empty where the tumour type is not modelled).
        model_genes: the genes the survival model has as inputs (for the panel notes).
    """
    cohort = tumour.cohort_type
    tmb = compute_tmb(calls, panel, cancer_type=cohort or tumour.main_type, reference=tmb_reference)
    mutated = frozenset(v.gene for v in calls if v.nonsynonymous and panel.observes(v.gene))
    evidence = match_evidence(evidence_base, calls, tumour, tmb_high=tmb.high)
    offered, removed = ranked_options(evidence)
    n_modelled = len(mutated & set(model_genes))
    return PanelFindings(
        tmb=tmb,
        mutated=mutated,
        evidence=evidence,
        tiers=call_tiers(calls, evidence),
        offered=offered,
        removed=removed,
        panel_notes=panel_notes(calls, panel, n_model_genes=len(model_genes), n_modelled=n_modelled),
    )


def panel_notes(calls: Sequence[Variant], panel: Panel, *, n_model_genes: int, n_modelled: int) -> tuple[str, ...]:
    """What the panel choice means for TMB and the model: calls in genes the panel does not cover (not counted),
    and for exome (or other non-IMPACT) input the caveats on the TMB percentile and the survival model.

    Args:
        calls: the sample's calls.
        panel: the chosen panel.
        n_model_genes: genes the survival model has as inputs; n_modelled: of those, mutated in this sample.
    """
    notes = []
    off = [v for v in calls if v.nonsynonymous and not panel.observes(v.gene)]
    if off:
        genes = sorted({v.gene for v in off})
        shown = ", ".join(genes[:8]) + (f", ... ({len(genes)} genes)" if len(genes) > 8 else "")
        notes.append(
            f"{len(off)} nonsynonymous call(s) lie in genes outside the {panel.name} panel ({shown}): they are not "
            "counted in TMB and are not model inputs. Check that the panel chosen is the one the tumour was "
            "sequenced with."
        )
    if not panel.name.startswith("IMPACT"):
        what = "a whole exome" if panel.name == "WES" else f"a {panel.size_mb:g} Mb panel"
        notes.append(
            f"TMB from {what} is not on the MSK-IMPACT scale: its percentile is ranked against MSK-IMPACT patients "
            "and the survival model was trained on MSK-IMPACT panels, so both are indicative only (exome TMB is "
            "usually lower for the same tumour)."
        )
        notes.append(
            f"The survival model reads only the {n_model_genes} genes it was trained on ({n_modelled} mutated in "
            "this sample); other calls count only towards TMB."
        )
    return tuple(notes)
