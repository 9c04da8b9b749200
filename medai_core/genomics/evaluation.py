"""Evaluation of the immunotherapy outcome model, shared by ``evaluate genes`` and training: the seeded patient
split, survival metrics (C-index, time-dependent AUC, calibration), the stored Cox baselines and the metrics table.

Nothing here trains the neural model, so inference and evaluation never import :mod:`medai_core.genomics.train`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from medai_core.domains import GENES
from medai_core.genomics.prepare import Cohort, FeatureSpec, cohort_model_tmb
from medai_core.genomics.survival import (
    CoxModel,
    calibration_table,
    concordance_index,
    cox_from_artifact,
    time_dependent_auc,
)
from medai_core.provenance import ProvenanceManifest

__all__ = [
    "BASELINE_NAMES",
    "BIN_MONTHS",
    "DATASET",
    "DATASET_VERSION",
    "MODEL_ID",
    "N_BINS",
    "N_MEMBERS",
    "SEED",
    "SurvivalMetrics",
    "baseline_designs",
    "cox_from_artifact",
    "evaluate_cox",
    "evaluate_predictions",
    "format_metrics_table",
    "paired_bootstrap_c_index_difference",
    "provenance_manifest",
    "rebuild_provenance",
    "risk_from_survival",
    "sample_hash",
    "split_cohort",
]

MODEL_ID = GENES.model_id
MODEL_VERSION = "1.0.0"
SEED = 20190114
BIN_MONTHS = 3.0
N_BINS = 16  # 48 months
N_MEMBERS = 8
HORIZONS = (12.0, 24.0)
#: The data set's short name in the provenance manifest (ids are qualified by it) and its version.
DATASET = "samstein2019"
DATASET_VERSION = "cBioPortal tmb_mskcc_2018 (Samstein et al., Nat Genet 2019), as in shared/data/genes/samstein2019"


def sample_hash(sample_id: str) -> str:
    """A short one-way hash of a sample id (the card lists training samples without their ids)."""
    return hashlib.sha256(sample_id.encode("utf-8")).hexdigest()[:12]


def split_cohort(cohort: Cohort, seed: int = SEED) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """(train, validation, test) row indices, split by patient and stratified by cancer type x death."""
    from sklearn.model_selection import train_test_split

    patients = np.unique(cohort.patient_ids)
    first = {p: i for i, p in reversed(list(enumerate(cohort.patient_ids)))}
    strata = np.array([f"{cohort.cancer_type[first[p]]}|{int(cohort.event[first[p]])}" for p in patients])
    p_fit, p_test = train_test_split(patients, test_size=0.25, random_state=seed, stratify=strata)
    fit_strata = np.array([f"{cohort.cancer_type[first[p]]}|{int(cohort.event[first[p]])}" for p in p_fit])
    p_train, p_val = train_test_split(p_fit, test_size=0.15, random_state=seed + 1, stratify=fit_strata)

    def rows(ps: NDArray[Any]) -> NDArray[np.int64]:
        return np.flatnonzero(np.isin(cohort.patient_ids, ps)).astype(np.int64)

    return rows(p_train), rows(p_val), rows(p_test)


@dataclass(frozen=True)
class SurvivalMetrics:
    """Held-out discrimination and calibration of one predictor.

    Attributes:
        n: patients evaluated.
        c_index: Harrell's C of the risk score.
        auc_12m, auc_24m: cumulative/dynamic AUC (IPCW) at 12 and 24 months.
        calibration_24m: predicted vs Kaplan-Meier 24-month survival in risk groups, or None when the predictor
            gives no probability.
    """

    n: int
    c_index: float
    auc_12m: float
    auc_24m: float
    calibration_24m: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, numbers rounded to 4 decimals."""
        out: dict[str, Any] = {
            "n": self.n,
            "c_index": round(self.c_index, 4),
            "auc_12m": round(self.auc_12m, 4),
            "auc_24m": round(self.auc_24m, 4),
        }
        if self.calibration_24m is not None:
            out["calibration_24m"] = self.calibration_24m
        return out


def evaluate_predictions(
    time_months: NDArray[Any],
    event: NDArray[Any],
    risk: NDArray[Any],
    surv_12m: NDArray[Any] | None,
    surv_24m: NDArray[Any] | None,
    *,
    groups: int = 5,
) -> SurvivalMetrics:
    """C-index of ``risk``; AUC at 12/24 months of ``1 - surv`` (or of ``risk`` when no probability is given);
    calibration of ``surv_24m`` in ``groups`` equal-size risk groups."""
    r12 = risk if surv_12m is None else 1.0 - np.asarray(surv_12m)
    r24 = risk if surv_24m is None else 1.0 - np.asarray(surv_24m)
    calib = None
    if surv_24m is not None:
        calib = calibration_table(time_months, event, surv_24m, 24.0, groups=groups)
        calib = {
            "horizon_months": 24.0,
            "groups": [
                {"n": g["n"], "predicted": round(g["predicted"], 4), "observed_km": round(g["observed_km"], 4)}
                for g in calib["groups"]
            ],
            "mean_abs_error": round(calib["mean_abs_error"], 4),
            "method": f"{groups} equal-size groups by predicted 24-month survival vs Kaplan-Meier in each group",
        }
    return SurvivalMetrics(
        n=len(time_months),
        c_index=concordance_index(time_months, event, risk),
        auc_12m=time_dependent_auc(time_months, event, r12, 12.0),
        auc_24m=time_dependent_auc(time_months, event, r24, 24.0),
        calibration_24m=calib,
    )


def paired_bootstrap_c_index_difference(
    time_months: NDArray[Any],
    event: NDArray[Any],
    risk_a: NDArray[Any],
    risk_b: NDArray[Any],
    *,
    resamples: int = 1000,
    seed: int = SEED,
) -> dict[str, float]:
    """C-index of ``risk_a`` minus that of ``risk_b`` on the same patients, with a 95 % percentile interval from
    resampling patients with replacement (paired: both predictors see the same resample)."""
    rng = np.random.default_rng(seed)
    n = len(time_months)
    diffs = []
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        a = concordance_index(time_months[idx], event[idx], risk_a[idx])
        b = concordance_index(time_months[idx], event[idx], risk_b[idx])
        diffs.append(a - b)
    point = concordance_index(time_months, event, risk_a) - concordance_index(time_months, event, risk_b)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return {
        "difference": round(float(point), 4),
        "low": round(float(low), 4),
        "high": round(float(high), 4),
        "resamples": resamples,
    }


def evaluate_cox(cox: CoxModel, design: NDArray[Any], cohort: Cohort) -> SurvivalMetrics:
    """:func:`evaluate_predictions` of a Cox model (its linear predictor, survival at 12 and 24 months)."""
    return evaluate_predictions(
        cohort.os_months,
        cohort.event,
        cox.risk(design),
        cox.survival_at(design, 12.0),
        cox.survival_at(design, 24.0),
    )


def risk_from_survival(surv: NDArray[Any]) -> NDArray[np.float64]:
    """Risk score from (N, K) survival at the bin ends: minus the restricted mean survival time over the bins."""
    return -np.asarray(surv, dtype=np.float64).sum(axis=-1) * BIN_MONTHS


def baseline_designs(spec: FeatureSpec, cohort: Cohort) -> dict[str, NDArray[np.float64]]:
    """Design matrices of the baselines: ``cox_tmb`` (log1p TMB) and ``cox_type_tmb`` (cancer type one-hot without
    the pooled ``Other`` reference, then log1p TMB on the model's training scale)."""
    log_tmb = np.log1p(cohort_model_tmb(spec, cohort))[:, None]
    types = np.array([[t == c for c in spec.cancer_types[:-1]] for t in cohort.cancer_type], dtype=np.float64)
    return {"cox_tmb": log_tmb, "cox_type_tmb": np.hstack([types, log_tmb])}


BASELINE_NAMES = {
    "cox_tmb": "Cox: log TMB",
    "cox_type_tmb": "Cox: cancer type + log TMB",
    "cox_all_features": "Cox (ridge): all model features",
}


def format_metrics_table(results: dict[str, Any]) -> str:
    """The held-out comparison as a fixed-width table (model first, then baselines)."""
    names = {"model": "Model: ensemble discrete-time hazard", **BASELINE_NAMES}
    lines = [
        f"{'predictor':<38} {'n':>4} {'C-index':>8} {'AUC 12m':>8} {'AUC 24m':>8} {'calib MAE 24m':>14}",
        "-" * 86,
    ]
    for key, row in results.items():
        calib = row.get("calibration_24m")
        mae = f"{calib['mean_abs_error']:.3f}" if calib else "-"
        lines.append(
            f"{names.get(key, key):<38} {row['n']:>4} {row['c_index']:>8.3f} {row['auc_12m']:>8.3f} "
            f"{row['auc_24m']:>8.3f} {mae:>14}"
        )
    return "\n".join(lines)


def provenance_manifest(
    cohort: Cohort,
    split: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]],
    *,
    seed: int = SEED,
) -> ProvenanceManifest:
    """The card's provenance manifest: the samstein2019 data set and the train / validation (early stopping) /
    held-out test membership of every sample, as ``qualified_hash("samstein2019", sample_id)``.

    Args:
        cohort: the cohort the split was drawn from.
        split: (train, validation, test) row indices from :func:`split_cohort`.
        seed: the split seed (recorded in the manifest's description).
    """
    train_idx, val_idx, test_idx = split
    return ProvenanceManifest.build(
        id_kind="sample",
        datasets=[
            {
                "name": DATASET,
                "version": DATASET_VERSION,
                "source": "Samstein et al., Tumor mutational load predicts survival after immunotherapy across "
                "multiple cancer types. Nature Genetics 2019;51:202-206",
                "n_samples": str(len(cohort)),
            }
        ],
        members={
            role: [(DATASET, str(s)) for s in cohort.sample_ids[idx]]
            for role, idx in (("train", train_idx), ("validation", val_idx), ("test", test_idx))
        },
        split=f"by patient with seed {seed}, stratified by cancer type x death: 25 % held-out test, then 15 % of the "
        "rest for early stopping (validation); one sample per patient",
    )


def rebuild_provenance(data_dir: Any, card: dict[str, Any], *, seed: int = SEED) -> dict[str, Any]:
    """The manifest of an already trained card, rebuilt from the same seeded split without retraining.

    The split is drawn again from the cohort in ``data_dir`` and must reproduce the card's recorded
    ``training_data.train_sample_sha256_12`` (training + early-stopping samples) exactly.

    Returns:
        the manifest as a card-ready mapping.

    Raises:
        ValueError: the split does not reproduce the card's training samples (different data or code).
    """
    from medai_core.genomics.prepare import load_cohort

    cohort = load_cohort(data_dir)
    train_idx, val_idx, test_idx = split_cohort(cohort, seed)
    fitted = sorted(sample_hash(str(s)) for s in cohort.sample_ids[np.r_[train_idx, val_idx]])
    recorded = sorted(card.get("training_data", {}).get("train_sample_sha256_12", []))
    if fitted != recorded:
        raise ValueError(
            f"the seeded split gives {len(fitted)} training+validation samples that differ from the card's "
            f"{len(recorded)}; the manifest cannot be rebuilt from this data"
        )
    return provenance_manifest(cohort, (train_idx, val_idx, test_idx), seed=seed).to_dict()
