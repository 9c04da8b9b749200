"""Fusion of the shipped CNN with radiomics, without retraining the CNN (``train ct --fusion-only``).

Protocol (all splits by exam; the held-out exams are scored once, after the choice):

1. The seeded split of :mod:`medai_core.ct.data` gives the development and held-out exams. The shipped
   ``model.keras`` holds 5 members; member ``k`` was trained on the development exams outside inner fold ``k``
   (``StratifiedGroupKFold(5, shuffle=True, random_state=SPLIT_SEED + 1)``), so each development nodule's
   out-of-fold CNN logit is the logit of the member that did not see it. This reproduces the shipped stacker's
   inputs (checked: the standardisation of ``cnn_logit`` and the card's development CV AUCs).
2. Candidates (logistic stackers with L2 at fixed strengths, and one small gradient-boosting model) are compared by
   repeated exam-grouped CV on the development exams (5 repeats x 5 folds, seeds ``SPLIT_SEED + 100 + r``):
   pooled out-of-fold AUC, ECE and Brier per repeat, reported as mean +- sd. The linear candidate with the highest
   mean AUC is chosen (only linear stackers are stored in the JSON card and explained by contributions).
3. The chosen stacker is refitted on all development exams, and again on ``N_BOOTSTRAP`` exam-level bootstrap
   resamples of them (the interval), then scored once on the held-out exams beside the baselines with paired
   exam-bootstrap CIs of the AUC difference.
4. The card's stacker is replaced only where the held-out AUC beats the shipped one and the ECE is no worse; the
   weights file is never written (its sha256 is checked before and after).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from medai_core.ct.data import SPLIT_SEED, NoduleSet, baseline_probability, held_out_split, load_nodules
from medai_core.ct.evaluation import binary_metrics, ece_if_calibrated, grouped_bootstrap_auc_ci, reliability_table
from medai_core.ct.features import FEATURE_NAMES
from medai_core.ct.radiomics import BIN_WIDTH_HU, CROP_SLICE_MM, RADIOMICS_NAMES
from medai_core.ct.scoring import STACKER_FEATURE_NAMES, Stacker, features_for, member_logits_for

__all__ = [
    "CANDIDATES",
    "Candidate",
    "FusionReport",
    "N_BOOTSTRAP",
    "fit_stacker",
    "interval_meaning",
    "oof_member_index",
    "paired_bootstrap_auc_difference",
    "run_fusion",
]

N_MEMBERS = 5
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

CURRENT = "current_fusion (cnn + project features)"
FUSION_COMMAND = "python -m medai_core train ct --fusion-only --data ../shared/data/ct/lidc_nodules"


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


@dataclass(frozen=True)
class FusionReport:
    """What ``train ct --fusion-only`` measured and decided.

    Attributes:
        reproduction: checks that the recomputed OOF logits are the shipped stacker's inputs.
        cv: the repeated-CV table by candidate name.
        chosen: name of the chosen candidate.
        held_out: held-out metrics of the chosen fusion and each baseline, with paired differences.
        interval: held-out check of the interval.
        replaced: whether the card's stacker was replaced.
        reason: why (or why not).
        seconds: wall time.
    """

    reproduction: dict[str, Any]
    cv: dict[str, dict[str, Any]]
    chosen: str
    held_out: dict[str, Any]
    interval: dict[str, Any]
    replaced: bool
    reason: str
    seconds: float


def run_fusion(
    data_dir: Path, model_dir: Path, *, write: bool = True, log: Callable[[str], None] = print
) -> FusionReport:
    """Choose, fit and evaluate the CNN + radiomics fusion and (where it is better) write it into the card.

    Args:
        data_dir: the LIDC nodule folder.
        model_dir: ``models/ct_nodule`` (weights are read, never written).
        write: False to measure only.
        log: progress lines.

    Raises:
        ModelCardError: the recomputed held-out exams differ from the card's.
        ModelIntegrityError: the weights do not match the card's sha256.
    """
    from medai_core.errors import ModelCardError, ModelIntegrityError
    from medai_core.models import load_model
    from medai_core.models.card import read_card, write_card
    from medai_core.reports import sha256_bytes

    started = time.perf_counter()
    model_dir = Path(model_dir)
    card = read_card(model_dir)
    weights = model_dir / card.weights_file
    sha_before = sha256_bytes(weights.read_bytes())
    if sha_before != card.weights_sha256:
        raise ModelIntegrityError(f"{weights.name}: sha256 differs from the card's; not touching the card")
    data = load_nodules(data_dir)
    try:
        dev_idx, test_idx = held_out_split(data.labels, data.exam_ids)
    except ValueError as error:  # fewer nodules of a class than folds
        raise ModelCardError(
            f"the held-out exams differ from the card's: this folder cannot give the seeded split ({error})"
        ) from None
    dev, test = data.subset(dev_idx), data.subset(test_idx)
    if sorted(set(test.exam_ids.tolist())) != list(card.artifacts.get("held_out_exam_ids", [])):
        raise ModelCardError("the recomputed held-out exams differ from the card's; not the folder the model saw")
    log(
        f"development {len(dev.labels)} nodules / {len(set(dev.exam_ids))} exams; held-out {len(test.labels)} / "
        f"{len(set(test.exam_ids))}"
    )

    loaded = load_model(card.id, model_dir.parent)
    all_logits = member_logits_for(data.volumes, lambda b: np.asarray(loaded.predict(b))[:, 1:])
    dev_members, test_members = all_logits[dev_idx], all_logits[test_idx]
    who = oof_member_index(dev)
    oof = dev_members[np.arange(len(who)), who].astype(np.float64)
    test_logit = test_members.mean(axis=1).astype(np.float64)
    log("computing radiomics and project features ...")
    features = features_for(data.volumes)
    dev_x, test_x = features[dev_idx], features[test_idx]
    y, yt = dev.labels, test.labels

    shipped = Stacker.from_artifact(card.artifacts["stacker"])
    reproduction = _reproduction(card.artifacts, shipped, oof, dev_x, y, dev.exam_ids)
    log(f"reproduction of the shipped stacker inputs: {reproduction}")

    log(f"repeated CV ({N_REPEATS} x {N_FOLDS}-fold by exam) of {len(CANDIDATES)} candidates ...")
    cv, first_oof = repeated_cv(CANDIDATES, oof, dev_x, y, dev.exam_ids)
    for name, row in cv.items():
        log(f"  {name:42s} AUC {row['auc_mean']:.3f} +- {row['auc_sd']:.3f}  ECE {row['ece_mean']:.3f}")
    chosen = max((n for n, c in CANDIDATES.items() if c.kind == "logistic"), key=lambda n: cv[n]["auc_mean"])
    log(f"chosen: {chosen}")
    candidate = CANDIDATES[chosen]
    final = fit_stacker(candidate, oof, dev_x, y)
    refits = bootstrap_refits(candidate, oof, dev_x, y, dev.exam_ids, final)

    # Held-out: scored once, the chosen fusion beside the baselines.
    p = final.probability(test_logit, test_x)
    scores = {
        "fusion (chosen)": p,
        "shipped model": shipped.probability(test_logit, test_x),
        "cnn_only": fit_stacker(CANDIDATES["cnn_only"], oof, dev_x, y).probability(test_logit, test_x),
        "radiomics_only": fit_stacker(CANDIDATES["radiomics_only (C=0.1)"], oof, dev_x, y).probability(
            test_logit, test_x
        ),
    }
    for name in ("diameter_only", "radiomics_csv"):
        artifact = card.artifacts.get("baselines", {}).get(name)
        table = _csv_table(data_dir, test)
        if artifact is not None and table is not None:
            scores[f"baseline_{name}"] = baseline_probability(artifact, table[artifact["columns"]].to_numpy(float))
    held_out: dict[str, Any] = {}
    for name, s in scores.items():
        entry: dict[str, Any] = dict(binary_metrics(yt, s))
        entry["auc_ci95_by_exam"] = list(grouped_bootstrap_auc_ci(yt, s, test.exam_ids))
        if name != "fusion (chosen)":
            entry["fusion_minus_this_auc"] = paired_bootstrap_auc_difference(yt, p, s, test.exam_ids)
        held_out[name] = entry
    for name, row in held_out.items():
        log(f"  held-out {name:24s} AUC {row['auc']:.3f} {row['auc_ci95_by_exam']} ECE {row['ece']:.3f}")

    new, old = held_out["fusion (chosen)"], card.metrics["model"]
    better = new["auc"] > float(old["auc"]) and new["ece"] <= float(old["ece"])
    reason = (
        f"held-out AUC {new['auc']:.4f} vs shipped {float(old['auc']):.4f}, ECE {new['ece']:.4f} vs "
        f"{float(old['ece']):.4f}: " + ("replaced" if better else "kept the shipped stacker")
    )
    log(reason)
    # The interval goes with whichever stacker ships: its refits on exam-level bootstrap resamples of the
    # development exams (the shipped stacker's point probabilities are unchanged by adding them).
    if better:
        ship = replace(final, bootstrap=refits, interval_level=INTERVAL_LEVEL)
    else:
        kept = Candidate(shipped.inputs)  # the shipped stacker: logistic, C = 1, refitted exactly above
        ship_refits = bootstrap_refits(kept, oof, dev_x, y, dev.exam_ids, shipped)
        ship = replace(shipped, bootstrap=ship_refits, interval_level=INTERVAL_LEVEL)
    p_ship, low, high = ship.with_interval(test_members, test_x)
    interval = interval_check(yt, p_ship, low, high)
    earlier = card.calibration.get("interval_held_out_check", {})  # a rerun keeps the first comparison
    interval["previous_mean_width"] = earlier.get(
        "previous_mean_width", card.metrics.get("model", {}).get("mean_interval_width")
    )
    interval["previous_meaning"] = earlier.get("previous_meaning", card.calibration.get("interval"))
    log(f"  interval: {interval['mean_width']} mean width, bins inside {interval['bins_inside']}")
    report = FusionReport(reproduction, cv, chosen, held_out, interval, better and write, reason, 0.0)
    if write:
        updated = _updated_card(card, report, ship, better, first_oof[chosen], y, yt, p_ship, held_out)
        write_card(updated, model_dir)
        if sha256_bytes(weights.read_bytes()) != sha_before:  # pragma: no cover - the weights are never opened to write
            raise ModelIntegrityError("the weights changed while the card was written")
    seconds = round(time.perf_counter() - started, 1)
    return replace(report, seconds=seconds)


def _csv_table(data_dir: Path, subset: NoduleSet) -> Any:
    import pandas as pd

    path = Path(data_dir) / "radiomics.csv"
    if not path.is_file():
        return None
    table = pd.read_csv(path).set_index(["exam_id", "nodule_id"])
    keys = list(zip(subset.exam_ids, subset.nodule_ids, strict=True))
    if not all(k in table.index for k in keys):
        return None
    return table.loc[keys]


def _reproduction(
    artifacts: Mapping[str, Any], shipped: Stacker, oof: NDArray[Any], x: NDArray[Any], y: NDArray[Any], g: NDArray[Any]
) -> dict[str, Any]:
    """Compare the recomputed OOF logits with what the shipped stacker was fitted on."""
    from medai_core.ct.fitting import grouped_oof

    out: dict[str, Any] = {}
    if "cnn_logit" in shipped.inputs:
        i = shipped.inputs.index("cnn_logit")
        out["cnn_logit_mean"] = [round(float(oof.mean()), 4), round(shipped.mean[i], 4)]
        out["cnn_logit_sd"] = [round(float(oof.std()), 4), round(shipped.scale[i], 4)]
    refit = fit_stacker(Candidate(shipped.inputs), oof, x, y)
    out["stacker_coef_max_abs_diff"] = round(float(np.max(np.abs(np.subtract(refit.coef, shipped.coef)))), 6)
    stored = artifacts.get("stacker_choice", {}).get("cv_auc", {})
    from sklearn.metrics import roc_auc_score

    for name, inputs in (
        ("cnn", ("cnn_logit",)),
        ("features", FEATURE_NAMES),
        ("fusion", ("cnn_logit", *FEATURE_NAMES)),
    ):
        if name in stored:
            auc = roc_auc_score(y, grouped_oof(inputs, oof, x[:, : len(FEATURE_NAMES)], y, g))
            out[f"cv_auc_{name}"] = [round(float(auc), 4), float(stored[name])]
    return out


def interval_meaning(n_members: int) -> str:
    """The sentence that says what the CT interval is (card, page, report)."""
    return (
        f"{INTERVAL_LEVEL:.0%} range of the calibrated probability over {N_BOOTSTRAP} refits of the stacker on "
        f"exam-level bootstrap resamples of the development exams, each refit applied to one of the {n_members} "
        "CNN members in turn (CNN weights fixed): how much the probability depends on which exams the calibration "
        "saw and which member scores the nodule. It is not a range for this patient's outcome."
    )


def _updated_card(
    card: Any,
    report: FusionReport,
    stacker: Stacker,
    replaced: bool,
    dev_oof: NDArray[Any],
    y: NDArray[Any],
    yt: NDArray[Any],
    p: NDArray[Any],
    held_out: Mapping[str, Any],
) -> Any:
    """The card with the interval's refits, the fusion comparison, and (where ``replaced``) the new stacker."""
    from medai_core.ct.fitting import histograms, risk_thresholds
    from medai_core.models import HeadlineMetric

    meaning = interval_meaning(int(card.artifacts.get("members", N_MEMBERS)))
    metrics = dict(card.metrics)
    artifacts = dict(card.artifacts)
    calibration = dict(card.calibration)
    model = dict(card.metrics["model"])
    selection = {
        "protocol": f"{N_REPEATS} x {N_FOLDS}-fold exam-grouped CV on the development exams (seeds "
        f"{SPLIT_SEED + 100}..{SPLIT_SEED + 100 + N_REPEATS - 1}); highest mean pooled AUC among logistic stackers; "
        "replaces the shipped stacker only where it beats it on the held-out exams (AUC up, ECE not worse)",
        "cv_auc_mean": {name: row["auc_mean"] for name, row in report.cv.items()},
        "cv_auc_sd": {name: row["auc_sd"] for name, row in report.cv.items()},
        "chosen": report.chosen,
        "decision": report.reason,
        "radiomics": {
            "definitions": "IBSI (Zwanenburg et al. 2020): mesh shape, intensity statistics, GLCM and GLRLM "
            "(13 directions, averaged)",
            "bin_width_hu": BIN_WIDTH_HU,
            "crop_slice_mm_assumed": CROP_SLICE_MM,
            "names": list(RADIOMICS_NAMES),
        },
    }
    artifacts["fusion_selection"] = selection
    metrics["fusion_held_out"] = dict(held_out)
    metrics["development_cv_repeated"] = report.cv
    version = card.version
    changes: dict[str, Any] = {}
    if replaced:
        thresholds = risk_thresholds(y, dev_oof)
        bands = np.digitize(p, [thresholds["low"], thresholds["high"]])
        metrics["previous_model"] = dict(card.metrics["model"])
        model = dict(held_out["fusion (chosen)"])
        model["risk_bands_held_out"] = {
            name: {"n": int((bands == b).sum()), "malignant_rate": round(float(yt[bands == b].mean()), 3)}
            for b, name in enumerate(("low", "intermediate", "high"))
            if (bands == b).any()
        }
        artifacts["previous_stacker"] = card.artifacts["stacker"]
        artifacts["risk_thresholds"] = thresholds
        artifacts["reference_histograms"] = histograms(y, dev_oof)
        calibration["method"] = (
            f"logistic stacker (L2, C={CANDIDATES[report.chosen].c}) on out-of-fold CNN logits and features, "
            "fitted on all development exams"
        )
        calibration["ece_held_out"] = model["ece"]
        calibration["reliability_held_out"] = reliability_table(yt, p)
        inputs = dict(card.inputs)
        inputs["features"] = list(STACKER_FEATURE_NAMES)
        changes["inputs"] = inputs
        changes["name"] = "Lung nodule malignancy (2.5D CNN ensemble fused with IBSI radiomics)"
        changes["headline"] = HeadlineMetric(
            name=card.headline.name,
            value=float(model["auc"]),
            split=f"held-out exams ({len(set(card.artifacts['held_out_exam_ids']))} exams, {len(yt)} nodules); "
            f"exam-bootstrap 95% CI {model['auc_ci95_by_exam'][0]:.2f}-{model['auc_ci95_by_exam'][1]:.2f}",
            baseline_name=card.headline.baseline_name,
            baseline_value=card.headline.baseline_value,
        )
        version = "1.1.0"
    elif str(card.calibration.get("interval")) != meaning:
        version = "1.0.1"  # same probabilities, new interval
    model["mean_interval_width"] = report.interval["mean_width"]
    metrics["model"] = model
    artifacts["stacker"] = stacker.to_artifact()
    calibration["interval"] = meaning
    calibration["interval_held_out_check"] = report.interval
    calibration["ece_if_calibrated_held_out"] = ece_if_calibrated(p)
    outputs = dict(card.outputs)
    outputs["probability"] = (
        "nodule probability = logistic stacker on the mean member logit over the scored slices and the nodule's "
        f"features (artifacts.stacker.inputs, {len(stacker.inputs)} inputs); interval = {meaning}"
    )
    return replace(
        card,
        version=version,
        metrics=metrics,
        calibration=calibration,
        artifacts=artifacts,
        outputs=outputs,
        training_command=card.training_command.split("; fusion:")[0]
        + "; fusion: "
        + FUSION_COMMAND
        + "".join(card.training_command.partition("; nested CV:")[1:]),
        **changes,
    )
