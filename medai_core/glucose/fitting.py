"""Fitting the glucose forecaster: the training loss and targets, the candidates' fit, the ridge and logistic
baselines, the calibration (conformal margins, Platt scaling) and the window-set helpers that training uses.

Public so that :mod:`medai_core.glucose.train` reads as the protocol it runs, step by step, without private helpers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from medai_core.domains import GLUCOSE
from medai_core.glucose.architectures import ARCHITECTURES, average_models
from medai_core.glucose.cohorts import SEED
from medai_core.glucose.evaluation import WindowSet
from medai_core.glucose.forecast import HYPO_KEYS, ForecastParams, decode_outputs, hypo_labels
from medai_core.glucose.prepare import DELTA_SCALE, HORIZON_STEPS, LEVEL_CENTER, LEVEL_SCALE

if TYPE_CHECKING:
    import keras

__all__ = [
    "QUANTILES",
    "calibrate",
    "concat",
    "conformal_margins",
    "fit_candidate",
    "fit_logistic_1d",
    "fit_ridge",
    "for_saving",
    "forecast_loss",
    "predictor",
    "qualified",
    "reference_model",
    "subsample",
    "training_targets",
]

QUANTILES = (0.1, 0.5, 0.9)


def forecast_loss(y_true: Any, y_pred: Any) -> Any:
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


def training_targets(windows: WindowSet) -> NDArray[np.float32]:
    deltas = (windows.y - windows.last[:, None]) / DELTA_SCALE
    return np.concatenate([deltas, hypo_labels(windows.y)], axis=1).astype(np.float32)


def fit_ridge(windows: WindowSet, alpha: float = 1.0) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    from sklearn.linear_model import Ridge

    glucose = windows.x[:, :, 0].astype(np.float64) * LEVEL_SCALE + LEVEL_CENTER
    ridge = Ridge(alpha=alpha).fit(glucose, windows.y)
    return ridge.coef_.T.copy(), ridge.intercept_.copy()


def fit_logistic_1d(score: NDArray[np.float64], labels: NDArray[np.float64]) -> list[float]:
    from sklearn.linear_model import LogisticRegression

    if labels.min() == labels.max():
        return [0.0, float(np.log((labels.mean() + 1e-3) / (1 - labels.mean() + 1e-3)))]
    lr = LogisticRegression(C=1e4, max_iter=1000).fit(score[:, None], labels)
    return [float(lr.coef_[0, 0]), float(lr.intercept_[0])]


def conformal_margins(windows: WindowSet, raw: NDArray[np.float32], coverage: float = 0.8) -> NDArray[np.float64]:
    """Per-step CQR margins (Romano et al. 2019) so that [p10 - m, p90 + m] covers ``coverage`` on validation."""
    batch = decode_outputs(raw, windows.last, None)
    scores = np.maximum(batch.p10 - windows.y, windows.y - batch.p90)
    n = scores.shape[0]
    level = min(1.0, coverage * (1.0 + 1.0 / n))
    return np.quantile(scores, level, axis=0)


def subsample(windows: WindowSet, keep_n: int, seed: int = SEED) -> WindowSet:
    if len(windows) <= keep_n:
        return windows
    keep = np.sort(np.random.default_rng(seed).choice(len(windows), keep_n, replace=False))
    return WindowSet(
        windows.patient[keep], windows.origin_time[keep], windows.x[keep], windows.last[keep], windows.y[keep]
    )


def concat(parts: Sequence[WindowSet]) -> WindowSet:
    return WindowSet(
        *(np.concatenate([getattr(w, f) for w in parts]) for f in ("patient", "origin_time", "x", "last", "y"))
    )


def qualified(windows: WindowSet, dataset: str) -> WindowSet:
    """The same windows with patient ids qualified by data set (``colas2019:1`` is not ``weinstock2016:1``)."""
    patient = np.char.add(f"{dataset}:", windows.patient.astype(str))
    return WindowSet(patient, windows.origin_time, windows.x, windows.last, windows.y)


def fit_candidate(
    name: str,
    train_w: WindowSet,
    val_w: WindowSet,
    *,
    epochs: int,
    log: Callable[[str], None],
) -> keras.Model:
    import keras

    keras.utils.set_random_seed(SEED)
    model = ARCHITECTURES[name](name=name)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=forecast_loss)
    start = time.perf_counter()
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=4, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2),
        keras.callbacks.LambdaCallback(
            on_epoch_end=lambda e, logs: log(
                f"{name} epoch {e + 1}: loss {logs['loss']:.4f} val_loss {logs['val_loss']:.4f} "
                f"({time.perf_counter() - start:.0f} s)"
            )
        ),
    ]
    model.fit(
        train_w.x,
        training_targets(train_w),
        validation_data=(val_w.x, training_targets(val_w)),
        epochs=epochs,
        batch_size=512,
        callbacks=callbacks,
        verbose=0,
    )
    return model


def for_saving(chosen: str, models: Mapping[str, keras.Model]) -> keras.Model:
    """An uncompiled copy of the chosen candidate named after the model id (loads with no custom objects: no loss)."""
    import keras

    members = []
    for name in chosen.split("+"):
        fresh = ARCHITECTURES[name](name=name)
        fresh.set_weights(models[name].get_weights())
        members.append(fresh)
    if len(members) == 1:
        return keras.Model(members[0].inputs, members[0].outputs, name=GLUCOSE.model_id)
    return average_models(members, name=GLUCOSE.model_id)


def predictor(model: keras.Model) -> Callable[[NDArray[np.float32]], NDArray[np.float32]]:
    def predict(x: NDArray[np.float32]) -> NDArray[np.float32]:
        return np.asarray(model.predict(x, batch_size=4096, verbose=0), dtype=np.float32)

    return predict


def calibrate(
    predict: Callable[[NDArray[np.float32]], NDArray[np.float32]],
    val_w_by: Mapping[str, WindowSet],
    coef: NDArray[np.float64],
    intercept: NDArray[np.float64],
    hypo_base: NDArray[np.float64],
) -> ForecastParams:
    """Conformal margins and Platt scaling on validation patients.

    The margin of each step is the largest of the data sets' own CQR margins, so the band covers at least 80 % in
    every data set (a pooled margin under-covers the most variable one, Weinstock's T1D, and over-covers the rest).
    """
    parts = [w for w in val_w_by.values() if len(w)]
    margins = np.max([conformal_margins(w, predict(w.x)) for w in parts], axis=0)
    val_w = concat(parts)
    val_raw = predict(val_w.x)
    val_logits = val_raw[:, 3 * HORIZON_STEPS :].astype(np.float64)
    val_labels = hypo_labels(val_w.y)
    platt = np.array([fit_logistic_1d(val_logits[:, i], val_labels[:, i]) for i in range(len(HYPO_KEYS))])
    return ForecastParams(margins, platt, coef, intercept, hypo_base)


def reference_model(reference_dir: Path | None) -> tuple[str, Any, ForecastParams] | None:
    """The model shipped before this run (e.g. 1.0.0), scored beside the candidates on the same windows."""
    if reference_dir is None or not (Path(reference_dir) / "model_card.json").exists():
        return None
    from medai_core.glucose.forecast import params_from_artifacts
    from medai_core.models import load_model

    loaded = load_model(Path(reference_dir).name, models_dir=Path(reference_dir).parent)
    return f"shipped {loaded.card.version}", loaded.predict, params_from_artifacts(loaded.card.artifacts)
