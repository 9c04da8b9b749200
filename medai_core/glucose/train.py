"""Training and held-out evaluation of the glucose forecaster on GlucoBench's CGM cohorts.

Reproduce with ``python -m medai_core train glucose --data ../shared/data/cgm/glucobench`` (a folder: Weinstock 2016,
Colas 2019 and Hall 2018, each ``<name>.csv.gz``; one ``id, time, gl`` file trains on that data set alone).

Protocol: inside each data set, patients (never readings) are split with the same fixed seed into training
(~68 %), validation (~12 %, early stopping, model selection and every calibration) and test (20 %, reported once);
Weinstock's split is the one of the 1.0.0 card, so its test patients stay comparable. Windows: 3 hours of 5-minute
readings (short gaps <= 15 min interpolated) and the next 60 minutes. Training windows start every 10 minutes
(subsampled); validation and test origins are at least 30 minutes apart, and their targets are observed readings
only. Candidates (:mod:`medai_core.glucose.architectures`: the MLP, a TCN and their average) are trained on the
pooled training windows with the same loss; the one with the lowest validation RMSE (mean over data sets) is
calibrated and shipped. The baselines (last value carried forward; ridge regression on the same window) are
fitted on the same training windows, and every candidate and baseline is scored on the same test windows of each
data set with paired bootstrap intervals by patient.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from medai_core.glucose.architectures import average_models
from medai_core.glucose.card import build_card
from medai_core.glucose.cohorts import DATASET, SEED, Splits, load_cohorts, split_patients
from medai_core.glucose.evaluation import (
    Evaluation,
    WindowSet,
    collect_windows,
    evaluate_windows,
    patient_bootstrap,
    rmse_avg,
)
from medai_core.glucose.fitting import (
    calibrate,
    concat,
    fit_candidate,
    fit_logistic_1d,
    fit_ridge,
    for_saving,
    predictor,
    qualified,
    reference_model,
    subsample,
)
from medai_core.glucose.forecast import HYPO_KEYS, ForecastParams, decode_outputs, hypo_labels, linear_baseline
from medai_core.glucose.prepare import HORIZON_STEPS, Grid

if TYPE_CHECKING:
    import keras

__all__ = ["CANDIDATES", "MAX_TRAIN_WINDOWS", "TrainResult", "train_glucose"]

MAX_TRAIN_WINDOWS = 160_000
CANDIDATES: tuple[str, ...] = ("mlp", "tcn")
"""Architectures trained; their average (``mlp+tcn``) is a candidate as well."""


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train_glucose` produced.

    Attributes:
        out_dir: the model folder written.
        evaluation: the shipped candidate on the reference data set's test patients (Weinstock when present).
        test_patients: those patients' ids.
        seconds: wall time of the whole run.
        chosen: the shipped candidate's name (``mlp``, ``tcn`` or ``mlp+tcn``).
        comparison: data set -> name -> paired bootstrap scores on that data set's test patients (see
            :func:`~medai_core.glucose.evaluation.patient_bootstrap`; reference ``linear_regression``).
        evaluations: data set -> the shipped candidate's evaluation on its test patients.
        train_seconds: candidate -> training seconds.
    """

    out_dir: Path
    evaluation: Evaluation
    test_patients: list[str]
    seconds: float
    chosen: str = "mlp"
    comparison: Mapping[str, Mapping[str, Mapping[str, float]]] = field(default_factory=dict)
    evaluations: Mapping[str, Evaluation] = field(default_factory=dict)
    train_seconds: Mapping[str, float] = field(default_factory=dict)


def train_glucose(
    data: Path,
    out_dir: Path,
    *,
    epochs: int = 45,
    log: Callable[[str], None] = print,
    max_train_windows: int = MAX_TRAIN_WINDOWS,
    candidates: Sequence[str] = CANDIDATES,
    reference_dir: Path | None = None,
) -> TrainResult:
    """Train the candidates, pick one on validation patients, calibrate, compare on test patients and save.

    Args:
        data: a folder of GlucoBench ``<name>.csv.gz`` tables (see :data:`~medai_core.glucose.cohorts.DATASETS`)
            or one ``id, time, gl`` table.
        out_dir: the model folder to write (its name must be ``glucose_forecast``).
        epochs: maximum epochs per candidate (early stopping on validation patients, patience 4).
        log: progress printer.
        max_train_windows: pooled training windows are subsampled to at most this many (seeded).
        candidates: architectures to train (names of :data:`~medai_core.glucose.architectures.ARCHITECTURES`);
            with two or more, their average is a candidate too.
        reference_dir: a model folder (e.g. the shipped one) scored on the same test windows for comparison.
    """
    from medai_core.models import save_model

    start = time.perf_counter()
    _configure_tensorflow(log)
    reference = reference_model(reference_dir)

    cohorts = load_cohorts(data, log)
    splits = {name: split_patients(list(grids)) for name, grids in cohorts.items()}
    windows = _windows(cohorts, splits, max_train_windows, log)
    baseline = _linear_baseline(windows.train)
    models, train_seconds = _train_candidates(candidates, windows, epochs, log)
    selection, chosen = _select(models, windows.validation, log)
    params_by = {
        name: calibrate(
            predictor(m), windows.validation, baseline.linear_coef, baseline.linear_intercept, baseline.hypo_baseline
        )
        for name, m in models.items()
    }
    comparison, evaluations = _compare_on_test(models, params_by, chosen, windows.test, baseline, reference, log)

    headline_ds = DATASET if DATASET in evaluations else next(iter(evaluations))
    evaluation = evaluations[headline_ds]
    params = params_by[chosen]
    final = for_saving(chosen, models)
    card = build_card(
        evaluation=evaluation,
        evaluations=evaluations,
        comparison=comparison,
        selection=selection,
        chosen=chosen,
        params=params,
        splits=splits,
        windows={"train": len(windows.train), "validation": len(windows.pooled_validation)}
        | {f"test_{ds}": len(w) for ds, w in windows.test.items()},
        train_seconds=train_seconds,
        headline_ds=headline_ds,
        single_file=not Path(data).is_dir(),
        data=Path(data),
    )
    save_model(final, card, out_dir)
    seconds = time.perf_counter() - start
    log(f"saved {out_dir} in {seconds:.0f} s")
    return TrainResult(
        Path(out_dir),
        evaluation,
        splits[headline_ds][2],
        seconds,
        chosen=chosen,
        comparison=comparison,
        evaluations=evaluations,
        train_seconds=train_seconds,
    )


def _configure_tensorflow(log: Callable[[str], None]) -> None:
    """The runtime, two threads on the shared CPU, and the seed."""
    import keras
    import tensorflow as tf

    from medai_core.models.runtime import configure_runtime

    configure_runtime()
    try:  # the shared CPU: two threads (only possible before TensorFlow's first op in this process)
        tf.config.threading.set_intra_op_parallelism_threads(2)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        log("TensorFlow already initialised in this process; keeping its thread settings")
    keras.utils.set_random_seed(SEED)


@dataclass(frozen=True)
class _Windows:
    """The windows of one run: pooled training windows (subsampled), validation and test windows by data set."""

    train: WindowSet
    validation: Mapping[str, WindowSet]
    pooled_validation: WindowSet
    test: Mapping[str, WindowSet]


def _windows(
    cohorts: Mapping[str, Mapping[str, Grid]], splits: Splits, max_train: int, log: Callable[[str], None]
) -> _Windows:
    """Training windows every 10 minutes (targets may be interpolated), validation and test windows at least 30
    minutes apart with observed targets; training and validation patient ids qualified with their data set."""
    train_parts, val_w_by, test_w_by = [], {}, {}
    for name, grids in cohorts.items():
        tr, va, te = splits[name]
        log(f"{name}: {len(tr)} train, {len(va)} validation, {len(te)} test patients")
        train_parts.append(
            qualified(collect_windows({p: grids[p] for p in tr}, spacing=2, require_observed_targets=False), name)
        )
        val_w_by[name] = qualified(collect_windows({p: grids[p] for p in va}, spacing=3), name)
        test_w_by[name] = collect_windows({p: grids[p] for p in te})
    train_w = subsample(concat(train_parts), max_train)
    val_w = concat(list(val_w_by.values()))
    log(
        f"windows: {len(train_w)} train, {len(val_w)} validation, "
        + ", ".join(f"{len(w)} {n} test" for n, w in test_w_by.items())
    )
    return _Windows(train_w, val_w_by, val_w, test_w_by)


def _linear_baseline(train_w: WindowSet) -> ForecastParams:
    """Ridge regression on the window and a logistic model of the last reading per hypoglycaemia event."""
    coef, intercept = fit_ridge(train_w)
    hypo_train = hypo_labels(train_w.y)
    hypo_base = np.array([fit_logistic_1d(train_w.last, hypo_train[:, i]) for i in range(len(HYPO_KEYS))])
    return ForecastParams(np.zeros(HORIZON_STEPS), np.zeros((len(HYPO_KEYS), 2)), coef, intercept, hypo_base)


def _train_candidates(
    candidates: Sequence[str], windows: _Windows, epochs: int, log: Callable[[str], None]
) -> tuple[dict[str, keras.Model], dict[str, float]]:
    """Each candidate trained on the pooled training windows (and their average with two or more): the models and
    their training seconds."""
    models: dict[str, keras.Model] = {}
    train_seconds: dict[str, float] = {}
    for name in candidates:
        t0 = time.perf_counter()
        models[name] = fit_candidate(name, windows.train, windows.pooled_validation, epochs=epochs, log=log)
        train_seconds[name] = round(time.perf_counter() - t0, 1)
        log(f"{name}: trained in {train_seconds[name]:.0f} s")
    if len(candidates) > 1:
        models["+".join(candidates)] = average_models([models[n] for n in candidates], name="ensemble")
    return models, train_seconds


def _select(
    models: Mapping[str, keras.Model], val_w_by: Mapping[str, WindowSet], log: Callable[[str], None]
) -> tuple[dict[str, dict[str, float]], str]:
    """Model selection on validation patients: mean over data sets of the 12-step RMSE of the raw median.

    Returns:
        (candidate -> data set -> validation RMSE, the chosen candidate).
    """
    selection: dict[str, dict[str, float]] = {}
    for name, model in models.items():
        predict = predictor(model)
        selection[name] = {
            ds: rmse_avg(w.y, decode_outputs(predict(w.x), w.last, None).p50) for ds, w in val_w_by.items() if len(w)
        }
        log(f"validation RMSE {name}: " + ", ".join(f"{ds} {v:.2f}" for ds, v in selection[name].items()))
    chosen = min(selection, key=lambda n: float(np.mean(list(selection[n].values()))))
    log(f"chosen on validation patients: {chosen}")
    return selection, chosen


def _compare_on_test(
    models: Mapping[str, keras.Model],
    params_by: Mapping[str, ForecastParams],
    chosen: str,
    test_w_by: Mapping[str, WindowSet],
    baseline: ForecastParams,
    reference: tuple[str, Any, ForecastParams] | None,
    log: Callable[[str], None],
) -> tuple[dict[str, dict[str, dict[str, float]]], dict[str, Evaluation]]:
    """Every candidate, both baselines (and the reference model) on each data set's test windows.

    Returns:
        (data set -> name -> paired patient-bootstrap scores against linear regression and last value, data set ->
        the chosen candidate's evaluation).
    """
    comparison: dict[str, dict[str, dict[str, float]]] = {}
    evaluations: dict[str, Evaluation] = {}
    for ds, w in test_w_by.items():
        if len(w) == 0:
            continue
        forecasts: dict[str, NDArray[np.float64]] = {
            "last_value": np.repeat(w.last[:, None], HORIZON_STEPS, axis=1),
            "linear_regression": linear_baseline(w.x, baseline),
        }
        for name, model in models.items():
            ev = evaluate_windows(predictor(model), params_by[name], w)
            forecasts[name] = ev.forecasts.p50
            if name == chosen:
                evaluations[ds] = ev
        if reference is not None:
            ref_name, ref_predict, ref_params = reference
            forecasts[ref_name] = evaluate_windows(ref_predict, ref_params, w).forecasts.p50
        comparison[ds] = _paired_table(w, forecasts)
        for name, row in comparison[ds].items():
            log(
                f"test {ds} {name}: RMSE {row['rmse_avg']:.2f} [{row['low']:.2f}, {row['high']:.2f}]; vs linear "
                f"{row['diff']:+.2f} [{row['diff_low']:+.2f}, {row['diff_high']:+.2f}]; vs last value "
                f"{row['diff_vs_last_value']:+.2f}"
            )
    return comparison, evaluations


def _paired_table(w: WindowSet, forecasts: Mapping[str, NDArray[np.float64]]) -> dict[str, dict[str, float]]:
    """Paired patient-bootstrap scores of each forecast against linear regression, with the difference against the
    last value beside it."""
    table = patient_bootstrap(w.patient, w.y, forecasts, "linear_regression", seed=SEED)
    versus_last = patient_bootstrap(w.patient, w.y, forecasts, "last_value", seed=SEED)
    for name in table:
        table[name]["diff_vs_last_value"] = versus_last[name]["diff"]
        table[name]["diff_vs_last_value_low"] = versus_last[name]["diff_low"]
        table[name]["diff_vs_last_value_high"] = versus_last[name]["diff_high"]
        table[name]["patients"] = float(len(set(w.patient.tolist())))
    return table
