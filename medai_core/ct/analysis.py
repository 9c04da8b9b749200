"""Analyse one nodule: locate, prepare, predict with an interval, explain, check the explanation, put in context.

``analyse_nodule`` is what the page, the CLI and the benchmark call. It returns a frozen, picklable
:class:`NoduleAnalysis` (arrays, floats, strings), so Streamlit can cache it and plot builders can draw it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from medai_core.ct.appropriateness import check_input, check_segmentation, input_flags
from medai_core.ct.features import largest_slice_index
from medai_core.ct.lungrads import LungRads, lung_rads_size_category, round_diameter_mm
from medai_core.ct.ood import OodResult, embeddings, load_ood_stats, ood_result
from medai_core.ct.prepare import (
    DEFAULT_THRESHOLD_HU,
    TRAINING_PIXEL_MM,
    Seed,
    fit_crop,
    hu_to_training_scale,
    resample_crop,
    segment_nodule,
    training_crop,
)
from medai_core.ct.readers import CTStudy
from medai_core.ct.scoring import (
    STACKER_FEATURE_NAMES,
    Stacker,
    feature_label,
    nodule_feature_vector,
    scored_slices,
    slice_batch,
)
from medai_core.errors import ImageInputError, ModelCardError
from medai_core.explain.faithfulness import DeletionCurve, deletion_curve

if TYPE_CHECKING:
    from medai_core.explain import GradCam, Target
    from medai_core.models import LoadedModel

__all__ = [
    "GRAD_CAM_HEAD",
    "GRAD_CAM_LAYER",
    "NoduleAnalysis",
    "PreparedNodule",
    "analyse_nodule",
    "check_cli_input",
    "make_ensemble_grad_cam",
    "pixel_size_request",
    "prepare_nodule",
    "risk_band",
]

GRAD_CAM_LAYER = "ensemble_conv"  # the members' last convolutions, concatenated
GRAD_CAM_HEAD = "ensemble_mean"  # one Dense unit: the mean of the members' logits
DELETION_STEPS = 8
DELETION_RANDOM_ORDERS = 2


@dataclass(frozen=True)
class PreparedNodule:
    """The model-ready crop and the measurements of one nodule.

    Attributes:
        crop_u8: uint8 (D, 64, 64) masked crop on the training scale.
        long_axis_mm: longest diameter (mm), None where the pixel size is unknown.
        short_axis_mm: perpendicular diameter (mm), None where unknown.
        volume_mm3: volume (mm^3), None where unknown (single slices, no spacing).
        seed: the seed used (None for an uploaded masked crop).
        mask_slice: bool (H, W) outline of the segmentation on ``mask_slice_index`` of the study (None for crops).
        mask_slice_index: study slice shown with the outline.
        notes: warnings about the segmentation.
        flags: reasons the input lies outside what the model was trained on (:func:`appropriateness.input_flags`).
    """

    crop_u8: NDArray[np.uint8]
    long_axis_mm: float | None
    short_axis_mm: float | None
    volume_mm3: float | None
    seed: Seed | None
    mask_slice: NDArray[np.bool_] | None
    mask_slice_index: int
    notes: tuple[str, ...]
    flags: tuple[str, ...] = ()

    @property
    def mean_diameter_mm(self) -> float | None:
        """Mean of long and short axis (mm), the Lung-RADS size measure."""
        if self.long_axis_mm is None or self.short_axis_mm is None:
            return None
        return (self.long_axis_mm + self.short_axis_mm) / 2.0


def pixel_size_request(study: CTStudy) -> str:
    """The message asking for the pixel size of ``study`` (an input without spacing that is no training crop)."""
    what = "masked crop" if study.is_masked_crop else f"whole {study.source_format}"
    return (
        f"this {what} of {study.shape[2]} x {study.shape[1]} pixels carries no pixel size, and the malignancy "
        "probability depends on it (the model was trained on crops of 0.64 mm pixels; a nodule drawn with more "
        "pixels looks larger). Give the pixel size in mm (the number input on the page, --pixel-mm MM on the "
        "command line), or upload the DICOM file, or a 64 x 64 masked crop in the training format."
    )


def check_cli_input(study: CTStudy, seed: Seed | None, name: str) -> None:
    """Refuse a command-line input (``predict``/``batch``) that cannot be scored as given.

    Raises:
        ImageInputError: the input is no chest CT the model can read (:func:`appropriateness.check_input`), it has
            no pixel size and is no training-format crop, or it is a whole slice or series and no ``--center`` was
            given.
    """
    check_input(study)
    if study.needs_pixel_size:
        raise ImageInputError(f"{name}: {pixel_size_request(study)}")
    if seed is None and not study.is_masked_crop:
        raise ImageInputError(
            f"{name} is a whole {study.source_format} ({study.shape[2]} x {study.shape[1]} pixels, "
            f"{study.shape[0]} slice(s)); give the nodule centre with --center X,Y[,SLICE]"
        )


def prepare_nodule(
    study: CTStudy,
    seed: Seed | None,
    *,
    threshold_hu: float = DEFAULT_THRESHOLD_HU,
    target_mm: float = TRAINING_PIXEL_MM,
) -> PreparedNodule:
    """Segment (from ``seed``) or take the uploaded masked crop, measure, and map to the training crop.

    Args:
        study: the input, with its pixel size (from the header, or given by the user).
        seed: a point inside the nodule; None only for masked crops.
        threshold_hu: region-growing threshold.
        target_mm: the model's training pixel size (the card's ``training_pixel_mm``).

    Raises:
        ImageInputError: the input is no chest CT the model can read (colour, photograph, no air, field of view too
            small: :func:`appropriateness.check_input`), the pixel size is unknown and the input is no
            training-format crop, a whole image without a seed, a seed outside the image or on air, a region that
            cannot be a nodule, or one that reaches the image or crop border.
    """
    check_input(study)
    if study.needs_pixel_size:
        raise ImageInputError(pixel_size_request(study))
    if seed is None:
        if not study.is_masked_crop:
            raise ImageInputError(
                f"this {study.source_format} is a whole slice or series of {study.shape[2]} x {study.shape[1]} pixels: "
                "give the nodule's centre (click it on the page, or --center X,Y[,SLICE] on the command line)."
            )
        check_segmentation(study, None)
        u8 = hu_to_training_scale(study.hu)
        if study.spacing_mm is not None:
            u8 = resample_crop(u8, (float(study.spacing_mm[0]), float(study.spacing_mm[1])), target_mm)
        crop = fit_crop(u8)
        return PreparedNodule(
            crop, None, None, None, None, None, largest_slice_index(crop), (), flags=input_flags(study)
        )
    segmentation = segment_nodule(
        study.hu, seed, spacing_mm=study.spacing_mm, slice_spacing_mm=study.slice_spacing_mm, threshold_hu=threshold_hu
    )
    check_segmentation(study, segmentation.mask)
    crop = training_crop(study.hu, segmentation.mask, study.spacing_mm, target_mm=target_mm)
    notes = []
    known = segmentation.spacing_known
    if not known:
        notes.append("pixel size unknown: no diameter in mm, no volume, no Lung-RADS size category")
    index = segmentation.largest_slice
    return PreparedNodule(
        crop_u8=crop,
        long_axis_mm=segmentation.long_axis_mm if known else None,
        short_axis_mm=segmentation.short_axis_mm if known else None,
        volume_mm3=segmentation.volume_mm3 if known else None,
        seed=seed,
        mask_slice=segmentation.mask[index],
        mask_slice_index=index,
        notes=tuple(notes),
        flags=input_flags(study, touches_limit=segmentation.touches_limit),
    )


@dataclass(frozen=True)
class NoduleAnalysis:
    """Everything the page, the report and the CLI show about one nodule.

    Attributes:
        probability: calibrated malignancy probability in [0, 1].
        low: interval low end (meaning: ``interval_meaning``).
        high: interval high end.
        risk_band: ``"low"``, ``"intermediate"`` or ``"high"`` (thresholds chosen on validation).
        thresholds: (low, high) risk-band cut-offs.
        member_probabilities: calibrated probability of each ensemble member.
        scored_slices: crop slices averaged into the nodule score.
        crop_u8: uint8 (D, 64, 64) the model's input crop.
        grad_cam: float32 (D, 64, 64) Grad-CAM heatmaps in [0, 1], one per crop slice (zeros where not computed).
        grad_cam_target: ``"malignant"`` or ``"benign"``: the class whose evidence the map shows.
        deletion: the faithfulness check on the largest slice (None unless ``explain="all"``).
        explained_slice: crop slice used for the deletion check (largest cross-section).
        long_axis_mm: longest diameter, None where unknown.
        short_axis_mm: perpendicular diameter, None where unknown.
        mean_diameter_mm: Lung-RADS mean diameter, None where unknown.
        volume_mm3: volume, None where unknown.
        lung_rads: size-based guideline category (not the model).
        features: the nodule's features computed from the crop (the project's 12, then the IBSI radiomics where the
            stacker reads them).
        reference: validation score histograms ``{"edges", "benign", "malignant", "source"}``.
        seed: the seed used, or None for a masked crop.
        mask_slice: bool (H, W) segmentation on ``mask_slice_index`` of the study, or None.
        mask_slice_index: study slice the outline belongs to.
        notes: reader and segmentation notes (assumptions, warnings).
        source_format: the input's format.
        metadata: de-identified header fields.
        model_id: the model's id.
        model_version: the model's version.
        weights_sha256: sha256 of the weights used.
        interval_meaning: what the interval is (the card's ``calibration.interval``).
        contributions: ``(input, standardised value, contribution)`` of every stacker input, largest absolute
            contribution first; contribution = coefficient x standardised value, in log-odds (a linear stacker).
        ood: whether the case lies outside what the model was trained on (:mod:`medai_core.ct.ood`): score,
            threshold, flagged, reasons. A flagged probability is shown greyed with the reasons.
    """

    probability: float
    low: float
    high: float
    risk_band: str
    thresholds: tuple[float, float]
    member_probabilities: tuple[float, ...]
    scored_slices: tuple[int, ...]
    crop_u8: NDArray[np.uint8]
    grad_cam: NDArray[np.float32]
    grad_cam_target: str
    deletion: DeletionCurve | None
    explained_slice: int
    long_axis_mm: float | None
    short_axis_mm: float | None
    mean_diameter_mm: float | None
    volume_mm3: float | None
    lung_rads: LungRads
    features: Mapping[str, float]
    reference: Mapping[str, Any]
    seed: Seed | None
    mask_slice: NDArray[np.bool_] | None
    mask_slice_index: int
    notes: tuple[str, ...]
    source_format: str
    metadata: Mapping[str, str]
    model_id: str
    model_version: str
    weights_sha256: str
    interval_meaning: str = ""
    contributions: tuple[tuple[str, float, float], ...] = ()
    ood: OodResult = field(default_factory=lambda: OodResult(None, None, False, ()))

    @property
    def labelled_contributions(self) -> tuple[tuple[str, float, float], ...]:
        """:attr:`contributions` with each input named for a reader (``shape: volume mm3 (log)``)."""
        return tuple((feature_label(name), z, share) for name, z, share in self.contributions)

    def summary(self) -> dict[str, Any]:
        """The JSON-ready core of the result (the CLI's per-input keys, without ``input``)."""
        return {
            "probability": round(self.probability, 4),
            "interval": [round(self.low, 4), round(self.high, 4)],
            "risk_band": self.risk_band,
            "diameter_mm": None if self.long_axis_mm is None else round_diameter_mm(self.long_axis_mm),
            "mean_diameter_mm": None if self.mean_diameter_mm is None else round_diameter_mm(self.mean_diameter_mm),
            "volume_mm3": None if self.volume_mm3 is None else round(self.volume_mm3, 1),
            "lung_rads_size_category": self.lung_rads.category,
            "model_id": self.model_id,
            "model_version": self.model_version,
            "weights_sha256": self.weights_sha256,
            "notes": list(self.notes),
            "ood": self.ood.to_dict(),
        }


def risk_band(probability: float, thresholds: tuple[float, float]) -> str:
    """``"low"`` below ``thresholds[0]``, ``"high"`` at or above ``thresholds[1]``, ``"intermediate"`` between."""
    if probability < thresholds[0]:
        return "low"
    return "high" if probability >= thresholds[1] else "intermediate"


def make_ensemble_grad_cam(model: LoadedModel) -> GradCam:
    """Grad-CAM of the ensemble-mean logit over all members' last convolutions (one gradient pass per slice)."""
    from medai_core.explain import make_grad_cam

    return make_grad_cam(model.keras_model, layer_name=GRAD_CAM_LAYER, head_name=GRAD_CAM_HEAD)


def _member_logits(model: LoadedModel, batch: NDArray[np.float32]) -> NDArray[np.float32]:
    out = model.predict(batch)
    logits = np.asarray(out[0] if isinstance(out, list) else out, dtype=np.float32)
    return logits[:, 1:]  # column 0 is the ensemble mean; the members follow


def analyse_nodule(
    model: LoadedModel,
    grad_cam: GradCam | None,
    study: CTStudy,
    seed: Seed | None = None,
    *,
    threshold_hu: float = DEFAULT_THRESHOLD_HU,
    explain: Literal["all", "key", "none"] = "all",
) -> NoduleAnalysis:
    """Analyse one nodule of ``study``.

    Args:
        model: the loaded ``ct_nodule`` model.
        grad_cam: its ensemble Grad-CAM (:func:`make_ensemble_grad_cam`); None with ``explain=False``.
        study: the input as read by :func:`medai_core.ct.readers.read_ct`.
        seed: a point inside the nodule; None only for masked crops.
        threshold_hu: region-growing threshold.
        explain: ``"all"``: Grad-CAM on every crop slice and the deletion curve (the page); ``"key"``: Grad-CAM
            on the slice of largest cross-section only; ``"none"``: no explanation (the CLI).

    Raises:
        ImageInputError: see :func:`prepare_nodule`.
        ModelCardError: the shipped out-of-distribution statistics are for other stacker inputs.
        ModelIntegrityError: they are missing or changed (sha256).
    """
    card = model.card
    prepared = prepare_nodule(
        study, seed, threshold_hu=threshold_hu, target_mm=float(card.artifacts["training_pixel_mm"])
    )
    stacker = Stacker.from_artifact(card.artifacts["stacker"])
    crop = prepared.crop_u8
    scored = scored_slices(crop)
    batch = slice_batch(crop, range(crop.shape[0]))
    features = nodule_feature_vector(crop, radiomics=stacker.reads_radiomics)[None]
    score = _score(model, stacker, batch[scored], features)
    thresholds = (float(card.artifacts["risk_thresholds"]["low"]), float(card.artifacts["risk_thresholds"]["high"]))
    ood = _ood(model, stacker, crop, batch[scored], score.standardised, prepared.flags)
    malignant = score.probability >= 0.5
    explained = largest_slice_index(crop)
    cams, deletion = _explanations(model, grad_cam, stacker, crop, batch, features, malignant, explain)
    return NoduleAnalysis(
        probability=score.probability,
        low=score.low,
        high=score.high,
        risk_band=risk_band(score.probability, thresholds),
        thresholds=thresholds,
        member_probabilities=score.members,
        scored_slices=tuple(scored),
        crop_u8=crop,
        grad_cam=cams,
        grad_cam_target="malignant" if malignant else "benign",
        deletion=deletion,
        explained_slice=explained,
        long_axis_mm=prepared.long_axis_mm,
        short_axis_mm=prepared.short_axis_mm,
        mean_diameter_mm=prepared.mean_diameter_mm,
        volume_mm3=prepared.volume_mm3,
        lung_rads=lung_rads_size_category(prepared.mean_diameter_mm),
        features={name: float(v) for name, v in zip(STACKER_FEATURE_NAMES, features[0], strict=True) if np.isfinite(v)},
        reference=dict(card.artifacts["reference_histograms"]),
        seed=prepared.seed,
        mask_slice=prepared.mask_slice,
        mask_slice_index=prepared.mask_slice_index,
        notes=(*study.notes, *prepared.notes),
        source_format=study.source_format,
        metadata=dict(study.metadata),
        model_id=card.id,
        model_version=card.version,
        weights_sha256=card.weights_sha256,
        interval_meaning=" ".join(
            str(card.calibration[key]) for key in ("interval", "interval_check_nested") if card.calibration.get(key)
        ),
        contributions=score.contributions,
        ood=ood,
    )


@dataclass(frozen=True)
class _Score:
    """The stacked probability of one nodule with its interval, each member's probability, and the stacker inputs
    standardised with their shares of the logit (largest share first: ``(input, standardised value, share)``)."""

    probability: float
    low: float
    high: float
    members: tuple[float, ...]
    standardised: NDArray[np.float64]
    contributions: tuple[tuple[str, float, float], ...]


def _score(model: LoadedModel, stacker: Stacker, scored_batch: NDArray[np.float32], features: NDArray[Any]) -> _Score:
    """Score the scored slices: the members' logits averaged over the slices (one model call), then stacked with
    the nodule's features."""
    nodule_logits = _member_logits(model, scored_batch).mean(axis=0, keepdims=True)  # one call, (1, M)
    p, low, high = stacker.with_interval(nodule_logits, features)
    members = [float(stacker.probability(nodule_logits[:, m], features)[0]) for m in range(nodule_logits.shape[1])]
    mean_logit = nodule_logits.mean(axis=1)
    standardised = stacker.standardised(mean_logit, features)[0]
    shares = stacker.contributions(mean_logit, features)[0]
    order = np.argsort(-np.abs(shares))
    contributions = tuple((stacker.inputs[i], float(standardised[i]), float(shares[i])) for i in order)
    return _Score(float(p[0]), float(low[0]), float(high[0]), tuple(members), standardised, contributions)


def _explanations(
    model: LoadedModel,
    grad_cam: GradCam | None,
    stacker: Stacker,
    crop: NDArray[np.uint8],
    batch: NDArray[np.float32],
    features: NDArray[Any],
    malignant: bool,
    explain: Literal["all", "key", "none"],
) -> tuple[NDArray[np.float32], DeletionCurve | None]:
    """Grad-CAM of the predicted class on every crop slice (``"all"``) or on the largest slice only (``"key"``),
    zeros elsewhere; and with ``"all"`` the deletion check on the largest slice (see :func:`analyse_nodule`).

    Raises:
        ValueError: explanations asked for without a Grad-CAM explainer.
    """
    depth = crop.shape[0]
    explained = largest_slice_index(crop)
    cams = np.zeros((depth, *crop.shape[1:]), dtype=np.float32)
    if explain == "none":
        return cams, None
    if grad_cam is None:
        raise ValueError("explanations need the model's Grad-CAM explainer")
    target: Target = "positive" if malignant else "negative"
    for d in range(depth) if explain == "all" else (explained,):
        cams[d] = grad_cam(batch[d], target=target)
    if explain != "all":
        return cams, None

    def explained_score(images: NDArray[np.float32]) -> NDArray[np.float64]:
        mean_logit = _member_logits(model, images).mean(axis=1)
        scores = stacker.probability(mean_logit, np.repeat(features, len(images), axis=0))
        return scores if malignant else 1.0 - scores

    deletion = deletion_curve(
        explained_score,
        batch[explained],
        cams[explained],
        candidates=crop[explained] > 0,
        steps=DELETION_STEPS,
        random_orders=DELETION_RANDOM_ORDERS,
    )
    return cams, deletion


def _ood(
    model: LoadedModel,
    stacker: Stacker,
    crop: NDArray[np.uint8],
    scored_batch: NDArray[np.float32],
    standardised: NDArray[np.float64],
    flags: tuple[str, ...],
) -> OodResult:
    """The out-of-distribution verdict from the standardised stacker inputs, the crop's radiomics and the scored
    slices' embedding."""
    from medai_core.ct.radiomics import RADIOMICS_NAMES, crop_radiomics

    stats = load_ood_stats(model)
    if stats is None:
        return ood_result(None, None, None, None, (), flags)
    if stats.inputs != stacker.inputs:
        raise ModelCardError(
            f"model {model.card.id!r}: its out-of-distribution statistics are for the stacker inputs "
            f"{list(stats.inputs)}, the card's stacker reads {list(stacker.inputs)}; rebuild them "
            "(scripts/build_ct_ood_set.py --write)"
        )
    embedding = embeddings(model, scored_batch).mean(axis=0)
    values = crop_radiomics(crop)
    radiomics = np.array([values[name] for name in RADIOMICS_NAMES], dtype=np.float64)
    return ood_result(stats, standardised, radiomics, embedding, [feature_label(n) for n in stacker.inputs], flags)
