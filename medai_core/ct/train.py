"""Training and held-out evaluation of the CT nodule model on LIDC-IDRI crops (``../shared/data/ct/lidc_nodules``).

Protocol (all splits by ``exam_id``; nothing is measured on data a model was fitted on):

1. Held-out test: one fold of a 5-fold ``StratifiedGroupKFold`` over exams (about 20% of exams) is set aside and
   used only for the card's numbers.
2. Development (the other ~80%): 5-fold grouped cross-validation. Each fold trains one 2.5D CNN member on four
   folds; its logits on the fifth are out-of-fold (OOF). The five fold members together form the deep ensemble
   (cross-validation bagging), so every member is trained on a different 80% of the development exams.
3. On the OOF logits, three stackers are compared by grouped CV AUC: CNN logit alone (Platt scaling), the
   project's own features alone, and the fusion of both. The best is refitted on all OOF rows; it is the
   calibration. Risk-band thresholds and the reference score histograms come from its grouped-CV OOF
   probabilities on the development exams.
4. Baselines fitted on the development exams and scored on the same held-out exams: logistic regression on
   ``diameter_mm`` alone and on all radiomics.csv features (the CSV is used only for these baselines).
6. The fusion of the CNN with IBSI radiomics (:mod:`medai_core.ct.fusion`, also ``train ct --fusion-only``): chosen
   by repeated exam-grouped CV, written into the card where it beats the stacker above on the held-out exams.
5. The card's provenance manifest (:func:`medai_core.ct.data.provenance_manifest`): every development exam fitted
   members and the stacker, so all are ``train``; the held-out exams are ``test``; ``validation`` is empty.

Reading the data, the split and the manifest live in :mod:`medai_core.ct.data`, shared with evaluation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from medai_core.ct.data import (
    SPLIT_SEED,
    NoduleSet,
    baseline_probability,
    held_out_split,
    load_nodules,
    provenance_manifest,
    radiomics_table,
)
from medai_core.ct.evaluation import reliability_table
from medai_core.ct.features import FEATURE_NAMES
from medai_core.ct.fitting import (
    N_MEMBERS,
    baseline_artifact,
    build_ensemble,
    build_member,
    fit_member,
    fit_stacker,
    grouped_oof,
    held_out_metrics,
    histograms,
    logits_of,
    risk_thresholds,
    training_samples,
)
from medai_core.ct.prepare import TRAINING_PIXEL_MM
from medai_core.ct.scoring import features_for, member_logits_for
from medai_core.domains import CT

if TYPE_CHECKING:
    pass

__all__ = [
    "MODEL_ID",
    "NoduleSet",
    "baseline_probability",
    "build_ensemble",
    "build_member",
    "load_nodules",
    "radiomics_table",
    "train_ct",
]

MODEL_ID = CT.model_id
MODEL_VERSION = "1.0.0"
SEED = SPLIT_SEED


def train_ct(data_dir: Path, out_dir: Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train, calibrate, evaluate on held-out exams and write ``out_dir`` (weights + card).

    Returns:
        the card's ``metrics`` mapping (held-out model and baselines).
    """
    import tensorflow as tf
    from sklearn.model_selection import StratifiedGroupKFold

    from medai_core.ct.card import build_card
    from medai_core.models import configure_runtime, save_model

    configure_runtime()
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    started = time.perf_counter()
    data = load_nodules(data_dir)
    log(f"read {len(data.labels)} nodules ({int(data.labels.sum())} malignant) in {len(set(data.exam_ids))} exams")
    dev_idx, test_idx = held_out_split(data.labels, data.exam_ids)
    dev, test = data.subset(dev_idx), data.subset(test_idx)
    assert not set(dev.exam_ids) & set(test.exam_ids)
    log(
        f"development: {len(dev.labels)} nodules / {len(set(dev.exam_ids))} exams; "
        f"held-out test: {len(test.labels)} nodules / {len(set(test.exam_ids))} exams"
    )
    dev_features, test_features = features_for(dev.volumes), features_for(test.volumes)

    inner = StratifiedGroupKFold(N_MEMBERS, shuffle=True, random_state=SEED + 1)
    oof_logits = np.zeros(len(dev.labels), dtype=np.float32)
    members = []
    for fold, (fit, held) in enumerate(inner.split(np.zeros(len(dev.labels)), dev.labels, dev.exam_ids)):
        x, y = training_samples(dev.subset(fit))
        log(f"member {fold}: {len(fit)} nodules ({len(x)} slice samples); out-of-fold {len(held)}")
        member = fit_member(fold, x, y, log)
        members.append(member)
        oof_logits[held] = member_logits_for([dev.volumes[i] for i in held], logits_of(member))[:, 0]

    from sklearn.metrics import roc_auc_score

    candidates = {
        "cnn": ("cnn_logit",),
        "features": FEATURE_NAMES,
        "fusion": ("cnn_logit", *FEATURE_NAMES),
    }
    cv_auc = {}
    cv_probs = {}
    for name, inputs in candidates.items():
        cv_probs[name] = grouped_oof(inputs, oof_logits, dev_features, dev.labels, dev.exam_ids)
        cv_auc[name] = round(float(roc_auc_score(dev.labels, cv_probs[name])), 4)
    # Only stackers that use the network are eligible: the features-only row is reported for comparison.
    chosen = max(("fusion", "cnn"), key=lambda k: cv_auc[k])
    log(f"grouped-CV AUC on development exams: {cv_auc} -> {chosen}")
    stacker = fit_stacker(candidates[chosen], oof_logits, dev_features, dev.labels)

    ensemble = build_ensemble(members)
    test_logits = member_logits_for(test.volumes, lambda b: np.asarray(ensemble(b, training=False))[:, 1:])
    p, low, high = stacker.with_interval(test_logits, test_features)
    metrics: dict[str, Any] = {"model": held_out_metrics(test, p)}
    metrics["model"]["mean_interval_width"] = round(float((high - low).mean()), 4)
    thresholds = risk_thresholds(dev.labels, cv_probs[chosen])
    bands = np.digitize(p, [thresholds["low"], thresholds["high"]])
    metrics["model"]["risk_bands_held_out"] = {
        name: {"n": int((bands == b).sum()), "malignant_rate": round(float(test.labels[bands == b].mean()), 3)}
        for b, name in enumerate(("low", "intermediate", "high"))
        if (bands == b).any()
    }
    metrics["features_only_project"] = held_out_metrics(
        test,
        fit_stacker(FEATURE_NAMES, oof_logits, dev_features, dev.labels).probability(
            test_logits.mean(1), test_features
        ),
    )
    baselines: dict[str, Any] = {}
    radiomics = radiomics_table(data_dir, data)
    if radiomics is not None:
        table, columns = radiomics
        diameter = columns.index("diameter_mm")
        baselines["diameter_only"] = baseline_artifact(table[dev_idx][:, [diameter]], dev.labels, ["diameter_mm"])
        baselines["radiomics_csv"] = baseline_artifact(table[dev_idx], dev.labels, columns)
        for name, artifact in baselines.items():
            cols = [columns.index(c) for c in artifact["columns"]]
            metrics[f"baseline_{name}"] = held_out_metrics(
                test, baseline_probability(artifact, table[test_idx][:, cols])
            )
    metrics["development_cv_auc"] = cv_auc
    log("held-out test metrics:")
    for name, values in metrics.items():
        log(f"  {name}: {values}")

    artifacts = {
        "stacker": stacker.to_artifact(),
        "stacker_choice": {"cv_auc": cv_auc, "chosen": chosen},
        "risk_thresholds": thresholds,
        "reference_histograms": histograms(dev.labels, cv_probs[chosen]),
        "baselines": baselines,
        "held_out_exam_ids": sorted(set(test.exam_ids)),
        "training_pixel_mm": TRAINING_PIXEL_MM,
        "members": N_MEMBERS,
    }
    calibration = {
        "method": f"logistic stacker (Platt scaling) on out-of-fold CNN logits, inputs {list(stacker.inputs)}",
        "ece_held_out": metrics["model"]["ece"],
        "reliability_held_out": reliability_table(test.labels, p),
        "interval": f"lowest to highest calibrated probability over the {N_MEMBERS} ensemble members",
    }
    card = build_card(
        metrics=metrics,
        calibration=calibration,
        artifacts=artifacts,
        n_train=(len(dev.labels), len(set(dev.exam_ids))),
        n_test=(len(test.labels), len(set(test.exam_ids))),
        created=datetime.now(UTC).date().isoformat(),
        version=MODEL_VERSION,
        provenance=provenance_manifest(sorted(set(dev.exam_ids)), sorted(set(test.exam_ids))).to_dict(),
    )
    written = save_model(ensemble, replace(card, id=Path(out_dir).name), Path(out_dir))
    log(f"wrote {out_dir} (sha256 {written.weights_sha256[:12]}...) in {time.perf_counter() - started:.0f} s")
    # Step 6: the CNN + radiomics fusion on the members just trained (the same step as `train ct --fusion-only`).
    from medai_core.ct.fusion import run_fusion

    fusion = run_fusion(Path(data_dir), Path(out_dir), log=log)
    log(f"fusion: {fusion.reason}")
    return metrics
