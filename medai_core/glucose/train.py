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

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from medai_core.domains import GLUCOSE
from medai_core.glucose.architectures import ARCHITECTURES, average_models
from medai_core.glucose.evaluation import (
    Evaluation,
    WindowSet,
    collect_windows,
    evaluate_windows,
    patient_bootstrap,
    rmse_avg,
)
from medai_core.glucose.forecast import (
    HYPO_KEYS,
    OUTPUT_SIZE,
    ForecastParams,
    decode_outputs,
    hypo_labels,
    linear_baseline,
)
from medai_core.glucose.prepare import (
    DELTA_SCALE,
    HORIZON_STEPS,
    INPUT_CHANNELS,
    INPUT_STEPS,
    LEVEL_CENTER,
    LEVEL_SCALE,
    Grid,
)
from medai_core.glucose.readers import grids_by_patient, read_research_table
from medai_core.provenance import ProvenanceManifest

if TYPE_CHECKING:
    import keras

__all__ = [
    "CANDIDATES",
    "DATASET",
    "DATASETS",
    "MODEL_ID",
    "SEED",
    "TrainResult",
    "cohort_manifest",
    "load_cohorts",
    "provenance_manifest",
    "rebuild_provenance",
    "split_patients",
    "train_glucose",
]

MODEL_ID = GLUCOSE.model_id
MODEL_VERSION = "2.0.0"
SEED = 20240611
TEST_FRACTION = 0.20
VALIDATION_FRACTION = 0.15
MAX_TRAIN_WINDOWS = 160_000
QUANTILES = (0.1, 0.5, 0.9)
CANDIDATES: tuple[str, ...] = ("mlp", "tcn")
"""Architectures trained; their average (``mlp+tcn``) is a candidate as well."""
DATASET = "weinstock2016"
"""The reference data set (its test patients carry the card's headline); ids are qualified with the data set."""
DATASETS: dict[str, dict[str, str]] = {
    "weinstock2016": {
        "name": "weinstock2016",
        "version": "GlucoBench processed release (IrinaStatsLab/GlucoBench, weinstock2016.csv.gz: 170 patients)",
        "source": "Weinstock et al. 2016, Jaeb Center study of severe hypoglycaemia in older adults with T1D, as "
        "processed by GlucoBench (Sergazinov et al., ICLR 2024)",
        "citation": "Weinstock RS et al. J Clin Endocrinol Metab 2016;101(8):3096-3104",
    },
    "colas2019": {
        "name": "colas2019",
        "version": "GlucoBench processed release (IrinaStatsLab/GlucoBench, colas2019.csv.gz: 208 patients)",
        "source": "Colas et al. 2019, 2-3 days of CGM in adults at risk of type 2 diabetes (mostly without "
        "diabetes), as processed by GlucoBench (Sergazinov et al., ICLR 2024)",
        "citation": "Colas A, Vigil L, Vargas B, Cuesta-Frau D, Varela M. PLoS One 2019;14(12):e0225817",
    },
    "hall2018": {
        "name": "hall2018",
        "version": "GlucoBench processed release (IrinaStatsLab/GlucoBench, hall2018.csv.gz: 57 patients)",
        "source": "Hall et al. 2018, glucotypes: CGM of adults without diabetes, with prediabetes or type 2 "
        "diabetes, as processed by GlucoBench (Sergazinov et al., ICLR 2024)",
        "citation": "Hall H, Perelman D, Breschi A, et al. PLoS Biol 2018;16(7):e2005143",
    },
}
"""The data sets training knows (one table): name -> description written into the provenance manifest."""
DATASET_DESCRIPTION = DATASETS[DATASET]
SPLIT_SENTENCE = (
    f"by patient inside each data set with numpy default_rng({SEED}) over its sorted ids: 20 % test, 15 % of the "
    "rest validation (early stopping, model selection, conformal margins, Platt scaling), the rest training"
)
SPLIT_SENTENCE_1_0 = (
    f"by patient with numpy default_rng({SEED}) over the sorted ids: 20 % test, 15 % of the rest validation "
    "(early stopping, conformal margins, Platt scaling), the rest training"
)
"""The split as the 1.0.0 card (Weinstock only, one architecture) states it."""


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


Splits = Mapping[str, tuple[list[str], list[str], list[str]]]
"""data set -> (train, validation, test) patient ids."""


def cohort_manifest(splits: Splits, split_sentence: str = SPLIT_SENTENCE) -> ProvenanceManifest:
    """The card's provenance manifest: every data set's patient ids, dataset-qualified and hashed, by role."""
    return ProvenanceManifest.build(
        id_kind="patient",
        datasets=[DATASETS.get(name, {"name": name, "version": "unknown", "source": name}) for name in splits],
        members={
            role: [(name, p) for name, parts in splits.items() for p in parts[k]]
            for k, role in enumerate(("train", "validation", "test"))
        },
        split=split_sentence,
    )


def provenance_manifest(train: list[str], validation: list[str], test: list[str]) -> ProvenanceManifest:
    """The manifest of a Weinstock-only split (the 1.0.0 card)."""
    return cohort_manifest({DATASET: (train, validation, test)}, SPLIT_SENTENCE_1_0)


def dataset_of(path: Path) -> str:
    """The data set a ``<name>.csv[.gz]`` file holds, from its name (``weinstock2016.csv.gz`` -> ``weinstock2016``)."""
    from medai_core.glucose.datasets import dataset_name

    return dataset_name(path)


def load_cohorts(data: Path, log: Callable[[str], None] = print) -> dict[str, dict[str, Grid]]:
    """Grids by patient of each data set: a folder holding the known ``<name>.csv.gz`` files, or one file.

    Raises:
        CGMInputError: the folder holds none of the known data sets, or a file cannot be read.
    """
    from medai_core.errors import CGMInputError

    data = Path(data)
    if data.is_dir():
        found = {dataset_of(f): f for f in sorted(data.iterdir()) if f.is_file() and dataset_of(f) in DATASETS}
        ignored = sorted(f.name for f in data.iterdir() if f.is_file() and dataset_of(f) not in DATASETS)
        if ignored:
            log(f"ignored (not a known training data set): {', '.join(ignored)}")
        if not found:
            raise CGMInputError(
                f"{data.name}: none of the training data sets ({', '.join(DATASETS)}) as <name>.csv.gz in this folder."
            )
        files = {name: found[name] for name in DATASETS if name in found}
    else:
        files = {dataset_of(data): data}
    return {name: grids_by_patient(read_research_table(path)) for name, path in files.items()}


def rebuild_provenance(data: Path, model_dir: Path) -> ProvenanceManifest:
    """Rebuild the shipped card's manifest from the same seeded patient splits, without retraining.

    Checks that the splits reproduce the card's patient counts and its recorded validation/test ids, and that the
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
    cohorts = load_cohorts(data, log=lambda _: None)
    splits = {name: split_patients(list(grids)) for name, grids in cohorts.items()}
    recorded = card.artifacts.get("split", {})
    by_dataset = recorded.get("by_dataset")
    sentence = SPLIT_SENTENCE
    if by_dataset is None:  # the 1.0.0 card: Weinstock only
        sentence = SPLIT_SENTENCE_1_0
        by_dataset = {
            DATASET: {
                "test_patient_ids": recorded.get("test_patient_ids", []),
                "validation_patient_ids": recorded.get("validation_patient_ids", []),
            }
        }
    for name in set(splits) | set(by_dataset):
        if name not in splits or name not in by_dataset:
            raise ModelCardError(f"data set {name!r} is in the card or in {Path(data).name}, not in both")
        _, validation, test = splits[name]
        if sorted(test) != sorted(by_dataset[name].get("test_patient_ids", [])) or sorted(validation) != sorted(
            by_dataset[name].get("validation_patient_ids", [])
        ):
            raise ModelCardError(f"the seeded split of {name} does not reproduce the card's split")
    manifest = cohort_manifest({name: split for name, split in splits.items() if name in by_dataset}, sentence)
    write_card(replace(card, provenance=manifest.to_dict()), model_dir)
    return manifest


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


def _rounded(d: Mapping[str, float], digits: int = 4) -> dict[str, float]:
    return {k: round(float(v), digits) for k, v in d.items()}


def _fmt(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "patients": evaluation.patients,
        "windows": evaluation.windows,
        "model": _rounded(evaluation.model),
        "last_value": _rounded(evaluation.last_value),
        "linear_regression": _rounded(evaluation.linear),
        "hypo_model": {k: _rounded(v) for k, v in evaluation.hypo_model.items()},
        "hypo_baseline_last_value": {k: _rounded(v) for k, v in evaluation.hypo_baseline.items()},
        "hypo_model_last_reading_ge_70": {k: _rounded(v) for k, v in evaluation.hypo_model_from_70.items()},
        "hypo_baseline_last_reading_ge_70": {k: _rounded(v) for k, v in evaluation.hypo_baseline_from_70.items()},
    }


def _subsample(windows: WindowSet, keep_n: int, seed: int = SEED) -> WindowSet:
    if len(windows) <= keep_n:
        return windows
    keep = np.sort(np.random.default_rng(seed).choice(len(windows), keep_n, replace=False))
    return WindowSet(
        windows.patient[keep], windows.origin_time[keep], windows.x[keep], windows.last[keep], windows.y[keep]
    )


def _concat(parts: Sequence[WindowSet]) -> WindowSet:
    return WindowSet(
        *(np.concatenate([getattr(w, f) for w in parts]) for f in ("patient", "origin_time", "x", "last", "y"))
    )


def _qualified(windows: WindowSet, dataset: str) -> WindowSet:
    """The same windows with patient ids qualified by data set (``colas2019:1`` is not ``weinstock2016:1``)."""
    patient = np.char.add(f"{dataset}:", windows.patient.astype(str))
    return WindowSet(patient, windows.origin_time, windows.x, windows.last, windows.y)


def _fit_candidate(
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
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=_loss)
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
        _training_targets(train_w),
        validation_data=(val_w.x, _training_targets(val_w)),
        epochs=epochs,
        batch_size=512,
        callbacks=callbacks,
        verbose=0,
    )
    return model


def _for_saving(chosen: str, models: Mapping[str, keras.Model]) -> keras.Model:
    """An uncompiled copy of the chosen candidate named ``MODEL_ID`` (loads with no custom objects: no loss)."""
    import keras

    members = []
    for name in chosen.split("+"):
        fresh = ARCHITECTURES[name](name=name)
        fresh.set_weights(models[name].get_weights())
        members.append(fresh)
    if len(members) == 1:
        return keras.Model(members[0].inputs, members[0].outputs, name=MODEL_ID)
    return average_models(members, name=MODEL_ID)


def _predictor(model: keras.Model) -> Callable[[NDArray[np.float32]], NDArray[np.float32]]:
    def predict(x: NDArray[np.float32]) -> NDArray[np.float32]:
        return np.asarray(model.predict(x, batch_size=4096, verbose=0), dtype=np.float32)

    return predict


def _calibrate(
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
    margins = np.max([_conformal_margins(w, predict(w.x)) for w in parts], axis=0)
    val_w = _concat(parts)
    val_raw = predict(val_w.x)
    val_logits = val_raw[:, 3 * HORIZON_STEPS :].astype(np.float64)
    val_labels = hypo_labels(val_w.y)
    platt = np.array([_fit_logistic_1d(val_logits[:, i], val_labels[:, i]) for i in range(len(HYPO_KEYS))])
    return ForecastParams(margins, platt, coef, intercept, hypo_base)


def _reference_model(reference_dir: Path | None) -> tuple[str, Any, ForecastParams] | None:
    """The model shipped before this run (e.g. 1.0.0), scored beside the candidates on the same windows."""
    if reference_dir is None or not (Path(reference_dir) / "model_card.json").exists():
        return None
    from medai_core.glucose.forecast import params_from_artifacts
    from medai_core.models import load_model

    loaded = load_model(Path(reference_dir).name, models_dir=Path(reference_dir).parent)
    return f"shipped {loaded.card.version}", loaded.predict, params_from_artifacts(loaded.card.artifacts)


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
        data: a folder of GlucoBench ``<name>.csv.gz`` tables (see :data:`DATASETS`) or one ``id, time, gl`` table.
        out_dir: the model folder to write (its name must be ``glucose_forecast``).
        epochs: maximum epochs per candidate (early stopping on validation patients, patience 4).
        log: progress printer.
        max_train_windows: pooled training windows are subsampled to at most this many (seeded).
        candidates: architectures to train (names of :data:`~medai_core.glucose.architectures.ARCHITECTURES`);
            with two or more, their average is a candidate too.
        reference_dir: a model folder (e.g. the shipped one) scored on the same test windows for comparison.
    """
    import keras
    import tensorflow as tf

    from medai_core.models import save_model
    from medai_core.models.runtime import configure_runtime

    start = time.perf_counter()
    configure_runtime()
    try:  # the shared CPU: two threads (only possible before TensorFlow's first op in this process)
        tf.config.threading.set_intra_op_parallelism_threads(2)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        log("TensorFlow already initialised in this process; keeping its thread settings")
    keras.utils.set_random_seed(SEED)
    reference = _reference_model(reference_dir)

    cohorts = load_cohorts(data, log)
    splits = {name: split_patients(list(grids)) for name, grids in cohorts.items()}
    train_parts, val_w_by, test_w_by = [], {}, {}
    for name, grids in cohorts.items():
        tr, va, te = splits[name]
        log(f"{name}: {len(tr)} train, {len(va)} validation, {len(te)} test patients")
        train_parts.append(
            _qualified(collect_windows({p: grids[p] for p in tr}, spacing=2, require_observed_targets=False), name)
        )
        val_w_by[name] = _qualified(collect_windows({p: grids[p] for p in va}, spacing=3), name)
        test_w_by[name] = collect_windows({p: grids[p] for p in te})
    train_w = _subsample(_concat(train_parts), max_train_windows)
    val_w = _concat(list(val_w_by.values()))
    log(
        f"windows: {len(train_w)} train, {len(val_w)} validation, "
        + ", ".join(f"{len(w)} {n} test" for n, w in test_w_by.items())
    )

    coef, intercept = _fit_ridge(train_w)
    hypo_train = hypo_labels(train_w.y)
    hypo_base = np.array([_fit_logistic_1d(train_w.last, hypo_train[:, i]) for i in range(len(HYPO_KEYS))])
    lin_params = ForecastParams(np.zeros(HORIZON_STEPS), np.zeros((len(HYPO_KEYS), 2)), coef, intercept, hypo_base)

    models: dict[str, keras.Model] = {}
    train_seconds: dict[str, float] = {}
    for name in candidates:
        t0 = time.perf_counter()
        models[name] = _fit_candidate(name, train_w, val_w, epochs=epochs, log=log)
        train_seconds[name] = round(time.perf_counter() - t0, 1)
        log(f"{name}: trained in {train_seconds[name]:.0f} s")
    if len(candidates) > 1:
        models["+".join(candidates)] = average_models([models[n] for n in candidates], name="ensemble")

    # model selection on validation patients: mean over data sets of the 12-step RMSE of the raw median
    selection: dict[str, dict[str, float]] = {}
    for name, model in models.items():
        predict = _predictor(model)
        selection[name] = {
            ds: rmse_avg(w.y, decode_outputs(predict(w.x), w.last, None).p50) for ds, w in val_w_by.items() if len(w)
        }
        log(f"validation RMSE {name}: " + ", ".join(f"{ds} {v:.2f}" for ds, v in selection[name].items()))
    chosen = min(selection, key=lambda n: float(np.mean(list(selection[n].values()))))
    log(f"chosen on validation patients: {chosen}")

    params_by = {name: _calibrate(_predictor(m), val_w_by, coef, intercept, hypo_base) for name, m in models.items()}

    comparison: dict[str, dict[str, dict[str, float]]] = {}
    evaluations: dict[str, Evaluation] = {}
    for ds, w in test_w_by.items():
        if len(w) == 0:
            continue
        forecasts: dict[str, NDArray[np.float64]] = {
            "last_value": np.repeat(w.last[:, None], HORIZON_STEPS, axis=1),
            "linear_regression": linear_baseline(w.x, lin_params),
        }
        for name, model in models.items():
            ev = evaluate_windows(_predictor(model), params_by[name], w)
            forecasts[name] = ev.forecasts.p50
            if name == chosen:
                evaluations[ds] = ev
        if reference is not None:
            ref_name, ref_predict, ref_params = reference
            forecasts[ref_name] = evaluate_windows(ref_predict, ref_params, w).forecasts.p50
        table = patient_bootstrap(w.patient, w.y, forecasts, "linear_regression", seed=SEED)
        versus_last = patient_bootstrap(w.patient, w.y, forecasts, "last_value", seed=SEED)
        for name in table:
            table[name]["diff_vs_last_value"] = versus_last[name]["diff"]
            table[name]["diff_vs_last_value_low"] = versus_last[name]["diff_low"]
            table[name]["diff_vs_last_value_high"] = versus_last[name]["diff_high"]
            table[name]["patients"] = float(len(set(w.patient.tolist())))
        comparison[ds] = table
        for name, row in table.items():
            log(
                f"test {ds} {name}: RMSE {row['rmse_avg']:.2f} [{row['low']:.2f}, {row['high']:.2f}]; vs linear "
                f"{row['diff']:+.2f} [{row['diff_low']:+.2f}, {row['diff_high']:+.2f}]; vs last value "
                f"{row['diff_vs_last_value']:+.2f}"
            )

    headline_ds = DATASET if DATASET in evaluations else next(iter(evaluations))
    evaluation = evaluations[headline_ds]
    params = params_by[chosen]
    final = _for_saving(chosen, models)
    card = _card(
        evaluation=evaluation,
        evaluations=evaluations,
        comparison=comparison,
        selection=selection,
        chosen=chosen,
        params=params,
        splits=splits,
        windows={"train": len(train_w), "validation": len(val_w)}
        | {f"test_{ds}": len(w) for ds, w in test_w_by.items()},
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


def _card(
    *,
    evaluation: Evaluation,
    evaluations: Mapping[str, Evaluation],
    comparison: Mapping[str, Mapping[str, Mapping[str, float]]],
    selection: Mapping[str, Mapping[str, float]],
    chosen: str,
    params: ForecastParams,
    splits: Splits,
    windows: Mapping[str, int],
    train_seconds: Mapping[str, float],
    headline_ds: str,
    single_file: bool,
    data: Path,
) -> Any:
    from medai_core.models import HeadlineMetric, ModelCard

    metrics = _fmt(evaluation) | {
        "dataset": {ds: _fmt(ev) for ds, ev in evaluations.items()},
        "candidates_test": {ds: {n: _rounded(r) for n, r in t.items()} for ds, t in comparison.items()},
        "candidates_validation_rmse_avg": {n: _rounded(r) for n, r in selection.items()},
        "training_seconds": dict(train_seconds),
    }
    by_dataset = {ds: {"test_patient_ids": te, "validation_patient_ids": va} for ds, (_, va, te) in splits.items()}
    artifacts = params.to_artifacts() | {
        "split": {"seed": SEED, "by_dataset": by_dataset}
        | (
            {"test_patient_ids": splits[DATASET][2], "validation_patient_ids": splits[DATASET][1]}
            if DATASET in splits
            else {}
        ),
        "architecture": chosen,
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
    names = ", ".join(splits)
    arch = {
        "mlp": "MLP over the 3-hour window",
        "tcn": "temporal convolutional network",
    }
    chosen_text = " + ".join(arch.get(n, n) for n in chosen.split("+"))
    command = "python -m medai_core train glucose --data " + (
        f"../shared/data/cgm/glucobench/{data.name}" if single_file else "../shared/data/cgm/glucobench"
    )
    return ModelCard(
        id=MODEL_ID,
        version=MODEL_VERSION,
        name="CGM 60-minute quantile forecaster with hypoglycaemia risk",
        task="glucose forecast 5-60 min (p10/p50/p90) and P(<70 within 30/60 min, <54 within 60 min)",
        domain="glucose",
        intended_use=(
            "Research use only: shows clinicians and researchers a probabilistic short-term forecast of a CGM "
            "trace, with its uncertainty and backtest on the same patient (and, with 7 days or more, a forecast "
            "adapted to the patient where that lowers the backtest error). Not for dosing or treatment decisions."
        ),
        out_of_scope=(
            "Insulin dosing, alarms or any real-time treatment decision; children; pregnancy; sensors or settings "
            "that differ from 5-minute Dexcom-like CGMs (15-minute Libre histories are interpolated and less "
            "reliable)."
        ),
        training_data={
            "datasets": {ds: DATASETS.get(ds, {"name": ds}) for ds in splits},
            "source": "GlucoBench (Sergazinov et al., ICLR 2024; IrinaStatsLab/GlucoBench) processed releases of: "
            + names,
            "patients": {
                ds: {"train": len(tr), "validation": len(va), "test": len(te)} for ds, (tr, va, te) in splits.items()
            },
            "windows": dict(windows),
            "split": "by patient inside each data set, fixed seed; validation patients used for early stopping, "
            "model selection and calibration only",
            "architecture": f"{chosen_text} (chosen on validation patients among "
            + ", ".join(selection)
            + "); same quantile heads, conformal margins and Platt scaling",
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
            split=f"held-out {headline_ds} patients ({evaluation.patients}), origins every 30 min",
            baseline_name="linear regression on the same window",
            baseline_value=round(evaluation.linear["rmse_avg"], 2),
        ),
        metrics=metrics,
        calibration={
            "interval": "conformalized quantile regression margins per step on validation patients: the largest "
            "of the data sets' own margins, so that each data set is covered",
            "coverage_80_test": round(evaluation.model["coverage_80"], 4),
            "coverage_80_test_by_dataset": {ds: round(ev.model["coverage_80"], 4) for ds, ev in evaluations.items()},
            "hypo": "Platt scaling of each logit on validation patients",
            "brier_test": {k: round(v["brier"], 4) for k, v in evaluation.hypo_model.items()},
        },
        limitations=(
            "Trained on adults: older adults with type 1 diabetes (Weinstock) and adults without diabetes, with "
            "prediabetes or type 2 diabetes (Colas, Hall); children and pregnancy are not validated.",
            "No insulin, meal or exercise inputs: sudden changes after meals or boluses are not anticipated.",
            "Only a 3-hour window: forecasts after long gaps are unavailable until 3 hours of data exist.",
            "Timestamps were shifted by the data publishers; time of day is taken as given.",
            "Sensor readings are limited to 40-400 mg/dL; values beyond are clipped.",
        ),
        weights_file="model.keras",
        weights_sha256="0" * 64,
        created=dt.date.today().isoformat(),
        training_command=command,
        artifacts=artifacts,
        provenance=cohort_manifest(splits).to_dict(),
    )
