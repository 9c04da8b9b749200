"""The model card of ``ct_nodule``: fixed prose plus the numbers produced by :func:`medai_core.ct.train.train_ct`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from medai_core.ct.features import FEATURE_NAMES
from medai_core.ct.prepare import CROP_SIZE, N_CHANNELS, TRAINING_PIXEL_MM
from medai_core.domains import CT
from medai_core.models import HeadlineMetric, ModelCard

__all__ = ["build_card"]


def build_card(
    *,
    metrics: Mapping[str, Any],
    calibration: Mapping[str, Any],
    artifacts: Mapping[str, Any],
    n_train: tuple[int, int],
    n_test: tuple[int, int],
    created: str,
    version: str,
    provenance: Mapping[str, Any],
) -> ModelCard:
    """Assemble the card (weights_sha256 is filled in by ``save_model``).

    Args:
        metrics: held-out metrics of the model and the baselines.
        calibration: method, held-out ECE and reliability table.
        artifacts: stacker, thresholds, reference histograms, baselines.
        n_train: (nodules, exams) of the development split.
        n_test: (nodules, exams) of the held-out split.
        created: ISO date.
        version: semantic version.
        provenance: the provenance manifest as a dict (:func:`medai_core.ct.data.provenance_manifest`).
    """
    baseline = metrics.get("baseline_diameter_only", {"auc": float("nan")})
    members = artifacts["members"]
    return ModelCard(
        id=CT.model_id,
        version=version,
        name="Lung nodule malignancy (2.5D CNN ensemble + shape/intensity features)",
        task="lung nodule malignancy (binary: LIDC radiologist rating 4-5 vs 1-2)",
        domain="ct",
        intended_use=(
            "Research use only: a second opinion on a lung nodule that a clinician has already found and marked on "
            "chest CT, shown with its uncertainty, saliency and the size-based Lung-RADS category."
        ),
        out_of_scope=(
            "Screening or detection (the model does not find nodules); diagnosis or treatment decisions; "
            "non-CT images; paediatric patients; nodules the radiologists rated indeterminate (3)."
        ),
        training_data={
            "source": "LIDC-IDRI via the nodule crops of MaximoDouglas/pulmonary-nodule-classification",
            "licence": "CC BY 3.0 (The Cancer Imaging Archive)",
            "citation": (
                "Armato SG III et al. The Lung Image Database Consortium (LIDC) and Image Database Resource "
                "Initiative (IDRI). Med Phys 2011;38(2):915-931."
            ),
            "labels": "radiologists' malignancy rating: 1-2 benign, 4-5 malignant (3 absent)",
            "development": {"nodules": n_train[0], "exams": n_train[1]},
            "held_out_test": {"nodules": n_test[0], "exams": n_test[1]},
            "split": (
                "by exam_id: one fold of a 5-fold StratifiedGroupKFold is the held-out test; the rest is split "
                "again into 5 grouped folds whose models form the ensemble and give out-of-fold logits"
            ),
        },
        inputs={
            "tensors": [
                {
                    "name": "crop",
                    "shape": [CROP_SIZE, CROP_SIZE, N_CHANNELS],
                    "dtype": "float32",
                    "units": "lung-window intensity 0..255",
                }
            ],
            "modality": "CT (axial)",
            "intensity_mapping": "u8 = clip(round((HU + 1350) / 1500 * 255), 0, 255): lung window W1500/L-600",
            "mask": "pixels outside the segmented nodule are 0 (seeded region growing on uploads)",
            "pixel_spacing_mm": TRAINING_PIXEL_MM,
            "resampling": (
                f"in-plane resampling to {TRAINING_PIXEL_MM} mm/pixel (median of the training crops, estimated "
                "from their pixel and mm diameters); images without spacing are used at their own pixel size"
            ),
            "channels": "slice k-1, k, k+1 of the nodule (edges repeat; a single 2D image fills all three)",
            "crop": f"{CROP_SIZE} x {CROP_SIZE} pixels centred on the mask centroid",
            "features": list(FEATURE_NAMES),
        },
        outputs={
            "member_logits": f"({members},) malignancy logit of each ensemble member, per slice input",
            "probability": (
                "nodule probability = logistic stacker on the mean member logit over the scored slices (area at "
                "least half of the largest) and the project's features; interval = member spread"
            ),
        },
        headline=HeadlineMetric(
            name="AUC",
            value=float(metrics["model"]["auc"]),
            split=f"held-out exams ({n_test[1]} exams, {n_test[0]} nodules){_ci_text(metrics['model'])}",
            baseline_name="logistic regression on diameter",
            baseline_value=float(baseline["auc"]),
        ),
        metrics=dict(metrics),
        calibration=dict(calibration),
        limitations=(
            "Labels are radiologists' suspicion ratings, not pathology; the model learns what looked malignant.",
            "Indeterminate nodules (rating 3) were excluded, so real-world performance on them is unknown.",
            "Trained on pre-segmented crops; on uploads the result depends on the seed point and region growing.",
            "Juxta-pleural and vessel-attached nodules may leak in region growing; check the mask.",
            "The held-out split is small, so the AUC has a confidence interval of several points.",
            "Slice thickness is not modelled; very thick slices change the 2.5D neighbours.",
        ),
        weights_file="model.keras",
        weights_sha256="0" * 64,
        created=created,
        training_command="python -m medai_core train ct --data ../shared/data/ct/lidc_nodules",
        artifacts=dict(artifacts),
        provenance=dict(provenance),
    )


def _ci_text(model_metrics: Mapping[str, Any]) -> str:
    """'; exam-bootstrap 95% CI 0.77-0.92' where the interval was computed, else ''."""
    ci = model_metrics.get("auc_ci95_by_exam")
    return f"; exam-bootstrap 95% CI {ci[0]:.2f}-{ci[1]:.2f}" if ci else ""
