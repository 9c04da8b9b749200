"""Training and held-out evaluation of the glucose forecaster on GlucoBench's Weinstock 2016 series.

Reproduce with ``python -m medai_core train glucose --data ../shared/data/cgm/glucobench/weinstock2016.csv.gz``.

Protocol: patients (never readings) are split with a fixed seed into training (~68 %), validation (~12 %, early
stopping and every calibration) and test (20 %, reported once). Windows: 3 hours of 5-minute readings (short gaps
<= 15 min interpolated) and the next 60 minutes. Training windows start every 10 minutes (subsampled); validation
and test origins are at least 30 minutes apart, and their targets are observed readings only. The baselines
(last value carried forward; ridge regression on the same window) are fitted on the same training windows and
scored on the same test windows as the model.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from medai_core.glucose.evaluation import Evaluation, WindowSet, collect_windows, evaluate_windows
from medai_core.glucose.forecast import (
    HYPO_KEYS,
    OUTPUT_SIZE,
    ForecastParams,
    decode_outputs,
    hypo_labels,
)
from medai_core.glucose.io import grids_by_patient, read_research_table
from medai_core.glucose.prepare import (
    DELTA_SCALE,
    HORIZON_STEPS,
    INPUT_CHANNELS,
    INPUT_STEPS,
    LEVEL_CENTER,
    LEVEL_SCALE,
)
from medai_core.provenance import ProvenanceManifest

if TYPE_CHECKING:
    import keras

__all__ = [
    "DATASET",
    "MODEL_ID",
    "SEED",
    "TrainResult",
    "build_model",
    "provenance_manifest",
    "rebuild_provenance",
    "split_patients",
    "train_glucose",
]

MODEL_ID = "glucose_forecast"
MODEL_VERSION = "1.0.0"
SEED = 20240611
TEST_FRACTION = 0.20
VALIDATION_FRACTION = 0.15
MAX_TRAIN_WINDOWS = 160_000
QUANTILES = (0.1, 0.5, 0.9)
DATASET = "weinstock2016"
"""The training data set's name; patient ids are qualified with it in the provenance manifest."""
DATASET_DESCRIPTION = {
    "name": DATASET,
    "version": "GlucoBench processed release (IrinaStatsLab/GlucoBench, weinstock2016.csv.gz: 170 patients)",
    "source": "Weinstock et al. 2016, Jaeb Center study of severe hypoglycaemia in older adults with T1D, as "
    "processed by GlucoBench (Sergazinov et al., ICLR 2024)",
    "citation": "Weinstock RS et al. J Clin Endocrinol Metab 2016;101(8):3096-3104",
}
SPLIT_SENTENCE = (
    f"by patient with numpy default_rng({SEED}) over the sorted ids: 20 % test, 15 % of the rest validation "
    "(early stopping, conformal margins, Platt scaling), the rest training"
)


def split_patients(ids: list[str], seed: int = SEED) -> tuple[list[str], list[str], list[str]]:
    """Split patient ids into (train, validation, test) with a fixed seed."""
    ordered = sorted(ids)
    perm = np.random.default_rng(seed).permutation(len(ordered))
    n_test = max(1, round(TEST_FRACTION * len(ordered)))
    n_val = max(1, round(VALIDATION_FRACTION * (len(ordered) - n_test)))
    test = sorted(ordered[i] for i in perm[:n_test])
    val = sorted(ordered[i] for i in perm[n_test : n_test + n_val])
    train = sorted(ordered[i] for i in perm[n_test + n_val :])
    return train, val, test


def provenance_manifest(train: list[str], validation: list[str], test: list[str]) -> ProvenanceManifest:
    """The card's provenance manifest: Weinstock 2016 patient ids, dataset-qualified and hashed, by role."""
    return ProvenanceManifest.build(
        id_kind="patient",
        datasets=[DATASET_DESCRIPTION],
        members={
            "train": [(DATASET, p) for p in train],
            "validation": [(DATASET, p) for p in validation],
            "test": [(DATASET, p) for p in test],
        },
        split=SPLIT_SENTENCE,
    )


def rebuild_provenance(data: Path, model_dir: Path) -> ProvenanceManifest:
    """Rebuild the shipped card's manifest from the same seeded patient split, without retraining.

    Checks that the split reproduces the card's patient counts and its recorded validation/test ids, and that the
    weights' sha256 is unchanged, then writes the card with the manifest.

    Raises:
        ModelCardError: the split does not reproduce the card, or the weights differ from the card's hash.
    """
    from dataclasses import replace

    from medai_core.errors import ModelCardError
    from medai_core.models.card import read_card, write_card
    from medai_core.models.registry import file_sha256

    card = read_card(model_dir)
    weights = Path(model_dir) / card.weights_file
    if file_sha256(weights) != card.weights_sha256:
        raise ModelCardError(f"{weights.name}: the weights differ from the card's sha256; the card cannot be rebuilt")
    train, validation, test = split_patients(list(grids_by_patient(read_research_table(data))))
    counts = {"train": len(train), "validation": len(validation), "test": len(test)}
    recorded = card.artifacts.get("split", {})
    if (
        counts != dict(card.training_data.get("patients", {}))
        or sorted(test) != sorted(recorded.get("test_patient_ids", []))
        or sorted(validation) != sorted(recorded.get("validation_patient_ids", []))
    ):
        raise ModelCardError(f"the seeded split of {Path(data).name} does not reproduce the card's split {counts}")
    manifest = provenance_manifest(train, validation, test)
    write_card(replace(card, provenance=manifest.to_dict()), model_dir)
    return manifest


def build_model(hidden: int = 256) -> keras.Model:
    """The forecaster: an MLP over the flattened window with a linear skip to the median, ordered quantiles.

    Input float32 (INPUT_STEPS, INPUT_CHANNELS); output float32 (OUTPUT_SIZE,) = [p10 (12), p50 (12), p90 (12),
    hypoglycaemia logits (3)] with p10 <= p50 <= p90 by construction (softplus widths).
    """
    import keras
    from keras import layers

    inputs = keras.Input((INPUT_STEPS, INPUT_CHANNELS), name="window")
    flat = layers.Flatten(name="flatten")(inputs)
    h = layers.Dense(hidden, activation="relu", name="dense_1")(flat)
    h = layers.Dense(hidden, activation="relu", name="dense_2")(h)
    h = layers.Dense(hidden // 2, activation="relu", name="dense_3")(h)
    median = layers.Add(name="median")(
        [layers.Dense(HORIZON_STEPS, name="median_linear")(flat), layers.Dense(HORIZON_STEPS, name="median_mlp")(h)]
    )
    lower_width = layers.Dense(HORIZON_STEPS, activation="softplus", name="lower_width")(h)
    upper_width = layers.Dense(HORIZON_STEPS, activation="softplus", name="upper_width")(h)
    p10 = layers.Subtract(name="p10")([median, lower_width])
    p90 = layers.Add(name="p90")([median, upper_width])
    hypo = layers.Dense(len(HYPO_KEYS), name="hypo_logits")(h)
    outputs = layers.Concatenate(name="forecast")([p10, median, p90, hypo])
    return keras.Model(inputs, outputs, name=MODEL_ID)


def _loss(y_true: Any, y_pred: Any) -> Any:
    """Pinball loss of the three quantiles (change from last reading, DELTA_SCALE units) + hypo cross-entropy.

    The central output also carries 0.1 x squared error (see the card), so it sits between median and mean.
    """
    from keras import ops

    h = HORIZON_STEPS
    target = y_true[:, :h]
    total = 0.0
    for k, q in enumerate(QUANTILES):
        err = target - y_pred[:, k * h : (k + 1) * h]
        total = total + ops.mean(ops.maximum(q * err, (q - 1.0) * err))
    # a small squared-error term pulls the central forecast towards the conditional mean, which RMSE rewards
    central = target - y_pred[:, h : 2 * h]
    total = total + 0.1 * ops.mean(central * central)
    labels = y_true[:, h:]
    logits = y_pred[:, 3 * h :]
    bce = ops.mean(ops.maximum(logits, 0.0) - logits * labels + ops.log1p(ops.exp(-ops.abs(logits))))
    return total + 0.5 * bce


def _training_targets(windows: WindowSet) -> NDArray[np.float32]:
    deltas = (windows.y - windows.last[:, None]) / DELTA_SCALE
    return np.concatenate([deltas, hypo_labels(windows.y)], axis=1).astype(np.float32)


def _fit_ridge(windows: WindowSet, alpha: float = 1.0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    from sklearn.linear_model import Ridge

    glucose = windows.x[:, :, 0].astype(np.float64) * LEVEL_SCALE + LEVEL_CENTER
    ridge = Ridge(alpha=alpha).fit(glucose, windows.y)
    return ridge.coef_.T.copy(), ridge.intercept_.copy()


def _fit_logistic_1d(score: NDArray[np.float64], labels: NDArray[np.float64]) -> list[float]:
    from sklearn.linear_model import LogisticRegression

    if labels.min() == labels.max():
        return [0.0, float(np.log((labels.mean() + 1e-3) / (1 - labels.mean() + 1e-3)))]
    lr = LogisticRegression(C=1e4, max_iter=1000).fit(score[:, None], labels)
    return [float(lr.coef_[0, 0]), float(lr.intercept_[0])]


def _conformal_margins(windows: WindowSet, raw: NDArray[np.float32], coverage: float = 0.8) -> NDArray[np.float64]:
    """Per-step CQR margins (Romano et al. 2019) so that [p10 - m, p90 + m] covers ``coverage`` on validation."""
    batch = decode_outputs(raw, windows.last, None)
    scores = np.maximum(batch.p10 - windows.y, windows.y - batch.p90)
    n = scores.shape[0]
    level = min(1.0, coverage * (1.0 + 1.0 / n))
    return np.quantile(scores, level, axis=0)


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train_glucose` produced: the written card's metrics and the test evaluation."""

    out_dir: Path
    evaluation: Evaluation
    test_patients: list[str]
    seconds: float


def _fmt(evaluation: Evaluation) -> dict[str, Any]:
    def rounded(d: dict[str, float]) -> dict[str, float]:
        return {k: round(v, 4) for k, v in d.items()}

    return {
        "patients": evaluation.patients,
        "windows": evaluation.windows,
        "model": rounded(evaluation.model),
        "last_value": rounded(evaluation.last_value),
        "linear_regression": rounded(evaluation.linear),
        "hypo_model": {k: rounded(v) for k, v in evaluation.hypo_model.items()},
        "hypo_baseline_last_value": {k: rounded(v) for k, v in evaluation.hypo_baseline.items()},
        "hypo_model_last_reading_ge_70": {k: rounded(v) for k, v in evaluation.hypo_model_from_70.items()},
        "hypo_baseline_last_reading_ge_70": {k: rounded(v) for k, v in evaluation.hypo_baseline_from_70.items()},
    }


def train_glucose(
    data: Path,
    out_dir: Path,
    *,
    epochs: int = 40,
    log: Callable[[str], None] = print,
    max_train_windows: int = MAX_TRAIN_WINDOWS,
) -> TrainResult:
    """Train, calibrate, evaluate on held-out patients and save ``models/glucose_forecast``.

    Args:
        data: an ``id, time, gl`` table (Weinstock 2016 from GlucoBench).
        out_dir: the model folder to write (its name must be ``glucose_forecast``).
        epochs: maximum epochs (early stopping on validation patients, patience 5).
        log: progress printer.
        max_train_windows: training windows are subsampled to at most this many.
    """
    import keras
    import tensorflow as tf

    from medai_core.models import HeadlineMetric, ModelCard, save_model
    from medai_core.models.runtime import configure_runtime

    start = time.perf_counter()
    configure_runtime()
    try:  # the shared CPU: two threads (only possible before TensorFlow's first op in this process)
        tf.config.threading.set_intra_op_parallelism_threads(2)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        log("TensorFlow already initialised in this process; keeping its thread settings")
    keras.utils.set_random_seed(SEED)

    frame = read_research_table(data)
    grids = grids_by_patient(frame)
    train_ids, val_ids, test_ids = split_patients(list(grids))
    log(f"patients: {len(train_ids)} train, {len(val_ids)} validation, {len(test_ids)} test")
    train_w = collect_windows({p: grids[p] for p in train_ids}, spacing=2, require_observed_targets=False)
    if len(train_w) > max_train_windows:
        keep = np.sort(np.random.default_rng(SEED).choice(len(train_w), max_train_windows, replace=False))
        train_w = WindowSet(
            train_w.patient[keep], train_w.origin_time[keep], train_w.x[keep], train_w.last[keep], train_w.y[keep]
        )
    val_w = collect_windows({p: grids[p] for p in val_ids}, spacing=3)
    test_w = collect_windows({p: grids[p] for p in test_ids})
    log(f"windows: {len(train_w)} train, {len(val_w)} validation, {len(test_w)} test")

    coef, intercept = _fit_ridge(train_w)
    hypo_train = hypo_labels(train_w.y)
    hypo_base = np.array([_fit_logistic_1d(train_w.last, hypo_train[:, i]) for i in range(len(HYPO_KEYS))])

    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=_loss)
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2),
        keras.callbacks.LambdaCallback(
            on_epoch_end=lambda e, logs: log(
                f"epoch {e + 1}: loss {logs['loss']:.4f} val_loss {logs['val_loss']:.4f} "
                f"({time.perf_counter() - start:.0f} s)"
            )
        ),
    ]
    model.fit(
        train_w.x,
        _training_targets(train_w),
        validation_data=(val_w.x, _training_targets(val_w)),
        epochs=epochs,
        batch_size=512,
        callbacks=callbacks,
        verbose=0,
    )

    def predict(x: NDArray[np.float32]) -> NDArray[np.float32]:
        return np.asarray(model.predict(x, batch_size=4096, verbose=0), dtype=np.float32)

    val_raw = predict(val_w.x)
    margins = _conformal_margins(val_w, val_raw)
    val_logits = val_raw[:, 3 * HORIZON_STEPS :].astype(np.float64)
    val_labels = hypo_labels(val_w.y)
    platt = np.array([_fit_logistic_1d(val_logits[:, i], val_labels[:, i]) for i in range(len(HYPO_KEYS))])
    params = ForecastParams(margins, platt, coef, intercept, hypo_base)

    evaluation = evaluate_windows(predict, params, test_w)
    metrics = _fmt(evaluation)
    log(f"held-out test: {metrics}")

    artifacts = params.to_artifacts() | {
        "split": {"seed": SEED, "test_patient_ids": test_ids, "validation_patient_ids": val_ids},
        "preprocessing": {
            "grid_minutes": 5,
            "max_interpolated_gap_minutes": 15,
            "input_steps": INPUT_STEPS,
            "horizon_steps": HORIZON_STEPS,
            "level_center_mg_dl": LEVEL_CENTER,
            "level_scale_mg_dl": LEVEL_SCALE,
            "delta_scale_mg_dl": DELTA_SCALE,
        },
    }
    card = ModelCard(
        id=MODEL_ID,
        version=MODEL_VERSION,
        name="CGM 60-minute quantile forecaster with hypoglycaemia risk",
        task="glucose forecast 5-60 min (p10/p50/p90) and P(<70 within 30/60 min, <54 within 60 min)",
        domain="glucose",
        intended_use=(
            "Research use only: shows clinicians and researchers a probabilistic short-term forecast of a CGM "
            "trace from adults with type 1 diabetes, with its uncertainty and backtest on the same patient. "
            "Not for dosing or treatment decisions."
        ),
        out_of_scope=(
            "Insulin dosing, alarms or any real-time treatment decision; children; pregnancy; people without "
            "type 1 diabetes (not validated); sensors or settings that differ from 5-minute Dexcom-like CGMs "
            "(15-minute Libre histories are interpolated and less reliable)."
        ),
        training_data={
            "source": "Weinstock et al. 2016, Jaeb Center study of severe hypoglycaemia in older adults with T1D, "
            "as processed by GlucoBench (Sergazinov et al., ICLR 2024; IrinaStatsLab/GlucoBench)",
            "citation": "Weinstock RS et al. J Clin Endocrinol Metab 2016;101(8):3096-3104",
            "patients": {"train": len(train_ids), "validation": len(val_ids), "test": len(test_ids)},
            "windows": {"train": len(train_w), "validation": len(val_w), "test": len(test_w)},
            "split": "by patient, fixed seed; validation patients used for early stopping and calibration only",
        },
        inputs={
            "tensors": [
                {
                    "name": "window",
                    "shape": [INPUT_STEPS, INPUT_CHANNELS],
                    "dtype": "float32",
                    "units": "channels: (g-140)/60, (g-g_last)/25 (mg/dL), sin and cos of time of day",
                }
            ],
            "preprocessing": "5-minute grid anchored at the first reading, duplicates averaged, gaps <= 15 min "
            "linearly interpolated, longer gaps not; the 36 points (3 h) ending at the last reading",
        },
        outputs={
            "shape": [OUTPUT_SIZE],
            "meaning": "[p10 x12, p50 x12, p90 x12] change from the last reading in units of 25 mg/dL at "
            "5..60 min, then logits for " + ", ".join(HYPO_KEYS),
            "postprocessing": "add conformal margins to the band; Platt-scale the logits (artifacts)",
        },
        headline=HeadlineMetric(
            name="RMSE (mg/dL, mean over 12 steps of 5..60 min)",
            value=round(evaluation.model["rmse_avg"], 2),
            split=f"held-out patients ({evaluation.patients}), origins every 30 min",
            baseline_name="linear regression on the same window",
            baseline_value=round(evaluation.linear["rmse_avg"], 2),
        ),
        metrics=metrics,
        calibration={
            "interval": "conformalized quantile regression margins per step, fitted on validation patients",
            "coverage_80_test": round(evaluation.model["coverage_80"], 4),
            "hypo": "Platt scaling of each logit on validation patients",
            "brier_test": {k: round(v["brier"], 4) for k, v in evaluation.hypo_model.items()},
        },
        limitations=(
            "Trained on adults aged 60+ with type 1 diabetes; other populations are not validated.",
            "No insulin, meal or exercise inputs: sudden changes after meals or boluses are not anticipated.",
            "Only a 3-hour window: forecasts after long gaps are unavailable until 3 hours of data exist.",
            "Timestamps were shifted by the data publisher; time of day is taken as given.",
            "Sensor readings are limited to 40-400 mg/dL; values beyond are clipped.",
        ),
        weights_file="model.keras",
        weights_sha256="0" * 64,
        created=dt.date.today().isoformat(),
        training_command="python -m medai_core train glucose --data ../shared/data/cgm/glucobench/weinstock2016.csv.gz",
        artifacts=artifacts,
        provenance=provenance_manifest(train_ids, val_ids, test_ids).to_dict(),
    )
    save_model(model, card, out_dir)
    seconds = time.perf_counter() - start
    log(f"saved {out_dir} in {seconds:.0f} s")
    return TrainResult(Path(out_dir), evaluation, test_ids, seconds)
