"""The stackers the CT fusion and the nested cross-validation compare: the candidates, their fit, repeated
exam-grouped cross-validation, bootstrap refits (the interval), the paired AUC difference and the held-out check of
the interval.

Public so that the fusion (:mod:`medai_core.ct.fusion`), its card update (:mod:`medai_core.ct.fusion_card`) and
the nested cross-validation (:mod:`medai_core.ct.nested`) share one implementation without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from medai_core.ct.data import SPLIT_SEED, NoduleSet
from medai_core.ct.evaluation import binary_metrics
from medai_core.ct.features import FEATURE_NAMES
from medai_core.ct.fitting import N_MEMBERS
from medai_core.ct.radiomics import RADIOMICS_NAMES
from medai_core.ct.scoring import Stacker

__all__ = [
    "CANDIDATES",
    "INTERVAL_LEVEL",
    "N_BOOTSTRAP",
    "N_FOLDS",
    "N_REPEATS",
    "RADIOMICS_INPUTS",
    "Candidate",
    "bootstrap_refits",
    "fit_stacker",
    "interval_check",
    "oof_member_index",
    "paired_bootstrap_auc_difference",
    "repeated_cv",
]

N_REPEATS = 5
N_FOLDS = 5
N_BOOTSTRAP = 100
INTERVAL_LEVEL = 0.8

_LOG_RADIOMICS = frozenset(
    {
        "shape_volume_mm3",
        "shape_surface_area_mm2",
        "shape_surface_volume_ratio",
        "shape_max_3d_diameter_mm",
        "shape_max_2d_diameter_mm",
        "shape_major_axis_mm",
        "fo_energy",
        "glcm_contrast",
        "glcm_cluster_prominence",
        "glcm_autocorrelation",
        "glrlm_lre",
        "glrlm_hgre",
        "glrlm_lgre",
    }
)
"""Radiomics entered as their logarithm (positive, spanning decades: sizes, energies, high-order moments)."""

RADIOMICS_INPUTS: tuple[str, ...] = tuple(f"log:{n}" if n in _LOG_RADIOMICS else n for n in RADIOMICS_NAMES)


@dataclass(frozen=True)
class Candidate:
    """One fusion candidate.

    Attributes:
        inputs: stacker inputs (see :class:`medai_core.ct.scoring.Stacker`).
        c: inverse L2 strength of the logistic regression (scikit-learn's ``C``).
        kind: ``"logistic"`` (storable, explainable) or ``"gbm"`` (compared only).
    """

    inputs: tuple[str, ...]
    c: float = 1.0
    kind: str = "logistic"


CANDIDATES: dict[str, Candidate] = {
    "cnn_only": Candidate(("cnn_logit",)),
    "project_features_only": Candidate(FEATURE_NAMES),
    "current_fusion (cnn + project features)": Candidate(("cnn_logit", *FEATURE_NAMES)),
    "radiomics_only (C=0.1)": Candidate(RADIOMICS_INPUTS, 0.1),
    "cnn + radiomics (C=0.03)": Candidate(("cnn_logit", *RADIOMICS_INPUTS), 0.03),
    "cnn + radiomics (C=0.1)": Candidate(("cnn_logit", *RADIOMICS_INPUTS), 0.1),
    "cnn + radiomics (C=0.3)": Candidate(("cnn_logit", *RADIOMICS_INPUTS), 0.3),
    "cnn + radiomics + project (C=0.1)": Candidate(("cnn_logit", *RADIOMICS_INPUTS, *FEATURE_NAMES), 0.1),
    "gbm: cnn + radiomics": Candidate(("cnn_logit", *RADIOMICS_INPUTS), kind="gbm"),
}
"""The compared candidates, by report name. The first three are the shipped model's own candidates."""


def oof_member_index(dev: NoduleSet) -> NDArray[np.int64]:
    """(N_dev,) the member that did NOT see each development nodule (its inner fold of the seeded split)."""
    from sklearn.model_selection import StratifiedGroupKFold

    inner = StratifiedGroupKFold(N_MEMBERS, shuffle=True, random_state=SPLIT_SEED + 1)
    out = np.full(len(dev.labels), -1, dtype=np.int64)
    for fold, (_, held) in enumerate(inner.split(np.zeros(len(dev.labels)), dev.labels, dev.exam_ids)):
        out[held] = fold
    assert (out >= 0).all()
    return out


def fit_stacker(
    candidate: Candidate, logits: NDArray[Any], features: NDArray[Any], y: NDArray[Any], weights: Any = None
) -> Stacker:
    """A logistic stacker of ``candidate`` fitted on standardised inputs (optionally with sample weights)."""
    from sklearn.linear_model import LogisticRegression

    template = Stacker(candidate.inputs, (0.0,) * len(candidate.inputs), (1.0,) * len(candidate.inputs), (), 0.0)
    x = template.design(logits, features)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=candidate.c, max_iter=5000).fit((x - mean) / scale, y, sample_weight=weights)
    return Stacker(
        candidate.inputs, tuple(mean.tolist()), tuple(scale.tolist()), tuple(model.coef_[0]), float(model.intercept_[0])
    )


def _fit_predict(
    candidate: Candidate, logits: NDArray[Any], features: NDArray[Any], y: NDArray[Any], fit: Any, held: Any
) -> NDArray[np.float64]:
    if candidate.kind == "gbm":
        from sklearn.ensemble import HistGradientBoostingClassifier

        template = Stacker(candidate.inputs, (0.0,) * len(candidate.inputs), (1.0,) * len(candidate.inputs), (), 0.0)
        x = template.design(logits, features)
        model = HistGradientBoostingClassifier(
            max_depth=3, learning_rate=0.05, max_iter=150, min_samples_leaf=20, l2_regularization=1.0, random_state=0
        ).fit(x[fit], y[fit])
        return np.asarray(model.predict_proba(x[held])[:, 1], dtype=np.float64)
    stacker = fit_stacker(candidate, logits[fit], features[fit], y[fit])
    return stacker.probability(logits[held], features[held])


def repeated_cv(
    candidates: Mapping[str, Candidate],
    logits: NDArray[Any],
    features: NDArray[Any],
    y: NDArray[Any],
    groups: NDArray[Any],
) -> tuple[dict[str, dict[str, Any]], dict[str, NDArray[np.float64]]]:
    """Repeated exam-grouped CV: ``{name: {auc_mean, auc_sd, ece_mean, ...}}`` and repeat 0's OOF probabilities."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    per: dict[str, dict[str, list[float]]] = {
        n: {"auc": [], "ece": [], "brier": [], "fold_auc": []} for n in candidates
    }
    first: dict[str, NDArray[np.float64]] = {}
    for r in range(N_REPEATS):
        folds = list(
            StratifiedGroupKFold(N_FOLDS, shuffle=True, random_state=SPLIT_SEED + 100 + r).split(logits, y, groups)
        )
        for name, candidate in candidates.items():
            oof = np.zeros(len(y))
            for fit, held in folds:
                oof[held] = _fit_predict(candidate, logits, features, y, fit, held)
                per[name]["fold_auc"].append(float(roc_auc_score(y[held], oof[held])))
            metrics = binary_metrics(y, oof)
            per[name]["auc"].append(metrics["auc"])
            per[name]["ece"].append(metrics["ece"])
            per[name]["brier"].append(metrics["brier"])
            if r == 0:
                first[name] = oof
    table = {}
    for name, values in per.items():
        table[name] = {
            "auc_mean": round(float(np.mean(values["auc"])), 4),
            "auc_sd": round(float(np.std(values["auc"], ddof=1)), 4),
            "fold_auc_mean": round(float(np.mean(values["fold_auc"])), 4),
            "fold_auc_sd": round(float(np.std(values["fold_auc"], ddof=1)), 4),
            "ece_mean": round(float(np.mean(values["ece"])), 4),
            "ece_sd": round(float(np.std(values["ece"], ddof=1)), 4),
            "brier_mean": round(float(np.mean(values["brier"])), 4),
            "kind": candidates[name].kind,
            "n_inputs": len(candidates[name].inputs),
        }
    return table, first


def paired_bootstrap_auc_difference(
    labels: NDArray[Any],
    new: NDArray[Any],
    baseline: NDArray[Any],
    groups: NDArray[Any],
    *,
    resamples: int = 2000,
    seed: int = 0,
) -> dict[str, float]:
    """AUC(new) - AUC(baseline) on the same nodules, with its 95% interval resampling whole exams (paired).

    Returns:
        ``{"difference", "ci95_low", "ci95_high", "p_not_better"}`` (the share of resamples where the new scores are
        not better).
    """
    from sklearn.metrics import roc_auc_score

    labels, groups = np.asarray(labels), np.asarray(groups)
    new, baseline = np.asarray(new, dtype=np.float64), np.asarray(baseline, dtype=np.float64)
    unique = np.unique(groups)
    index = [np.flatnonzero(groups == g) for g in unique]
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(resamples):
        pick = np.concatenate([index[i] for i in rng.integers(len(unique), size=len(unique))])
        if len(np.unique(labels[pick])) == 2:
            diffs.append(roc_auc_score(labels[pick], new[pick]) - roc_auc_score(labels[pick], baseline[pick]))
    low, high = np.percentile(diffs, [2.5, 97.5])
    point = roc_auc_score(labels, new) - roc_auc_score(labels, baseline)
    return {
        "difference": round(float(point), 4),
        "ci95_low": round(float(low), 4),
        "ci95_high": round(float(high), 4),
        "p_not_better": round(float(np.mean(np.asarray(diffs) <= 0)), 4),
    }


def bootstrap_refits(
    stacker_candidate: Candidate,
    logits: NDArray[Any],
    features: NDArray[Any],
    y: NDArray[Any],
    groups: NDArray[Any],
    reference: Stacker,
    n: int = N_BOOTSTRAP,
    seed: int = SPLIT_SEED,
) -> tuple[tuple[float, ...], ...]:
    """``n`` refits of the stacker on exam-level bootstrap resamples, on ``reference``'s standardisation.

    Each refit is expressed as ``(intercept, *coef)`` on the reference's standardised inputs, so the card stores
    one standardisation and ``n`` short rows.
    """
    from sklearn.linear_model import LogisticRegression

    x = reference.standardised(logits, features)
    unique = np.unique(groups)
    index = [np.flatnonzero(groups == g) for g in unique]
    rng = np.random.default_rng(seed)
    rows: list[tuple[float, ...]] = []
    while len(rows) < n:
        pick = np.concatenate([index[i] for i in rng.integers(len(unique), size=len(unique))])
        if len(np.unique(y[pick])) < 2:
            continue
        model = LogisticRegression(C=stacker_candidate.c, max_iter=5000).fit(x[pick], y[pick])
        rows.append((float(model.intercept_[0]), *(float(c) for c in model.coef_[0])))
    return tuple(rows)


def _binomial_range(k: int, n: int, level: float) -> tuple[float, float]:
    """Clopper-Pearson central ``level`` interval of a rate observed as ``k`` of ``n``."""
    from scipy.stats import beta

    tail = (1.0 - level) / 2.0
    low = float(beta.ppf(tail, k, n - k + 1)) if k > 0 else 0.0
    high = float(beta.ppf(1.0 - tail, k + 1, n - k)) if k < n else 1.0
    return low, high


def _risk_bins(p: NDArray[np.float64], bins: int) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Quantile edges of the probabilities and each nodule's bin (they depend on the probabilities only)."""
    edges = np.quantile(p, np.linspace(0, 1, bins + 1))
    return edges, np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)


def interval_check(
    labels: NDArray[Any],
    p: NDArray[Any],
    low: NDArray[Any],
    high: NDArray[Any],
    bins: int = 5,
    *,
    draws: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Held-out behaviour of the interval, per risk bin (quantiles of the probability).

    Two readings per bin:

    - ``inside``: the observed malignant rate falls inside the bin's mean interval. The observed rate of ~28 nodules
      carries its own sampling error (sd about 0.09 at 30 %), so even a perfectly calibrated model misses often:
      ``inside_if_calibrated`` is the mean count of such bins when labels are drawn from the probabilities.
    - ``consistent``: the observed rate's own ``INTERVAL_LEVEL`` Clopper-Pearson range overlaps the mean interval,
      i.e. the held-out count does not contradict the interval at that level.
    """
    labels = np.asarray(labels)
    p, low, high = (np.asarray(a, dtype=np.float64) for a in (p, low, high))
    edges, which = _risk_bins(p, bins)
    used = [b for b in range(bins) if (which == b).any()]
    members = np.stack([which == b for b in used], axis=1)  # (N, bins used)
    n = members.sum(axis=0)
    lo = np.array([float(np.mean(low[members[:, i]])) for i in range(len(used))])
    hi = np.array([float(np.mean(high[members[:, i]])) for i in range(len(used))])
    rows: list[dict[str, Any]] = []
    for i, b in enumerate(used):
        sel = members[:, i]
        k = int(np.sum(labels[sel]))
        observed = k / int(n[i])
        rate_lo, rate_hi = _binomial_range(k, int(n[i]), INTERVAL_LEVEL)
        rows.append(
            {
                "bin": f"{edges[b]:.2f}-{edges[b + 1]:.2f}",
                "n": int(n[i]),
                "mean_probability": round(float(np.mean(p[sel])), 3),
                "mean_interval": [round(lo[i], 3), round(hi[i], 3)],
                "observed_rate": round(observed, 3),
                "observed_rate_range": [round(rate_lo, 3), round(rate_hi, 3)],
                "inside": bool(lo[i] <= observed <= hi[i]),
                "consistent": bool(rate_lo <= hi[i] and rate_hi >= lo[i]),
            }
        )
    # labels drawn from the probabilities, all draws at once: the bins and their intervals stay the same
    drawn = (np.random.default_rng(seed).random((draws, p.size)) < p).astype(np.int64)
    rates = (drawn @ members.astype(np.int64)) / n
    simulated = ((lo <= rates) & (rates <= hi)).sum(axis=1)
    return {
        "mean_width": round(float(np.mean(high - low)), 4),
        "median_width": round(float(np.median(high - low)), 4),
        "bins_inside": f"{sum(bool(r['inside']) for r in rows)}/{len(rows)}",
        "inside_if_calibrated": f"{float(np.mean(simulated)):.1f}/{len(rows)}",
        "bins_consistent": f"{sum(bool(r['consistent']) for r in rows)}/{len(rows)}",
        "bins": rows,
    }
