"""CT payloads: the ``predict ct`` document per input and the ``evaluate ct`` summary, rows and table.

The keys are the command-line contract (``docs/CLI.md``); pages and reports use the same builders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from medai_core.errors import ImageInputError

if TYPE_CHECKING:
    from medai_core.ct.analysis import NoduleAnalysis
    from medai_core.ct.evaluation import FolderScores
    from medai_core.models import ModelCard

__all__ = ["PREDICTION_COLUMNS", "evaluation_payload", "format_evaluation", "prediction_payload"]

PREDICTION_COLUMNS = ("exam_id", "nodule_id", "label", "probability", "low", "high", "role")
"""Columns of ``evaluate ct --predictions``: the contract's six, then ``role`` (train, validation, test or new)."""


def prediction_payload(input_name: str, analysis: NoduleAnalysis) -> dict[str, Any]:
    """The ``predict ct`` JSON object of one input: ``input`` then the analysis summary keys."""
    return {"input": input_name, **analysis.summary()}


def _with_ci(labels: Any, scores: Any, exams: Any) -> dict[str, Any]:
    from medai_core.ct.evaluation import binary_metrics, grouped_bootstrap_auc_ci

    metrics: dict[str, Any] = dict(binary_metrics(labels, scores))
    metrics["auc_ci95_by_exam"] = grouped_bootstrap_auc_ci(labels, scores, exams)
    return metrics


def evaluation_payload(
    scores: FolderScores, card: ModelCard, *, held_out_only: bool = False, source: str = "the folder"
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``evaluate ct`` summary and per-nodule rows.

    Args:
        scores: the model's scores on a folder (:func:`medai_core.ct.evaluation.score_folder`).
        card: the model's card (stored baselines, id, version, sha256, provenance manifest).
        held_out_only: keep only nodules whose exams were used neither in training nor in model selection.
        source: how messages name the folder.

    Returns:
        (summary, rows). ``summary`` has the CLI.md keys ``n, auc, sensitivity_at_90_specificity, ece, brier``
        (over the nodules kept), ``n_in_training, n_in_validation, n_in_test, n_new`` (exams of the whole folder
        by their role in the card's manifest), ``n_training_exam_nodules`` (nodules from training or selection
        exams), ``held_out`` (metrics on the held-out and new exams alone, with the exam-bootstrap AUC interval),
        ``held_out_only``, ``baselines`` (where radiomics.csv covers the nodules) and the model's id, version and
        sha256. ``rows``: one per nodule kept, columns :data:`PREDICTION_COLUMNS`.

    Raises:
        ImageInputError: the nodules kept are all of one class, or ``held_out_only`` keeps none.
    """
    from medai_core.ct.data import DATASET_NAME
    from medai_core.ct.evaluation import binary_metrics

    data = scores.data
    membership = card.manifest.count(DATASET_NAME, data.exam_ids.tolist())
    held = scores.held_out
    keep = held if held_out_only else np.ones(len(held), dtype=bool)
    if not keep.any():
        raise ImageInputError(
            f"{source}: none of its {len(set(data.exam_ids.tolist()))} exams is held out (all were used to train or "
            "select the model), so --held-out-only leaves nothing to evaluate"
        )
    labels, p, exams = data.labels[keep], scores.probability[keep], data.exam_ids[keep]
    try:
        summary: dict[str, Any] = dict(binary_metrics(labels, p))
    except ValueError as exc:
        raise ImageInputError(
            f"{source}: {exc}; the nodules evaluated need both classes (images/benign and images/malignant)"
        ) from None
    summary.update(membership.to_dict())
    summary["n_training_exam_nodules"] = int((~held).sum())
    summary["held_out_only"] = held_out_only
    held_kept = held[keep]
    if held_kept.any() and len(np.unique(labels[held_kept])) == 2:
        summary["held_out"] = _with_ci(labels[held_kept], p[held_kept], exams[held_kept])
    elif held_kept.any():
        summary["held_out_note"] = (
            f"{int(held_kept.sum())} held-out or new nodules, all of one class: no AUC on them alone"
        )
    baselines = card.artifacts.get("baselines", {})
    if scores.radiomics is not None and baselines:
        from medai_core.ct.data import baseline_probability

        table, columns = scores.radiomics
        summary["baselines"] = {}
        for name, artifact in baselines.items():
            if not all(c in columns for c in artifact["columns"]):
                continue
            base = baseline_probability(artifact, table[keep][:, [columns.index(c) for c in artifact["columns"]]])
            entry: dict[str, Any] = dict(binary_metrics(labels, base))
            if "held_out" in summary:
                entry["held_out"] = _with_ci(labels[held_kept], base[held_kept], exams[held_kept])
            summary["baselines"][name] = entry
    summary.update({"model_id": card.id, "model_version": card.version, "weights_sha256": card.weights_sha256})
    roles = [role or "new" for role, k in zip(scores.roles, keep, strict=True) if k]
    rows = [
        {
            "exam_id": e,
            "nodule_id": n,
            "label": int(y),
            "probability": round(float(a), 6),
            "low": round(float(b), 6),
            "high": round(float(c), 6),
            "role": r,
        }
        for e, n, y, r, a, b, c in zip(
            exams,
            data.nodule_ids[keep],
            labels,
            roles,
            p,
            scores.low[keep],
            scores.high[keep],
            strict=True,
        )
    ]
    return summary, rows


def format_evaluation(summary: dict[str, Any]) -> str:
    """The evaluation as a fixed-width table: model and baselines, all nodules kept and held-out exams, then the
    exam counts by provenance role."""
    header = f"{'':<34}{'n':>5}{'AUC':>8}{'AUC 95% CI':>16}{'sens@90spec':>13}{'ECE':>8}{'Brier':>8}"
    lines = [header, "-" * len(header)]

    def row(label: str, m: dict[str, Any]) -> str:
        ci = m.get("auc_ci95_by_exam")
        ci_text = f"{ci[0]:.3f}-{ci[1]:.3f}" if ci else ""
        return (
            f"{label:<34}{m['n']:>5}{m['auc']:>8.3f}{ci_text:>16}{m['sensitivity_at_90_specificity']:>13.3f}"
            f"{m['ece']:>8.3f}{m['brier']:>8.3f}"
        )

    scope = "held-out + new" if summary.get("held_out_only") else "all nodules"
    lines.append(row(f"{summary['model_id']} ({scope})", summary))
    if "held_out" in summary and not summary.get("held_out_only"):
        lines.append(row(f"{summary['model_id']} (held-out + new)", summary["held_out"]))
    for name, entry in summary.get("baselines", {}).items():
        lines.append(row(f"baseline {name} ({'held-out' if summary.get('held_out_only') else 'all'})", entry))
        if "held_out" in entry and not summary.get("held_out_only"):
            lines.append(row(f"baseline {name} (held-out + new)", entry["held_out"]))
    lines.append(
        f"exams: {summary['n_in_training']} in training, {summary['n_in_validation']} in validation, "
        f"{summary['n_in_test']} in the held-out test, {summary['n_new']} new"
    )
    return "\n".join(lines)
