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
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from medai_core.ct.data import (
    SPLIT_SEED,
    NoduleSet,
    baseline_probability,
    held_out_split,
    load_nodules,
    provenance_manifest,
    radiomics_table,
)
from medai_core.ct.evaluation import binary_metrics, grouped_bootstrap_auc_ci, reliability_table
from medai_core.ct.features import FEATURE_NAMES
from medai_core.ct.prepare import CROP_SIZE, N_CHANNELS, TRAINING_PIXEL_MM
from medai_core.ct.scoring import Stacker, features_for, member_logits_for, scored_slices, slice_batch

if TYPE_CHECKING:
    import keras

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

MODEL_ID = "ct_nodule"
MODEL_VERSION = "1.0.0"
SEED = SPLIT_SEED
N_MEMBERS = 5
EPOCHS = 20
BATCH = 64


def _member_conv_output(x: Any, prefix: str) -> Any:
    from keras import layers

    y = layers.Rescaling(1.0 / 255.0, name=f"{prefix}_rescale")(x)
    for block, filters in enumerate((8, 16, 32)):
        y = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{prefix}_conv{block}")(y)
        y = layers.BatchNormalization(name=f"{prefix}_bn{block}")(y)
        y = layers.Activation("relu", name=f"{prefix}_relu{block}")(y)
        y = layers.MaxPooling2D(2, name=f"{prefix}_pool{block}")(y)
    return layers.Conv2D(32, 3, padding="same", activation="relu", name=f"{prefix}_conv_last")(y)


def _member_graph(x: Any, prefix: str) -> Any:
    import keras
    from keras import layers

    y = layers.GlobalAveragePooling2D(name=f"{prefix}_gap")(_member_conv_output(x, prefix))
    y = layers.Dropout(0.3, name=f"{prefix}_dropout")(y)
    return layers.Dense(1, kernel_regularizer=keras.regularizers.L2(1e-4), name=f"{prefix}_head")(y)


def build_member(index: int) -> keras.Model:
    """One ensemble member: (64, 64, 3) training-scale input (0..255) -> (1,) malignancy logit."""
    import keras

    inputs = keras.Input((CROP_SIZE, CROP_SIZE, N_CHANNELS), name="crop")
    return keras.Model(inputs, _member_graph(inputs, f"m{index}"), name=f"ct_member_{index}")


def build_ensemble(members: Sequence[keras.Model]) -> keras.Model:
    """One model holding every member: (64, 64, 3) -> (1 + M,) logits ``[ensemble mean, member 0, ..., M-1]``.

    The members' last convolutions are concatenated (layer ``ensemble_conv``) and pooled; a Dense layer with a
    block-diagonal kernel (``member_logits``) reproduces each member's own head exactly, and a one-unit Dense
    layer (``ensemble_mean``) their mean. Grad-CAM of ``ensemble_mean`` on ``ensemble_conv`` therefore explains
    the whole ensemble in one gradient pass.
    """
    import keras
    from keras import layers

    inputs = keras.Input((CROP_SIZE, CROP_SIZE, N_CHANNELS), name="crop")
    convs = []
    for i in range(len(members)):
        convs.append(_member_conv_output(inputs, f"m{i}"))
    features = layers.GlobalAveragePooling2D(name="ensemble_gap")(layers.Concatenate(name="ensemble_conv")(convs))
    member_logits = layers.Dense(len(members), name="member_logits")(features)
    mean_logit = layers.Dense(1, name="ensemble_mean")(features)
    model = keras.Model(inputs, layers.Concatenate(name="logits")([mean_logit, member_logits]), name=MODEL_ID)
    width = int(convs[0].shape[-1])
    kernel = np.zeros((width * len(members), len(members)), dtype=np.float32)
    biases = np.zeros(len(members), dtype=np.float32)
    for i, member in enumerate(members):
        for layer in member.layers:
            if layer.weights and not layer.name.endswith("_head"):
                model.get_layer(layer.name).set_weights(layer.get_weights())
        head_kernel, head_bias = member.get_layer(f"m{i}_head").get_weights()
        kernel[i * width : (i + 1) * width, i] = head_kernel[:, 0]
        biases[i] = head_bias[0]
    model.get_layer("member_logits").set_weights([kernel, biases])
    model.get_layer("ensemble_mean").set_weights([kernel.mean(axis=1, keepdims=True), biases.mean(keepdims=True)])
    return model


def _training_samples(data: NoduleSet) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Every scored slice of every nodule as a sample (more views of each nodule), with its nodule's label."""
    xs, ys = [], []
    for volume, label in zip(data.volumes, data.labels, strict=True):
        idx = scored_slices(volume)
        xs.append(slice_batch(volume, idx))
        ys.extend([label] * len(idx))
    return np.concatenate(xs), np.array(ys, dtype=np.float32)


def _augment(batch: NDArray[np.float32], rng: np.random.Generator) -> NDArray[np.float32]:
    """Random rot90, flips, +-3 px shifts, single-slice simulation and intensity jitter inside the mask."""
    out = np.empty_like(batch)
    for i, x in enumerate(batch):
        x = np.rot90(x, int(rng.integers(4)), axes=(0, 1))
        if rng.random() < 0.5:
            x = x[:, ::-1]
        x = np.roll(x, tuple(rng.integers(-3, 4, size=2)), axis=(0, 1))
        if rng.random() < 0.2:  # uploads of one 2D slice repeat it in all three channels
            x = np.repeat(x[..., 1:2], 3, axis=-1)
        mask = x > 0
        jitter = x * rng.uniform(0.95, 1.05) + rng.uniform(-6, 6)
        out[i] = np.where(mask, np.clip(jitter, 1, 255), 0)
    return out


def _fit_member(index: int, x: NDArray[np.float32], y: NDArray[np.float32], log: Callable[[str], None]) -> keras.Model:
    import keras

    keras.utils.set_random_seed(SEED + index)
    rng = np.random.default_rng(SEED + index)
    model = build_member(index)
    steps = EPOCHS * int(np.ceil(len(x) / BATCH))
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, steps)
    model.compile(keras.optimizers.Adam(schedule), keras.losses.BinaryCrossentropy(from_logits=True))
    start = time.perf_counter()
    for epoch in range(EPOCHS):
        history = model.fit(_augment(x, rng), y, batch_size=BATCH, epochs=1, shuffle=True, verbose=0)
        if epoch % 5 == 4 or epoch == EPOCHS - 1:
            loss = history.history["loss"][-1]
            log(f"  member {index} epoch {epoch + 1}/{EPOCHS} loss {loss:.3f} ({time.perf_counter() - start:.0f} s)")
    return model


def _logits_of(model: keras.Model) -> Callable[[NDArray[np.float32]], NDArray[np.float32]]:
    def predict(batch: NDArray[np.float32]) -> NDArray[np.float32]:
        return np.asarray(model(batch, training=False), dtype=np.float32)

    return predict


def _logistic(x: NDArray[Any], y: NDArray[Any], c: float = 1.0) -> tuple[NDArray[np.float64], NDArray[np.float64], Any]:
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / scale, y)
    return mean, scale, model


def _fit_stacker(inputs: tuple[str, ...], logits: NDArray[Any], features: NDArray[Any], y: NDArray[Any]) -> Stacker:
    template = Stacker(inputs, (0.0,) * len(inputs), (1.0,) * len(inputs), (0.0,) * len(inputs), 0.0)
    x = template.design(logits, features)
    mean, scale, model = _logistic(x, y)
    return Stacker(inputs, tuple(mean), tuple(scale), tuple(model.coef_[0]), float(model.intercept_[0]))


def _grouped_oof(
    inputs: tuple[str, ...], logits: NDArray[Any], features: NDArray[Any], y: NDArray[Any], groups: NDArray[Any]
) -> NDArray[np.float64]:
    from sklearn.model_selection import StratifiedGroupKFold

    out = np.zeros(len(y))
    for fit, held in StratifiedGroupKFold(5, shuffle=True, random_state=SEED).split(logits, y, groups):
        stacker = _fit_stacker(inputs, logits[fit], features[fit], y[fit])
        out[held] = stacker.probability(logits[held], features[held])
    return out


def _baseline_artifact(x: NDArray[Any], y: NDArray[Any], columns: list[str]) -> dict[str, Any]:
    mean, scale, model = _logistic(x, y, c=0.1 if len(columns) > 1 else 1.0)
    return {
        "columns": columns,
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coef": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]),
    }


def _held_out_metrics(test: NoduleSet, probabilities: NDArray[Any]) -> dict[str, Any]:
    """Binary metrics plus the exam-level bootstrap 95% interval of the AUC."""
    metrics: dict[str, Any] = dict(binary_metrics(test.labels, probabilities))
    metrics["auc_ci95_by_exam"] = list(grouped_bootstrap_auc_ci(test.labels, probabilities, test.exam_ids))
    return metrics


def _risk_thresholds(y: NDArray[Any], p: NDArray[Any]) -> dict[str, float]:
    """Low/high cut-offs on OOF probabilities: below ``low`` keeps 95% sensitivity, above ``high`` 90% specificity."""
    from sklearn.metrics import roc_curve

    fpr, tpr, thresholds = roc_curve(y, p)
    low = float(thresholds[np.argmax(tpr >= 0.95)])
    high = float(thresholds[np.flatnonzero(fpr <= 0.10).max()])
    return {"low": round(min(low, high), 4), "high": round(max(low, high), 4)}


def _histograms(y: NDArray[Any], p: NDArray[Any], bins: int = 20) -> dict[str, Any]:
    edges = np.linspace(0, 1, bins + 1)
    return {
        "edges": edges.round(3).tolist(),
        "benign": np.histogram(p[y == 0], edges)[0].tolist(),
        "malignant": np.histogram(p[y == 1], edges)[0].tolist(),
        "source": "grouped-CV out-of-fold probabilities on the development exams",
    }


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
        x, y = _training_samples(dev.subset(fit))
        log(f"member {fold}: {len(fit)} nodules ({len(x)} slice samples); out-of-fold {len(held)}")
        member = _fit_member(fold, x, y, log)
        members.append(member)
        oof_logits[held] = member_logits_for([dev.volumes[i] for i in held], _logits_of(member))[:, 0]

    from sklearn.metrics import roc_auc_score

    candidates = {
        "cnn": ("cnn_logit",),
        "features": FEATURE_NAMES,
        "fusion": ("cnn_logit", *FEATURE_NAMES),
    }
    cv_auc = {}
    cv_probs = {}
    for name, inputs in candidates.items():
        cv_probs[name] = _grouped_oof(inputs, oof_logits, dev_features, dev.labels, dev.exam_ids)
        cv_auc[name] = round(float(roc_auc_score(dev.labels, cv_probs[name])), 4)
    # Only stackers that use the network are eligible: the features-only row is reported for comparison.
    chosen = max(("fusion", "cnn"), key=lambda k: cv_auc[k])
    log(f"grouped-CV AUC on development exams: {cv_auc} -> {chosen}")
    stacker = _fit_stacker(candidates[chosen], oof_logits, dev_features, dev.labels)

    ensemble = build_ensemble(members)
    test_logits = member_logits_for(test.volumes, lambda b: np.asarray(ensemble(b, training=False))[:, 1:])
    p, low, high = stacker.with_interval(test_logits, test_features)
    metrics: dict[str, Any] = {"model": _held_out_metrics(test, p)}
    metrics["model"]["mean_interval_width"] = round(float((high - low).mean()), 4)
    thresholds = _risk_thresholds(dev.labels, cv_probs[chosen])
    bands = np.digitize(p, [thresholds["low"], thresholds["high"]])
    metrics["model"]["risk_bands_held_out"] = {
        name: {"n": int((bands == b).sum()), "malignant_rate": round(float(test.labels[bands == b].mean()), 3)}
        for b, name in enumerate(("low", "intermediate", "high"))
        if (bands == b).any()
    }
    metrics["features_only_project"] = _held_out_metrics(
        test,
        _fit_stacker(FEATURE_NAMES, oof_logits, dev_features, dev.labels).probability(
            test_logits.mean(1), test_features
        ),
    )
    baselines: dict[str, Any] = {}
    radiomics = radiomics_table(data_dir, data)
    if radiomics is not None:
        table, columns = radiomics
        diameter = columns.index("diameter_mm")
        baselines["diameter_only"] = _baseline_artifact(table[dev_idx][:, [diameter]], dev.labels, ["diameter_mm"])
        baselines["radiomics_csv"] = _baseline_artifact(table[dev_idx], dev.labels, columns)
        for name, artifact in baselines.items():
            cols = [columns.index(c) for c in artifact["columns"]]
            metrics[f"baseline_{name}"] = _held_out_metrics(
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
        "reference_histograms": _histograms(dev.labels, cv_probs[chosen]),
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
