"""Fitting the CT nodule model: the 2.5D CNN members, the stacker, the baselines and the card's numbers.

Public so that training (:mod:`medai_core.ct.train`), the fusion (:mod:`medai_core.ct.fusion`) and the nested
cross-validation (:mod:`medai_core.ct.nested`) fit in exactly the same way without importing each other's private
helpers (``train`` runs the fusion, so the fusion must not import ``train``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from medai_core.ct.data import (
    SPLIT_SEED,
    NoduleSet,
)
from medai_core.ct.evaluation import binary_metrics, grouped_bootstrap_auc_ci
from medai_core.ct.prepare import CROP_SIZE, N_CHANNELS
from medai_core.ct.scoring import Stacker, scored_slices, slice_batch
from medai_core.domains import CT

if TYPE_CHECKING:
    import keras

__all__ = [
    "BATCH",
    "EPOCHS",
    "N_MEMBERS",
    "SEED",
    "augment",
    "baseline_artifact",
    "build_ensemble",
    "build_member",
    "fit_member",
    "fit_stacker",
    "grouped_oof",
    "held_out_metrics",
    "histograms",
    "logistic",
    "logits_of",
    "risk_thresholds",
    "training_samples",
]

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
    model = keras.Model(inputs, layers.Concatenate(name="logits")([mean_logit, member_logits]), name=CT.model_id)
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


def training_samples(data: NoduleSet) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Every scored slice of every nodule as a sample (more views of each nodule), with its nodule's label."""
    xs, ys = [], []
    for volume, label in zip(data.volumes, data.labels, strict=True):
        idx = scored_slices(volume)
        xs.append(slice_batch(volume, idx))
        ys.extend([label] * len(idx))
    return np.concatenate(xs), np.array(ys, dtype=np.float32)


def augment(batch: NDArray[np.float32], rng: np.random.Generator) -> NDArray[np.float32]:
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


def fit_member(index: int, x: NDArray[np.float32], y: NDArray[np.float32], log: Callable[[str], None]) -> keras.Model:
    import keras

    keras.utils.set_random_seed(SEED + index)
    rng = np.random.default_rng(SEED + index)
    model = build_member(index)
    steps = EPOCHS * int(np.ceil(len(x) / BATCH))
    schedule = keras.optimizers.schedules.CosineDecay(2e-3, steps)
    model.compile(keras.optimizers.Adam(schedule), keras.losses.BinaryCrossentropy(from_logits=True))
    start = time.perf_counter()
    for epoch in range(EPOCHS):
        history = model.fit(augment(x, rng), y, batch_size=BATCH, epochs=1, shuffle=True, verbose=0)
        if epoch % 5 == 4 or epoch == EPOCHS - 1:
            loss = history.history["loss"][-1]
            log(f"  member {index} epoch {epoch + 1}/{EPOCHS} loss {loss:.3f} ({time.perf_counter() - start:.0f} s)")
    return model


def logits_of(model: keras.Model) -> Callable[[NDArray[np.float32]], NDArray[np.float32]]:
    def predict(batch: NDArray[np.float32]) -> NDArray[np.float32]:
        return np.asarray(model(batch, training=False), dtype=np.float32)

    return predict


def logistic(x: NDArray[Any], y: NDArray[Any], c: float = 1.0) -> tuple[NDArray[np.float64], NDArray[np.float64], Any]:
    from sklearn.linear_model import LogisticRegression

    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=c, max_iter=2000).fit((x - mean) / scale, y)
    return mean, scale, model


def fit_stacker(inputs: tuple[str, ...], logits: NDArray[Any], features: NDArray[Any], y: NDArray[Any]) -> Stacker:
    template = Stacker(inputs, (0.0,) * len(inputs), (1.0,) * len(inputs), (0.0,) * len(inputs), 0.0)
    x = template.design(logits, features)
    mean, scale, model = logistic(x, y)
    return Stacker(inputs, tuple(mean), tuple(scale), tuple(model.coef_[0]), float(model.intercept_[0]))


def grouped_oof(
    inputs: tuple[str, ...], logits: NDArray[Any], features: NDArray[Any], y: NDArray[Any], groups: NDArray[Any]
) -> NDArray[np.float64]:
    from sklearn.model_selection import StratifiedGroupKFold

    out = np.zeros(len(y))
    for fit, held in StratifiedGroupKFold(5, shuffle=True, random_state=SEED).split(logits, y, groups):
        stacker = fit_stacker(inputs, logits[fit], features[fit], y[fit])
        out[held] = stacker.probability(logits[held], features[held])
    return out


def baseline_artifact(x: NDArray[Any], y: NDArray[Any], columns: list[str]) -> dict[str, Any]:
    mean, scale, model = logistic(x, y, c=0.1 if len(columns) > 1 else 1.0)
    return {
        "columns": columns,
        "mean": mean.tolist(),
        "scale": scale.tolist(),
        "coef": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]),
    }


def held_out_metrics(test: NoduleSet, probabilities: NDArray[Any]) -> dict[str, Any]:
    """Binary metrics plus the exam-level bootstrap 95% interval of the AUC."""
    metrics: dict[str, Any] = dict(binary_metrics(test.labels, probabilities))
    metrics["auc_ci95_by_exam"] = list(grouped_bootstrap_auc_ci(test.labels, probabilities, test.exam_ids))
    return metrics


def risk_thresholds(y: NDArray[Any], p: NDArray[Any]) -> dict[str, float]:
    """Low/high cut-offs on OOF probabilities: below ``low`` keeps 95% sensitivity, above ``high`` 90% specificity."""
    from sklearn.metrics import roc_curve

    fpr, tpr, thresholds = roc_curve(y, p)
    low = float(thresholds[np.argmax(tpr >= 0.95)])
    high = float(thresholds[np.flatnonzero(fpr <= 0.10).max()])
    return {"low": round(min(low, high), 4), "high": round(max(low, high), 4)}


def histograms(y: NDArray[Any], p: NDArray[Any], bins: int = 20) -> dict[str, Any]:
    edges = np.linspace(0, 1, bins + 1)
    return {
        "edges": edges.round(3).tolist(),
        "benign": np.histogram(p[y == 0], edges)[0].tolist(),
        "malignant": np.histogram(p[y == 1], edges)[0].tolist(),
        "source": "grouped-CV out-of-fold probabilities on the development exams",
    }
