"""What the CT fusion (:mod:`medai_core.ct.fusion`) measured and decided, and how it goes into the model card: the
interval's meaning, the comparison of the candidates, and (where the fusion is better) the new stacker."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from medai_core.ct.data import SPLIT_SEED
from medai_core.ct.evaluation import ece_if_calibrated, reliability_table
from medai_core.ct.fitting import N_MEMBERS
from medai_core.ct.radiomics import BIN_WIDTH_HU, CROP_SLICE_MM, RADIOMICS_NAMES
from medai_core.ct.scoring import STACKER_FEATURE_NAMES, Stacker
from medai_core.ct.stacking import CANDIDATES, INTERVAL_LEVEL, N_BOOTSTRAP, N_FOLDS, N_REPEATS

__all__ = ["FUSION_COMMAND", "FusionReport", "interval_meaning", "updated_card"]

FUSION_COMMAND = "python -m medai_core train ct --fusion-only --data ../shared/data/ct/lidc_nodules"


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


def interval_meaning(n_members: int) -> str:
    """The sentence that says what the CT interval is (card, page, report)."""
    return (
        f"{INTERVAL_LEVEL:.0%} range of the calibrated probability over {N_BOOTSTRAP} refits of the stacker on "
        f"exam-level bootstrap resamples of the development exams, each refit applied to one of the {n_members} "
        "CNN members in turn (CNN weights fixed): how much the probability depends on which exams the calibration "
        "saw and which member scores the nodule. It is not a range for this patient's outcome."
    )


def updated_card(
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
