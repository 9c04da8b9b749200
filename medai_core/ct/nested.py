"""Nested exam-grouped cross-validation of the whole CT training pipeline (``train ct --nested-cv``).

The card's held-out fold is one fold (82 exams, 139 nodules) of a 5-fold ``StratifiedGroupKFold`` over exams. One
fold that small measures an AUC to +- 0.07 and cannot resolve an ECE of 0.05 (:func:`ece_if_calibrated`), so this
module runs the same pipeline with each of the 5 outer folds of that split held out in turn:

1. Outer fold 0 is the shipped model's held-out fold: its members are the shipped weights (sha256 checked), and its
   development logits are each nodule's out-of-fold member (:func:`medai_core.ct.stacking.oof_member_index`).
2. For outer folds 1-4, five members are trained on the other four folds exactly as in :func:`medai_core.ct.train.
   train_ct` (same recipe, seeds, inner grouped split), giving out-of-fold logits on those development exams and
   ensemble logits on the held-out fold.
3. On each fold's development exams the stackers (CNN alone, features alone, CNN + features) are fitted, the CNN
   variant is chosen by grouped CV as in training, its exam-bootstrap interval is refitted, and the size-only
   baseline (logistic regression on ``diameter_mm`` of ``radiomics.csv``) is fitted; all are scored on the held-out
   fold once.

Every nodule is thus scored by a pipeline that never saw its exam. The pooled and per-fold metrics go into the
card's ``metrics.nested_cv``; nothing else in the card, and never the weights, is written.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from medai_core.ct.data import SPLIT_SEED, NoduleSet, baseline_probability, load_nodules, radiomics_table
from medai_core.ct.evaluation import binary_metrics, ece_if_calibrated, grouped_bootstrap_auc_ci
from medai_core.ct.features import FEATURE_NAMES
from medai_core.ct.fitting import N_MEMBERS
from medai_core.ct.scoring import features_for, member_logits_for
from medai_core.ct.stacking import (
    Candidate,
    bootstrap_refits,
    fit_stacker,
    interval_check,
    oof_member_index,
    paired_bootstrap_auc_difference,
)

__all__ = ["N_OUTER", "NESTED_COMMAND", "FoldScores", "NestedReport", "interval_check_sentence", "run_nested_cv"]

N_OUTER = 5
NESTED_COMMAND = "python -m medai_core train ct --nested-cv --data ../shared/data/ct/lidc_nodules"

_STACKERS: dict[str, tuple[str, ...]] = {
    "cnn": ("cnn_logit",),
    "features": FEATURE_NAMES,
    "fusion": ("cnn_logit", *FEATURE_NAMES),
}


@dataclass(frozen=True)
class FoldScores:
    """Held-out scores of one outer fold.

    Attributes:
        index: nodule indices (into :func:`load_nodules` order) of the held-out fold.
        member_logits: (n, M) ensemble member logits of the held-out nodules.
        oof_logits: (n_dev,) out-of-fold CNN logits of the fold's development nodules.
        seconds: time spent on the fold's CNN members (0 for the shipped fold).
    """

    index: NDArray[np.int64]
    member_logits: NDArray[np.float64]
    oof_logits: NDArray[np.float64]
    seconds: float


@dataclass(frozen=True)
class NestedReport:
    """What ``train ct --nested-cv`` measured: the card's ``metrics.nested_cv`` mapping and the wall time."""

    metrics: dict[str, Any]
    seconds: float


def outer_folds(labels: NDArray[Any], exam_ids: NDArray[Any]) -> list[tuple[NDArray[np.int64], NDArray[np.int64]]]:
    """The 5 outer (development, held-out) folds of the seeded split; fold 0 is the card's held-out fold."""
    from sklearn.model_selection import StratifiedGroupKFold

    outer = StratifiedGroupKFold(N_OUTER, shuffle=True, random_state=SPLIT_SEED)
    return [
        (np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
        for a, b in outer.split(np.zeros(len(labels)), labels, exam_ids)
    ]


def _trained_fold(dev: NoduleSet, test: NoduleSet, log: Callable[[str], None]) -> tuple[NDArray[Any], NDArray[Any]]:
    """Train the fold's members as :func:`train_ct` does: (dev out-of-fold logits, (n_test, M) member logits)."""
    from sklearn.model_selection import StratifiedGroupKFold

    from medai_core.ct.fitting import SEED, fit_member, logits_of, training_samples

    inner = StratifiedGroupKFold(N_MEMBERS, shuffle=True, random_state=SEED + 1)
    oof = np.zeros(len(dev.labels))
    test_logits = np.zeros((len(test.labels), N_MEMBERS))
    for k, (fit, held) in enumerate(inner.split(np.zeros(len(dev.labels)), dev.labels, dev.exam_ids)):
        x, y = training_samples(dev.subset(fit))
        member = fit_member(k, x, y, log)
        oof[held] = member_logits_for([dev.volumes[i] for i in held], logits_of(member))[:, 0]
        test_logits[:, k] = member_logits_for(test.volumes, logits_of(member))[:, 0]
    return oof, test_logits


def _shipped_fold(dev: NoduleSet, test: NoduleSet, model_dir: Path) -> tuple[NDArray[Any], NDArray[Any]]:
    """Outer fold 0 from the shipped weights: (dev out-of-fold logits, (n_test, M) member logits)."""
    from medai_core.models import load_model

    loaded = load_model(model_dir.name, model_dir.parent)

    def predict(batch: NDArray[np.float32]) -> NDArray[np.float32]:
        return np.asarray(loaded.predict(batch))[:, 1:]

    dev_members = member_logits_for(dev.volumes, predict)
    who = oof_member_index(dev)
    return dev_members[np.arange(len(who)), who].astype(np.float64), member_logits_for(test.volumes, predict)


def fold_scores(
    data: NoduleSet,
    fold: int,
    model_dir: Path,
    *,
    cache_dir: Path | None = None,
    folds: list[tuple[NDArray[np.int64], NDArray[np.int64]]] | None = None,
    log: Callable[[str], None] = print,
) -> FoldScores:
    """Member logits of outer fold ``fold`` (from the shipped weights for fold 0, trained otherwise).

    Args:
        data: every nodule, in :func:`load_nodules` order.
        fold: outer fold 0..4.
        model_dir: ``models/ct_nodule`` (fold 0 reads its weights).
        cache_dir: where a finished fold's logits are kept (``nested_fold<k>.npz``) so that a stopped run resumes.
        folds: :func:`outer_folds` of ``data`` where the caller has them already.
        log: progress lines.
    """
    dev_idx, test_idx = (folds if folds is not None else outer_folds(data.labels, data.exam_ids))[fold]
    cached = cache_dir / f"nested_fold{fold}.npz" if cache_dir is not None else None
    if cached is not None and cached.is_file():
        with np.load(cached) as saved:
            if np.array_equal(saved["index"], test_idx):
                log(f"outer fold {fold}: cached logits from {cached}")
                return FoldScores(test_idx, saved["member_logits"], saved["oof_logits"], float(saved["seconds"]))
    dev, test = data.subset(dev_idx), data.subset(test_idx)
    started = time.perf_counter()
    if fold == 0:
        oof, members = _shipped_fold(dev, test, model_dir)
    else:
        log(f"outer fold {fold}: training {N_MEMBERS} members on {len(dev.labels)} development nodules")
        oof, members = _trained_fold(dev, test, log)
    seconds = 0.0 if fold == 0 else round(time.perf_counter() - started, 1)
    scores = FoldScores(test_idx, np.asarray(members, dtype=np.float64), np.asarray(oof, dtype=np.float64), seconds)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            cached, index=test_idx, member_logits=scores.member_logits, oof_logits=scores.oof_logits, seconds=seconds
        )
    return scores


def _score_fold(
    data: NoduleSet, features: NDArray[Any], table: Any, scores: FoldScores
) -> dict[str, NDArray[np.float64]]:
    """Held-out probabilities of one outer fold (``scores.index``; every other nodule is its development set): the
    pipeline's choice with its interval, each stacker, baseline."""
    from sklearn.metrics import roc_auc_score

    from medai_core.ct.fitting import grouped_oof

    test_idx = scores.index
    dev_idx = np.setdiff1d(np.arange(len(data.labels)), test_idx)  # sorted, as the split gives it
    y, groups = data.labels[dev_idx], data.exam_ids[dev_idx]
    dev_x, test_x = features[dev_idx], features[test_idx]
    test_logit = scores.member_logits.mean(axis=1)
    out: dict[str, NDArray[np.float64]] = {}
    cv_auc = {}
    for name, inputs in _STACKERS.items():
        stacker = fit_stacker(Candidate(inputs), scores.oof_logits, dev_x, y)
        out[name] = stacker.probability(test_logit, test_x)
        cv_auc[name] = roc_auc_score(y, grouped_oof(inputs, scores.oof_logits, dev_x, y, groups))
    chosen = max(("fusion", "cnn"), key=lambda k: cv_auc[k])  # as train_ct: only stackers that use the network
    candidate = Candidate(_STACKERS[chosen])
    final = fit_stacker(candidate, scores.oof_logits, dev_x, y)
    refits = bootstrap_refits(candidate, scores.oof_logits, dev_x, y, groups, final)
    p, low, high = replace(final, bootstrap=refits).with_interval(scores.member_logits, test_x)
    out["model"], out["low"], out["high"] = p, low, high
    out["chosen_is_fusion"] = np.full(len(test_idx), float(chosen == "fusion"))
    if table is not None:
        values, columns = table
        diameter = values[:, [columns.index("diameter_mm")]]
        from medai_core.ct.fitting import baseline_artifact

        artifact = baseline_artifact(diameter[dev_idx], y, ["diameter_mm"])
        out["diameter_only"] = baseline_probability(artifact, diameter[test_idx])
    return out


def interval_check_sentence(check: dict[str, Any], n: int) -> str:
    """One sentence, for the page and report, of how the interval fared on held-out exams (nested CV)."""
    bins = str(check["bins_consistent"]).split("/")[1]
    return (
        f"Checked on held-out exams (nested CV, {n} nodules in {bins} risk bins): the observed malignant rate was "
        f"consistent with the interval at the 80% level in {check['bins_consistent']} bins and inside it in "
        f"{check['bins_inside']} (a perfectly calibrated model would be inside in {check['inside_if_calibrated']})."
    )


def run_nested_cv(
    data_dir: Path,
    model_dir: Path,
    *,
    write: bool = True,
    cache_dir: Path | None = None,
    log: Callable[[str], None] = print,
) -> NestedReport:
    """Run the nested CV and (unless ``write`` is False) store its metrics in the card as ``metrics.nested_cv``.

    Raises:
        ModelCardError: outer fold 0 is not the card's held-out fold (another folder or split).
        ModelIntegrityError: the weights do not match the card's sha256.
    """
    from medai_core.errors import ModelCardError, ModelIntegrityError
    from medai_core.models.card import read_card, write_card
    from medai_core.reports import sha256_bytes

    started = time.perf_counter()
    model_dir = Path(model_dir)
    card = read_card(model_dir)
    weights = model_dir / card.weights_file
    if sha256_bytes(weights.read_bytes()) != card.weights_sha256:
        raise ModelIntegrityError(f"{weights.name}: sha256 differs from the card's; not touching the card")
    data = load_nodules(data_dir)
    try:
        folds = outer_folds(data.labels, data.exam_ids)
    except ValueError as error:  # fewer nodules of a class than folds
        raise ModelCardError(
            f"the held-out exams differ from the card's: this folder cannot give the seeded split ({error})"
        ) from None
    if sorted(set(data.exam_ids[folds[0][1]].tolist())) != list(card.artifacts.get("held_out_exam_ids", [])):
        raise ModelCardError("outer fold 0 differs from the card's held-out exams; not the folder the model saw")
    log("computing the nodules' features ...")
    features = features_for(data.volumes, radiomics=False)
    table = radiomics_table(data_dir, data)
    n = len(data.labels)
    pooled: dict[str, NDArray[np.float64]] = {}
    fold_of = np.full(n, -1)
    per_fold: list[dict[str, Any]] = []
    training_seconds = 0.0
    for k in range(N_OUTER):
        scores = fold_scores(data, k, model_dir, cache_dir=cache_dir, folds=folds, log=log)
        training_seconds += scores.seconds
        probs = _score_fold(data, features, table, scores)
        for name, values in probs.items():
            pooled.setdefault(name, np.zeros(n))[scores.index] = values
        fold_of[scores.index] = k
        yk = data.labels[scores.index]
        row: dict[str, Any] = {
            "fold": k,
            "exams": len(set(data.exam_ids[scores.index].tolist())),
            "nodules": len(scores.index),
            "members": "shipped weights" if k == 0 else f"trained here ({scores.seconds:.0f} s)",
            "stacker": "fusion" if probs["chosen_is_fusion"][0] else "cnn",
        }
        for name in ("model", "features", "cnn", "diameter_only"):
            if name in probs:
                m = binary_metrics(yk, probs[name])
                row[name] = {"auc": m["auc"], "ece": m["ece"]}
        per_fold.append(row)
        log(f"outer fold {k}: {row}")
    assert (fold_of >= 0).all()
    y, groups = data.labels, data.exam_ids
    metrics: dict[str, Any] = {
        "protocol": f"each of the {N_OUTER} outer folds of the seeded exam split held out in turn; fold 0 is the "
        "card's held-out fold scored by the shipped weights, folds 1-4 retrain 5 members with the same recipe; "
        "stackers, choice, interval and the size-only baseline are refitted on each fold's development exams",
        "command": NESTED_COMMAND,
        "folds": per_fold,
        "training_seconds": round(training_seconds, 1),
    }
    for name in ("model", "features", "cnn", "diameter_only"):
        if name not in pooled:
            continue
        entry: dict[str, Any] = dict(binary_metrics(y, pooled[name]))
        entry["auc_ci95_by_exam"] = list(grouped_bootstrap_auc_ci(y, pooled[name], groups))
        fold_aucs = [binary_metrics(y[fold_of == k], pooled[name][fold_of == k])["auc"] for k in range(N_OUTER)]
        entry["fold_auc_mean"] = round(float(np.mean(fold_aucs)), 4)
        entry["fold_auc_sd"] = round(float(np.std(fold_aucs, ddof=1)), 4)
        if name != "model":
            entry["model_minus_this_auc"] = paired_bootstrap_auc_difference(y, pooled["model"], pooled[name], groups)
        metrics[name] = entry
    metrics["model"]["ece_if_calibrated"] = ece_if_calibrated(pooled["model"])
    metrics["interval_check"] = interval_check(y, pooled["model"], pooled["low"], pooled["high"], bins=10)
    log(
        f"nested CV pooled over {n} nodules: "
        + ", ".join(
            f"{k} AUC {metrics[k]['auc']:.3f}" for k in ("model", "features", "cnn", "diameter_only") if k in metrics
        )
    )
    if write:
        updated = dict(card.metrics)
        updated["nested_cv"] = metrics
        calibration = dict(card.calibration)
        calibration["interval_check_nested"] = interval_check_sentence(metrics["interval_check"], n)
        version = card.version
        if (
            card.metrics.get("nested_cv") != metrics
            or card.calibration.get("interval_check_nested") != calibration["interval_check_nested"]
        ):
            major, minor, patch = (int(x) for x in card.version.split("."))
            version = f"{major}.{minor}.{patch + 1}"  # same weights and probabilities; the card's text changed
        command = card.training_command.split("; nested CV:")[0] + "; nested CV: " + NESTED_COMMAND
        changed = replace(card, version=version, metrics=updated, calibration=calibration, training_command=command)
        write_card(changed, model_dir)
        if sha256_bytes(weights.read_bytes()) != card.weights_sha256:  # pragma: no cover - never opened to write
            raise ModelIntegrityError("the weights changed while the card was written")
    return NestedReport(metrics, round(time.perf_counter() - started, 1))
