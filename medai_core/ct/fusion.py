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

from medai_core.ct.data import NoduleSet, baseline_probability, held_out_split, load_nodules
from medai_core.ct.evaluation import binary_metrics, grouped_bootstrap_auc_ci
from medai_core.ct.features import FEATURE_NAMES
from medai_core.ct.fusion_card import FusionReport, updated_card
from medai_core.ct.scoring import Stacker, features_for, member_logits_for
from medai_core.ct.stacking import (
    CANDIDATES,
    INTERVAL_LEVEL,
    N_FOLDS,
    N_REPEATS,
    Candidate,
    bootstrap_refits,
    fit_stacker,
    interval_check,
    oof_member_index,
    paired_bootstrap_auc_difference,
    repeated_cv,
)

__all__ = ["run_fusion"]


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
    from medai_core.errors import ModelIntegrityError
    from medai_core.models.card import read_card, write_card
    from medai_core.reports import sha256_bytes

    started = time.perf_counter()
    model_dir = Path(model_dir)
    card = read_card(model_dir)
    weights = model_dir / card.weights_file
    sha_before = sha256_bytes(weights.read_bytes())
    if sha_before != card.weights_sha256:
        raise ModelIntegrityError(f"{weights.name}: sha256 differs from the card's; not touching the card")
    run = _fusion_inputs(data_dir, model_dir, card, log)

    shipped = Stacker.from_artifact(card.artifacts["stacker"])
    reproduction = _reproduction(card.artifacts, shipped, run.oof, run.dev_x, run.y, run.dev.exam_ids)
    log(f"reproduction of the shipped stacker inputs: {reproduction}")

    cv, first_oof, chosen = _choose(run, log)
    candidate = CANDIDATES[chosen]
    final = fit_stacker(candidate, run.oof, run.dev_x, run.y)
    refits = bootstrap_refits(candidate, run.oof, run.dev_x, run.y, run.dev.exam_ids, final)
    held_out = _held_out(run, final, shipped, card.artifacts, data_dir, log)

    new, old = held_out["fusion (chosen)"], card.metrics["model"]
    better = new["auc"] > float(old["auc"]) and new["ece"] <= float(old["ece"])
    reason = (
        f"held-out AUC {new['auc']:.4f} vs shipped {float(old['auc']):.4f}, ECE {new['ece']:.4f} vs "
        f"{float(old['ece']):.4f}: " + ("replaced" if better else "kept the shipped stacker")
    )
    log(reason)
    ship = _with_interval(final, refits) if better else _shipped_with_interval(run, shipped)
    p_ship, low, high = ship.with_interval(run.test_members, run.test_x)
    interval = _interval(run.yt, p_ship, low, high, card)
    log(f"  interval: {interval['mean_width']} mean width, bins inside {interval['bins_inside']}")
    report = FusionReport(reproduction, cv, chosen, held_out, interval, better and write, reason, 0.0)
    if write:
        updated = updated_card(card, report, ship, better, first_oof[chosen], run.y, run.yt, p_ship, held_out)
        write_card(updated, model_dir)
        if sha256_bytes(weights.read_bytes()) != sha_before:  # pragma: no cover - the weights are never opened to write
            raise ModelIntegrityError("the weights changed while the card was written")
    seconds = round(time.perf_counter() - started, 1)
    return replace(report, seconds=seconds)


@dataclass(frozen=True)
class _FusionInputs:
    """The development and held-out nodules of the seeded split with what the stackers take: each development
    nodule's out-of-fold CNN logit, the held-out members' logits and their mean, and the features."""

    dev: NoduleSet
    test: NoduleSet
    test_members: NDArray[Any]
    oof: NDArray[np.float64]
    test_logit: NDArray[np.float64]
    dev_x: NDArray[Any]
    test_x: NDArray[Any]

    @property
    def y(self) -> NDArray[Any]:
        """Development labels."""
        return self.dev.labels

    @property
    def yt(self) -> NDArray[Any]:
        """Held-out labels."""
        return self.test.labels


def _fusion_inputs(data_dir: Path, model_dir: Path, card: Any, log: Callable[[str], None]) -> _FusionInputs:
    """Read the nodules, redo the card's seeded split (refusing another folder), score them with the shipped members.

    Raises:
        ModelCardError: the recomputed held-out exams differ from the card's.
    """
    from medai_core.errors import ModelCardError
    from medai_core.models import load_model

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
    return _FusionInputs(dev, test, test_members, oof, test_logit, features[dev_idx], features[test_idx])


def _choose(
    run: _FusionInputs, log: Callable[[str], None]
) -> tuple[dict[str, dict[str, Any]], dict[str, NDArray[np.float64]], str]:
    """Repeated CV of every candidate on the development exams; the linear one with the highest mean AUC.

    Returns:
        (the CV table by candidate, repeat 0's out-of-fold probabilities by candidate, the chosen candidate).
    """
    log(f"repeated CV ({N_REPEATS} x {N_FOLDS}-fold by exam) of {len(CANDIDATES)} candidates ...")
    cv, first_oof = repeated_cv(CANDIDATES, run.oof, run.dev_x, run.y, run.dev.exam_ids)
    for name, row in cv.items():
        log(f"  {name:42s} AUC {row['auc_mean']:.3f} +- {row['auc_sd']:.3f}  ECE {row['ece_mean']:.3f}")
    chosen = max((n for n, c in CANDIDATES.items() if c.kind == "logistic"), key=lambda n: cv[n]["auc_mean"])
    log(f"chosen: {chosen}")
    return cv, first_oof, chosen


def _held_out(
    run: _FusionInputs,
    final: Stacker,
    shipped: Stacker,
    artifacts: Mapping[str, Any],
    data_dir: Path,
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Held-out: scored once, the chosen fusion beside the shipped model and the baselines, with exam-bootstrap
    AUC intervals and paired differences."""
    oof, dev_x, y, test_logit, test_x = run.oof, run.dev_x, run.y, run.test_logit, run.test_x
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
        artifact = artifacts.get("baselines", {}).get(name)
        table = _csv_table(data_dir, run.test)
        if artifact is not None and table is not None:
            scores[f"baseline_{name}"] = baseline_probability(artifact, table[artifact["columns"]].to_numpy(float))
    held_out: dict[str, Any] = {}
    for name, s in scores.items():
        entry: dict[str, Any] = dict(binary_metrics(run.yt, s))
        entry["auc_ci95_by_exam"] = list(grouped_bootstrap_auc_ci(run.yt, s, run.test.exam_ids))
        if name != "fusion (chosen)":
            entry["fusion_minus_this_auc"] = paired_bootstrap_auc_difference(run.yt, p, s, run.test.exam_ids)
        held_out[name] = entry
    for name, row in held_out.items():
        log(f"  held-out {name:24s} AUC {row['auc']:.3f} {row['auc_ci95_by_exam']} ECE {row['ece']:.3f}")
    return held_out


# The interval goes with whichever stacker ships: its refits on exam-level bootstrap resamples of the development
# exams (the shipped stacker's point probabilities are unchanged by adding them).
def _with_interval(stacker: Stacker, refits: tuple[tuple[float, ...], ...]) -> Stacker:
    """``stacker`` carrying ``refits`` as its interval."""
    return replace(stacker, bootstrap=refits, interval_level=INTERVAL_LEVEL)


def _shipped_with_interval(run: _FusionInputs, shipped: Stacker) -> Stacker:
    """The shipped stacker (logistic, C = 1, refitted exactly by :func:`_reproduction`) with its own refits."""
    kept = Candidate(shipped.inputs)
    return _with_interval(shipped, bootstrap_refits(kept, run.oof, run.dev_x, run.y, run.dev.exam_ids, shipped))


def _interval(yt: NDArray[Any], p: NDArray[Any], low: NDArray[Any], high: NDArray[Any], card: Any) -> dict[str, Any]:
    """The held-out check of the shipped interval, with the first run's width and meaning kept beside it."""
    interval = interval_check(yt, p, low, high)
    earlier = card.calibration.get("interval_held_out_check", {})  # a rerun keeps the first comparison
    interval["previous_mean_width"] = earlier.get(
        "previous_mean_width", card.metrics.get("model", {}).get("mean_interval_width")
    )
    interval["previous_meaning"] = earlier.get("previous_meaning", card.calibration.get("interval"))
    return interval


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
