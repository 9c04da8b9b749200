"""Binary classification metrics used by the CT card and ``evaluate ct``: AUC, sensitivity at fixed specificity,
expected calibration error (Naeini et al., AAAI 2015; equal-width bins) and the reliability table; and the scoring of
a labelled folder with each exam's provenance role (:func:`score_folder`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from medai_core.ct.data import NoduleSet

if TYPE_CHECKING:
    from medai_core.models import LoadedModel

__all__ = [
    "ECE_BINS",
    "FolderScores",
    "binary_metrics",
    "ece_if_calibrated",
    "expected_calibration_error",
    "grouped_bootstrap_auc_ci",
    "reliability_table",
    "score_folder",
    "sensitivity_at_specificity",
]

ECE_BINS = 10


def sensitivity_at_specificity(labels: NDArray[Any], scores: NDArray[Any], specificity: float = 0.9) -> float:
    """Highest sensitivity over thresholds whose specificity is at least ``specificity`` (from the ROC curve)."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(labels, scores)
    allowed = fpr <= 1.0 - specificity + 1e-12
    return float(tpr[allowed].max()) if allowed.any() else 0.0


def reliability_table(labels: NDArray[Any], probabilities: NDArray[Any], bins: int = ECE_BINS) -> list[dict[str, Any]]:
    """Equal-width probability bins: ``{"bin": "0.0-0.1", "n", "mean_predicted", "observed_rate"}`` (non-empty bins)."""
    labels = np.asarray(labels, dtype=np.float64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.digitize(probabilities, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        inside = index == b
        if inside.any():
            rows.append(
                {
                    "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                    "n": int(inside.sum()),
                    "mean_predicted": round(float(probabilities[inside].mean()), 4),
                    "observed_rate": round(float(labels[inside].mean()), 4),
                }
            )
    return rows


def expected_calibration_error(labels: NDArray[Any], probabilities: NDArray[Any], bins: int = ECE_BINS) -> float:
    """ECE: the count-weighted mean |observed rate - mean predicted| over equal-width bins."""
    rows = reliability_table(labels, probabilities, bins)
    total = sum(r["n"] for r in rows)
    return float(sum(r["n"] * abs(r["observed_rate"] - r["mean_predicted"]) for r in rows) / max(total, 1))


def ece_if_calibrated(probabilities: NDArray[Any], *, draws: int = 2000, seed: int = 0) -> dict[str, float]:
    """The ECE that a perfectly calibrated model would show on these probabilities, by chance alone.

    Labels are drawn as Bernoulli(p) for each probability ``draws`` times; the ECE of each draw is the sampling
    noise of the metric at this sample size. On ~140 nodules it is about 0.07 (median), so a held-out ECE must be
    read against it, not against 0.

    Returns:
        ``{"median", "p90", "p95", "share_at_or_below_0_05"}`` of the simulated ECEs.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    rng = np.random.default_rng(seed)
    values = np.array(
        [
            expected_calibration_error((rng.random(probabilities.size) < probabilities).astype(np.int64), probabilities)
            for _ in range(draws)
        ]
    )
    return {
        "median": round(float(np.median(values)), 4),
        "p90": round(float(np.percentile(values, 90)), 4),
        "p95": round(float(np.percentile(values, 95)), 4),
        "share_at_or_below_0_05": round(float(np.mean(values <= 0.05)), 4),
    }


def grouped_bootstrap_auc_ci(
    labels: NDArray[Any],
    scores: NDArray[Any],
    groups: NDArray[Any],
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """95% percentile interval of the AUC, resampling whole groups (exams) with replacement.

    Resamples holding one class only are skipped. Nodules of one exam are correlated, so resampling exams rather
    than nodules keeps the interval honest.
    """
    from sklearn.metrics import roc_auc_score

    labels, scores, groups = np.asarray(labels), np.asarray(scores), np.asarray(groups)
    unique = np.unique(groups)
    members = [np.flatnonzero(groups == g) for g in unique]
    rng = np.random.default_rng(seed)
    aucs = []
    for _ in range(resamples):
        pick = np.concatenate([members[i] for i in rng.integers(len(unique), size=len(unique))])
        if len(np.unique(labels[pick])) == 2:
            aucs.append(roc_auc_score(labels[pick], scores[pick]))
    low, high = np.percentile(aucs, [2.5, 97.5])
    return round(float(low), 4), round(float(high), 4)


def binary_metrics(labels: NDArray[Any], probabilities: NDArray[Any]) -> dict[str, float]:
    """``n``, ``auc``, ``sensitivity_at_90_specificity``, ``ece``, ``brier`` of probabilities against 0/1 labels.

    Raises:
        ValueError: fewer than one example of each class (AUC is undefined).
    """
    from sklearn.metrics import brier_score_loss, roc_auc_score

    labels = np.asarray(labels, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if len(np.unique(labels)) < 2:
        raise ValueError("AUC needs at least one benign and one malignant nodule")
    return {
        "n": int(labels.size),
        "auc": round(float(roc_auc_score(labels, probabilities)), 4),
        "sensitivity_at_90_specificity": round(sensitivity_at_specificity(labels, probabilities, 0.9), 4),
        "ece": round(expected_calibration_error(labels, probabilities), 4),
        "brier": round(float(brier_score_loss(labels, probabilities)), 4),
    }


@dataclass(frozen=True)
class FolderScores:
    """The shipped model's scores on every nodule of a labelled folder, with each exam's provenance role.

    Attributes:
        data: the nodules as read (:func:`medai_core.ct.data.load_nodules`).
        probability: (N,) calibrated malignancy probability.
        low: (N,) interval low end.
        high: (N,) interval high end.
        roles: (N,) the exam's role in the model's provenance manifest: ``"train"``, ``"validation"``, ``"test"``,
            or None for an exam the model never had.
        radiomics: radiomics.csv rows of the nodules and their column names, or None (no CSV, or rows missing).
    """

    data: NoduleSet
    probability: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]
    roles: tuple[str | None, ...]
    radiomics: tuple[NDArray[np.float64], list[str]] | None

    @property
    def held_out(self) -> NDArray[np.bool_]:
        """(N,) True where the nodule's exam was used neither in training nor in model selection."""
        return np.array([role not in ("train", "validation") for role in self.roles], dtype=bool)


def score_folder(data_dir: Path, model: LoadedModel) -> FolderScores:
    """Score every nodule of ``data_dir`` (LIDC layout) with ``model`` and look up each exam's role.

    Raises:
        ImageInputError: the folder does not have the LIDC layout.
        ModelCardError: the card has no provenance manifest.
    """
    from medai_core.ct.data import DATASET_NAME, load_nodules, radiomics_table
    from medai_core.ct.scoring import Stacker, features_for, member_logits_for

    card = model.card
    manifest = card.manifest
    data = load_nodules(data_dir)
    stacker = Stacker.from_artifact(card.artifacts["stacker"])
    logits = member_logits_for(data.volumes, lambda batch: np.asarray(model.predict(batch))[:, 1:])
    p, low, high = stacker.with_interval(logits, features_for(data.volumes, radiomics=stacker.reads_radiomics))
    return FolderScores(
        data=data,
        probability=np.asarray(p, dtype=np.float64),
        low=np.asarray(low, dtype=np.float64),
        high=np.asarray(high, dtype=np.float64),
        roles=tuple(manifest.roles(DATASET_NAME, data.exam_ids.tolist())),
        radiomics=radiomics_table(data_dir, data),
    )
