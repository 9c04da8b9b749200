"""Train and evaluate the immunotherapy outcome model on the Samstein 2019 cohort (``shared/data/genes/samstein2019``).

Every patient in the cohort received an immune checkpoint inhibitor, so the model learns overall survival *on
treatment*; the drug-class input describes who received what, not the randomised benefit of one drug over another.

Split by patient (one sample per patient here) with a fixed seed: 75 % training (of which 15 % is held aside for
early stopping) and 25 % held out, stratified by cancer type and death. The held-out patients give every number
in the model card, for the model and, on the same patients, for the baselines: Cox on log TMB alone and Cox on
cancer type + log TMB (and, for reference, a ridge Cox on all the model's features).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from medai_core.genomics.prepare import Cohort, FeatureSpec, encode_cohort, load_cohort
from medai_core.genomics.survival import CoxModel, fit_cox, kaplan_meier, km_at

__all__ = [
    "BIN_MONTHS",
    "MODEL_ID",
    "N_BINS",
    "N_MEMBERS",
    "SurvivalMetrics",
    "baseline_designs",
    "cox_from_artifact",
    "evaluate_cox",
    "evaluate_predictions",
    "paired_bootstrap_c_index_difference",
    "provenance_manifest",
    "split_cohort",
    "train",
]

from medai_core.genomics.evaluation import (  # noqa: F401  (re-exported for scripts and tests)
    BASELINE_NAMES,
    BIN_MONTHS,
    DATASET,
    DATASET_VERSION,
    HORIZONS,
    MODEL_ID,
    MODEL_VERSION,
    N_BINS,
    N_MEMBERS,
    SEED,
    SurvivalMetrics,
    baseline_designs,
    evaluate_cox,
    evaluate_predictions,
    format_metrics_table,
    paired_bootstrap_c_index_difference,
    provenance_manifest,
    risk_from_survival,
    sample_hash,
    split_cohort,
)
from medai_core.genomics.survival import cox_from_artifact

_INTENDED_USE = (
    "Research use only. Illustrates how TMB, cancer type and panel alterations relate to overall survival "
    "of patients who received immune checkpoint inhibitors at one centre, beside knowledge-base evidence. "
    "Not for treatment decisions."
)
_OUT_OF_SCOPE = (
    "Choosing or withholding a treatment; estimating the benefit of one drug class over another (the cohort "
    "is observational: every patient was treated, drug class was not randomised); tumour types outside the "
    "cohort; panels other than MSK-IMPACT without caution (TMB scales differ between assays); germline "
    "variants; copy-number or fusion events (not modelled)."
)
_METRICS_NOTE = (
    "Held-out patients never seen in training or early stopping. AUC: cumulative/dynamic with IPCW "
    "(Uno 2007). With about 220 held-out patients the C-index has a standard error near 0.02-0.03."
)
_LIMITATIONS = (
    "Observational cohort: survival on treatment, not the effect of treatment; drug class is confounded "
    "with cancer type and era (CTLA-4 monotherapy mostly melanoma).",
    "One centre, one assay family (MSK-IMPACT); TMB from other panels or exomes is not on the same scale.",
    "Small held-out set (about 220 patients): differences of a few C-index points are within noise.",
    "Only nonsynonymous point mutations and indels of frequently mutated genes are inputs; copy number, "
    "fusions, MSI status, PD-L1 and performance status are not.",
    "The interval reflects ensemble disagreement only, not the spread of individual outcomes.",
)


@dataclass(frozen=True)
class _Split:
    """The cohort, its three parts by patient, and the encoded features of each part."""

    cohort: Cohort
    train: Cohort
    validation: Cohort
    test: Cohort
    spec: FeatureSpec
    x_train: NDArray[np.float32]
    x_validation: NDArray[np.float32]
    x_test: NDArray[np.float32]


def _fit_ensemble(
    split: _Split, hazard: NDArray[np.float64], *, seed: int, epochs: int, progress: Callable[[str], None]
) -> tuple[Any, int]:
    """Fit the ensemble (bootstrap weights per member, early stopping on the validation part); (model, best epoch)."""
    import keras

    from medai_core.genomics.model import build_survival_model, survival_nll, survival_targets

    started = time.perf_counter()
    rng = np.random.default_rng(seed)

    def targets(c: Cohort, bootstrap: bool) -> NDArray[np.float32]:
        plus, minus = survival_targets(c.os_months, c.event, bin_months=BIN_MONTHS, n_bins=N_BINS)
        weights = (
            rng.poisson(1.0, size=(len(c), N_MEMBERS)).astype(np.float32)
            if bootstrap
            else np.ones((len(c), N_MEMBERS), np.float32)
        )
        return np.hstack([plus, minus, weights]).astype(np.float32)

    model = build_survival_model(split.spec.n_features, n_bins=N_BINS, n_members=N_MEMBERS, baseline_hazard=hazard)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=survival_nll(N_BINS, N_MEMBERS))

    class _Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            if logs and (epoch % 25 == 0):
                progress(f"epoch {epoch:4d}  loss {logs['loss']:.4f}  val_loss {logs['val_loss']:.4f}")

    history = model.fit(
        split.x_train,
        targets(split.train, bootstrap=True),
        validation_data=(split.x_validation, targets(split.validation, bootstrap=False)),
        epochs=epochs,
        batch_size=128,
        verbose=0,
        callbacks=[
            keras.callbacks.EarlyStopping(patience=40, restore_best_weights=True, monitor="val_loss"),
            _Progress(),
        ],
    )
    best_epoch = int(np.argmin(history.history["val_loss"])) + 1
    progress(
        f"trained {len(history.history['loss'])} epochs (best {best_epoch}) in {time.perf_counter() - started:.0f} s"
    )
    return model, best_epoch


def _evaluate(
    model: Any, split: _Split, *, seed: int, progress: Callable[[str], None]
) -> tuple[dict[str, Any], dict[str, CoxModel], dict[str, Any]]:
    """Held-out metrics of the model and the Cox baselines, the fitted baselines, and the paired bootstrap
    C-index difference between the model and cancer type + TMB."""
    te = split.test
    surv_te = model.predict(split.x_test, verbose=0).mean(axis=1)
    idx12, idx24 = int(12 / BIN_MONTHS) - 1, int(24 / BIN_MONTHS) - 1
    results: dict[str, Any] = {
        "model": evaluate_predictions(
            te.os_months, te.event, risk_from_survival(surv_te), surv_te[:, idx12], surv_te[:, idx24]
        ).to_dict()
    }
    designs_tr, designs_te = baseline_designs(split.spec, split.train), baseline_designs(split.spec, te)
    designs_tr["cox_all_features"], designs_te["cox_all_features"] = (
        split.x_train.astype(float),
        split.x_test.astype(float),
    )
    coxes = {}
    for name in ("cox_tmb", "cox_type_tmb", "cox_all_features"):
        tr = split.train
        cox = fit_cox(designs_tr[name], tr.os_months, tr.event, ridge=1.0 if name == "cox_all_features" else 1e-2)
        coxes[name] = cox
        results[name] = evaluate_cox(cox, designs_te[name], te).to_dict()
    progress(format_metrics_table(results))
    model_risk = risk_from_survival(surv_te)
    base_risk = coxes["cox_type_tmb"].risk(designs_te["cox_type_tmb"])
    diff = paired_bootstrap_c_index_difference(te.os_months, te.event, model_risk, base_risk, seed=seed)
    progress(
        f"C-index model - (cancer type + TMB): {diff['difference']:+.3f} "
        f"(95% bootstrap interval {diff['low']:+.3f} to {diff['high']:+.3f}, {diff['resamples']} resamples)"
    )
    return results, coxes, diff


def _card_data(split: _Split, seed: int) -> dict[str, Any]:
    """The card's ``training_data``, ``inputs`` and ``outputs``."""
    cohort, tr, va, te = split.cohort, split.train, split.validation, split.test
    return {
        "training_data": {
            "source": "Samstein et al., Tumor mutational load predicts survival after immunotherapy across multiple "
            "cancer types. Nature Genetics 2019;51:202-206 (cBioPortal study tmb_mskcc_2018)",
            "population": "patients with advanced cancer treated with immune checkpoint inhibitors at MSKCC, "
            "sequenced with MSK-IMPACT341/410/468",
            "patients": len(cohort),
            "split": f"by patient, seed {seed}, stratified by cancer type and death: train {len(tr)}, validation "
            f"(early stopping) {len(va)}, held-out {len(te)}",
            "outcome": "overall survival (months) from the first immunotherapy dose; status 1:DECEASED / 0:LIVING",
            "train_sample_sha256_12": sorted(sample_hash(s) for s in np.r_[tr.sample_ids, va.sample_ids]),
        },
        "inputs": {
            "tensors": [
                {"name": "features", "shape": [split.spec.n_features], "dtype": "float32", "units": "see names"}
            ],
            "preprocessing": "medai_core.genomics.prepare.encode with artifacts.features; TMB = nonsynonymous "
            "calls / panel Mb (IMPACT341 0.896, IMPACT410/468 1.016); genes off the panel have obs=0 and mut=0",
        },
        "outputs": {
            "survival": {
                "shape": [N_MEMBERS, N_BINS],
                "meaning": f"probability of being alive at {BIN_MONTHS:g}, {2 * BIN_MONTHS:g}, ..., "
                f"{N_BINS * BIN_MONTHS:g} months, one row per ensemble member",
            },
            "interval": "10th-90th percentile over the ensemble members (model uncertainty, not a prediction "
            "interval for the patient)",
        },
    }


def _artifacts(split: _Split, coxes: dict[str, CoxModel], km: tuple[Any, Any]) -> dict[str, Any]:
    """The card's ``artifacts``: what inference needs besides the weights."""
    cohort, spec = split.cohort, split.spec
    tmb_reference = {
        str(t): np.round(np.sort(cohort.tmb[cohort.cancer_type == t]), 3).tolist()
        for t in np.unique(cohort.cancer_type)
    }
    return {
        "features": spec.to_dict(),
        "bin_months": BIN_MONTHS,
        "n_bins": N_BINS,
        "n_members": N_MEMBERS,
        "tmb_reference": tmb_reference,
        "baseline_cox_type_tmb": _cox_artifact(
            coxes["cox_type_tmb"], [f"type={t}" for t in spec.cancer_types[:-1]] + ["log1p_tmb"]
        ),
        "baseline_cox_tmb": _cox_artifact(coxes["cox_tmb"], ["log1p_tmb"]),
        "cohort_km_train": {"12": km_at(*km, 12.0), "24": km_at(*km, 24.0)},
        "tmb_reference_note": "nonsynonymous mutations per Mb of every sequenced patient of the cohort, by type",
    }


def _scores(results: dict[str, Any], diff: dict[str, Any], best_epoch: int, *, n_test: int) -> dict[str, Any]:
    """The card's ``headline``, ``metrics`` and ``calibration`` from the held-out evaluation."""
    from medai_core.models import HeadlineMetric

    m, b = results["model"], results["cox_type_tmb"]
    return {
        "headline": HeadlineMetric(
            name="C-index (overall survival)",
            value=float(m["c_index"]),
            split=f"held-out patients (n={n_test})",
            baseline_name=BASELINE_NAMES["cox_type_tmb"],
            baseline_value=float(b["c_index"]),
        ),
        "metrics": {
            "held_out": results,
            "baseline_names": BASELINE_NAMES,
            "best_epoch": best_epoch,
            "c_index_difference_vs_cox_type_tmb": diff,
            "note": _METRICS_NOTE,
        },
        "calibration": {"model_24m": m.get("calibration_24m"), "cox_type_tmb_24m": b.get("calibration_24m")},
    }


def _split(data_dir: Path, seed: int, progress: Callable[[str], None]) -> tuple[_Split, Any]:
    """Load the cohort, split it by patient and encode each part; the split and its provenance manifest."""
    cohort = load_cohort(Path(data_dir))
    train_idx, val_idx, test_idx = split_cohort(cohort, seed)
    manifest = provenance_manifest(cohort, (train_idx, val_idx, test_idx), seed=seed)
    tr, va, te = cohort.subset(train_idx), cohort.subset(val_idx), cohort.subset(test_idx)
    progress(f"cohort: {len(cohort)} sequenced patients -> train {len(tr)}, validation {len(va)}, held-out {len(te)}")
    spec = FeatureSpec.fit(tr)
    progress(f"features: {spec.n_features} ({len(spec.cancer_types)} cancer types, {len(spec.genes)} genes)")
    encoded = encode_cohort(spec, tr), encode_cohort(spec, va), encode_cohort(spec, te)
    return _Split(cohort, tr, va, te, spec, *encoded), manifest


def train(
    data_dir: Path,
    out_dir: Path,
    *,
    seed: int = SEED,
    epochs: int = 400,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train the ensemble, evaluate it and the baselines on held-out patients, save weights and card.

    Args:
        data_dir: folder in the samstein2019 layout.
        out_dir: ``models/gene_ici_survival`` (folder name must be the model id).
        seed: split and initialisation seed.
        epochs: maximum epochs (early stopping on the validation part of the training split).
        progress: receives one line per stage.

    Returns:
        the held-out metrics of the model and the baselines (also written into the card).
    """
    import keras
    import tensorflow as tf

    from medai_core.models import ModelCard, save_model

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(seed)
    split, manifest = _split(data_dir, seed, progress)
    km = kaplan_meier(split.train.os_months, split.train.event)
    s_end = np.array([km_at(*km, t) for t in np.arange(1, N_BINS + 1) * BIN_MONTHS])
    hazard = 1.0 - s_end / np.maximum(np.r_[1.0, s_end[:-1]], 1e-6)
    model, best_epoch = _fit_ensemble(split, hazard, seed=seed, epochs=epochs, progress=progress)
    results, coxes, diff = _evaluate(model, split, seed=seed, progress=progress)
    card = ModelCard(
        id=MODEL_ID,
        version=MODEL_VERSION,
        name="Immunotherapy overall survival from a tumour gene panel (ensemble, discrete-time hazard)",
        task="overall survival on immune checkpoint inhibitor treatment (survival curve, 12/24-month probability)",
        domain="genomics",
        intended_use=_INTENDED_USE,
        out_of_scope=_OUT_OF_SCOPE,
        **_card_data(split, seed),
        **_scores(results, diff, best_epoch, n_test=len(split.test)),
        limitations=_LIMITATIONS,
        weights_file="model.keras",
        weights_sha256="0" * 64,
        created=date.today().isoformat(),
        training_command="python -m medai_core train genes --data ../shared/data/genes/samstein2019",
        artifacts=_artifacts(split, coxes, km),
        provenance=manifest.to_dict(),
    )
    written = save_model(model, card, Path(out_dir))
    progress(f"saved {Path(out_dir) / written.weights_file} (sha256 {written.weights_sha256[:12]}...)")
    return json.loads(json.dumps(results))


def _cox_artifact(cox: CoxModel, columns: list[str]) -> dict[str, Any]:
    h0 = {}
    for t in HORIZONS:
        idx = np.searchsorted(cox.base_times, t, side="right") - 1
        h0[str(int(t))] = 0.0 if idx < 0 else float(cox.base_cumhaz[idx])
    return {
        "columns": columns,
        "beta": cox.beta.tolist(),
        "mean": cox.mean.tolist(),
        "scale": cox.scale.tolist(),
        "base_cumhaz": h0,
    }
