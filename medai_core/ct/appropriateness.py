"""Is this input something the lung-nodule model was built for? Checked before any score.

Each check is either a refusal (:class:`~medai_core.errors.ImageInputError`: the input cannot be scored
meaningfully, and the message says what to do instead) or a flag (a reason shown on the headline beside a greyed
probability, and in the JSON ``ood.reasons``):

Refused, before segmentation (:func:`check_input`):
- a colour image beyond a few annotation pixels (:data:`MAX_COLOURED_FRACTION`), or a camera photograph (an image
  whose EXIF names a camera maker or model);
- intensities no lung CT has: a whole slice or series with (almost) no air or aerated lung
  (:data:`MIN_AIR_FRACTION` of voxels below :data:`AIR_HU`), e.g. an MR image or a photograph stored as CT, or
  one whose neighbouring voxels differ like noise (:data:`MAX_NEIGHBOUR_DIFFERENCE_HU`);
- a field of view smaller than the model's context (:data:`MIN_FIELD_OF_VIEW_MM`, 64 training pixels of 0.64 mm).

Refused, after segmentation (:func:`check_segmentation`):
- a segmentation that reaches the image border, or the border of an uploaded masked crop: the nodule is cut, its
  size and shape are unknown (advice: move the seed, raise the threshold, or upload a larger field of view).

Flagged (:func:`input_flags`):
- a DICOM header naming a region other than the chest (:data:`REGION_TERMS`: BodyPartExamined, ProtocolName,
  SeriesDescription, StudyDescription);
- a pixel size or slice thickness outside the LIDC-IDRI training range (:data:`TRAINING_PIXEL_RANGE_MM`,
  :data:`TRAINING_SLICE_RANGE_MM`);
- a region that reached the region-growing search limit (it may have leaked into a vessel or the chest wall).

The model-based out-of-distribution score lives in :mod:`medai_core.ct.ood`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from medai_core.errors import ImageInputError

if TYPE_CHECKING:
    from medai_core.ct.readers import CTStudy

__all__ = [
    "AIR_HU",
    "MAX_COLOURED_FRACTION",
    "MAX_NEIGHBOUR_DIFFERENCE_HU",
    "MIN_AIR_FRACTION",
    "MIN_FIELD_OF_VIEW_MM",
    "REGION_KEYWORDS",
    "REGION_TERMS",
    "TRAINING_PIXEL_RANGE_MM",
    "TRAINING_SLICE_RANGE_MM",
    "check_input",
    "check_segmentation",
    "input_flags",
    "region_terms",
]

MAX_COLOURED_FRACTION = 0.02
"""Share of coloured pixels above which an image is refused: a CT exported with a coloured arrow, outline or label
has well under 2 % coloured pixels; a photograph or a colour rendering has far more."""

AIR_HU = -700.0
"""Aerated lung is about -850 HU and air -1000 HU; any lung CT slice holds voxels below -700 HU."""

MIN_AIR_FRACTION = 0.02
"""Share of voxels below :data:`AIR_HU` that a whole chest CT slice or series must hold (lungs fill a large share of
every chest slice; a nodule crop in the lung is surrounded by aerated lung)."""

MAX_NEIGHBOUR_DIFFERENCE_HU = 250.0
"""Largest median absolute difference between horizontally adjacent voxels of a whole CT image. CT is mostly smooth
regions (air, aerated lung, soft tissue) with noise of 10-100 HU even for low-dose scans with a sharp lung kernel
(median difference about 15 HU on pydicom's CT_small and on the phantoms); an image whose neighbouring voxels differ
by more than 250 HU in the median is noise or wrongly decoded data (random values of sd 500 HU give about 480)."""

MIN_FIELD_OF_VIEW_MM = 40.0
"""Smallest side (mm) of a whole image the model can read: its input is 64 pixels of 0.64 mm (41 mm), and the
segmentation needs the lung around the nodule."""

TRAINING_PIXEL_RANGE_MM = (0.46, 0.98)
"""In-plane pixel size of the LIDC-IDRI scans the model was trained on (Armato et al. 2011: 0.461-0.977 mm)."""

TRAINING_SLICE_RANGE_MM = (0.6, 5.0)
"""Slice thickness of the LIDC-IDRI scans (Armato et al. 2011: 0.6-5.0 mm)."""

REGION_KEYWORDS = ("BodyPartExamined", "ProtocolName", "SeriesDescription", "StudyDescription")
"""DICOM attributes searched for a body region (read before de-identification; only the matched terms are kept)."""

REGION_TERMS: Mapping[str, str] = {
    # chest: the model's region (DICOM PS3.16 Annex L body part defined terms and common protocol words)
    "CHEST": "chest",
    "THORAX": "chest",
    "THORACIC": "chest",
    "LUNG": "chest",
    "LUNGS": "chest",
    "PULMONARY": "chest",
    "TORSO": "chest",
    "CHESTABDOMEN": "chest",
    "CHESTABDPELVIS": "chest",
    "WHOLEBODY": "chest",
    "THX": "chest",
    "TX": "chest",
    # other regions
    "HEAD": "non-chest",
    "BRAIN": "non-chest",
    "SKULL": "non-chest",
    "HEADNECK": "non-chest",
    "NECK": "non-chest",
    "SINUS": "non-chest",
    "FACE": "non-chest",
    "ORBIT": "non-chest",
    "IAC": "non-chest",
    "CSPINE": "non-chest",
    "TSPINE": "non-chest",
    "LSPINE": "non-chest",
    "SSPINE": "non-chest",
    "SPINE": "non-chest",
    "ABDOMEN": "non-chest",
    "ABD": "non-chest",
    "PELVIS": "non-chest",
    "ABDOMENPELVIS": "non-chest",
    "KIDNEY": "non-chest",
    "LIVER": "non-chest",
    "SHOULDER": "non-chest",
    "ARM": "non-chest",
    "ELBOW": "non-chest",
    "HAND": "non-chest",
    "WRIST": "non-chest",
    "HIP": "non-chest",
    "LEG": "non-chest",
    "KNEE": "non-chest",
    "ANKLE": "non-chest",
    "FOOT": "non-chest",
    "EXTREMITY": "non-chest",
    "HEART": "non-chest",
    "CARDIAC": "non-chest",
    "CORONARY": "non-chest",
}
"""Body-region words (upper case, without spaces, hyphens or underscores) and whether they name the chest. One
table: a header that names a chest term is never flagged; one that names only other regions is. Cardiac CT is
listed as non-chest: its field of view holds little lung and it is reconstructed for the heart."""

_WORD = re.compile(r"[A-Z]+")


def region_terms(fields: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """The :data:`REGION_TERMS` found in header fields, as ``(keyword, term)`` pairs (the free text is not kept).

    A field's words are matched one by one and also joined without separators (``"C-SPINE"`` and ``"CHEST_ABDOMEN"``
    match ``CSPINE`` and ``CHESTABDOMEN``).

    Args:
        fields: DICOM keyword -> value (any of :data:`REGION_KEYWORDS`).
    """
    found: list[tuple[str, str]] = []
    for keyword in REGION_KEYWORDS:
        value = str(fields.get(keyword) or "").upper()
        words = _WORD.findall(value)
        candidates = [*words, "".join(words)]
        for term in dict.fromkeys(candidates):
            if term in REGION_TERMS:
                found.append((keyword, term))
    return tuple(found)


def _is_whole_image(study: CTStudy) -> bool:
    return not study.is_masked_crop


def check_input(study: CTStudy) -> None:
    """Refuse an input that is no chest CT the model can read (colour, photograph, field of view too small, no air,
    noise).

    Raises:
        ImageInputError: with what was found and what to upload instead.
    """
    voxels = int(np.prod(study.shape))
    coloured = int(getattr(study, "coloured_pixels", 0))
    if coloured > MAX_COLOURED_FRACTION * voxels:
        raise ImageInputError(
            f"this is a colour image ({coloured / voxels:.0%} of its pixels are coloured): a CT image is grey. "
            "The model reads grey CT slices only; a colour photograph or rendering cannot be scored. Upload the "
            "DICOM file, or a grey export of the slice (coloured annotations up to a few pixels are tolerated)."
        )
    camera = str(getattr(study, "camera", "") or "")
    if camera:
        raise ImageInputError(
            f"this image is a camera photograph (its EXIF names the camera: {camera}); a photograph of a screen or "
            "film has unknown intensities, perspective and pixel size. Upload the DICOM file or an export of the slice."
        )
    if _is_whole_image(study):
        if study.spacing_mm is not None:
            _, height, width = study.shape
            fov = min(height * float(study.spacing_mm[0]), width * float(study.spacing_mm[1]))
            if fov < MIN_FIELD_OF_VIEW_MM:
                raise ImageInputError(
                    f"the field of view is {width * float(study.spacing_mm[1]):.1f} x "
                    f"{height * float(study.spacing_mm[0]):.1f} mm, smaller than the model's context "
                    f"({MIN_FIELD_OF_VIEW_MM:g} mm: 64 pixels of 0.64 mm, the nodule and the lung around it). "
                    "Upload the whole slice or series, or a crop of at least that size."
                )
        air = float((study.hu < AIR_HU).mean())
        if air < MIN_AIR_FRACTION:
            raise ImageInputError(
                f"its intensities are not those of a lung CT: only {air:.1%} of the voxels are below {AIR_HU:.0f} HU "
                "(air or aerated lung), where every chest CT slice has lungs. An MR image, a photograph or a "
                "non-CT image cannot be scored; if this is CT, check the rescale (Hounsfield units) of the export."
            )
        if study.shape[2] > 1:
            roughness = float(np.median(np.abs(np.diff(study.hu, axis=2))))
            if roughness > MAX_NEIGHBOUR_DIFFERENCE_HU:
                raise ImageInputError(
                    f"its intensities are not those of a CT image: neighbouring voxels differ by {roughness:.0f} HU in "
                    f"the median (CT: under {MAX_NEIGHBOUR_DIFFERENCE_HU:.0f} HU; it is mostly smooth air, lung and "
                    "tissue). This looks like noise or wrongly decoded data; export the series again."
                )


def check_segmentation(study: CTStudy, mask: NDArray[np.bool_] | None) -> None:
    """Refuse a nodule that reaches the image border (whole images) or the crop border (uploaded masked crops).

    Args:
        study: the input.
        mask: bool (D, H, W) segmentation on the study's grid; None for a masked crop (its non-zero pixels are the
            mask).

    Raises:
        ImageInputError: the region touches the border, with advice.
    """
    region = np.asarray(mask, dtype=bool) if mask is not None else study.hu > float(study.hu.min())
    if mask is None and not study.is_masked_crop:
        return
    plane = np.asarray(region.any(axis=0), dtype=bool)
    if not plane.any():
        return
    edge = bool(plane[0].any() or plane[-1].any() or plane[:, 0].any() or plane[:, -1].any())
    if not edge:
        return
    if mask is None:
        raise ImageInputError(
            "the masked nodule reaches the border of the uploaded crop, so it was cut off: its size and shape are "
            "unknown. Upload a crop with a margin around the nodule, or the whole slice or DICOM series."
        )
    raise ImageInputError(
        "the segmented region reaches the border of the image, so the nodule (or what was segmented) is cut off "
        "and its size and shape are unknown. Click on the nodule's centre (the seed), raise the threshold if the "
        "region leaked into a vessel or the chest wall, or upload a larger field of view."
    )


def input_flags(study: CTStudy, *, touches_limit: bool = False) -> tuple[str, ...]:
    """Reasons the input lies outside what the model was trained on (shown; the case is still scored).

    Args:
        study: the input.
        touches_limit: the segmentation reached the region-growing search limit.
    """
    reasons: list[str] = []
    terms = tuple(getattr(study, "region_terms", ()))
    named = {term for _, term in terms}
    if named and not any(REGION_TERMS[t] == "chest" for t in named):
        where = ", ".join(f"{term} in {keyword}" for keyword, term in terms)
        reasons.append(f"the DICOM header names a region other than the chest ({where}); the model knows chest CT only")
    if study.spacing_mm is not None and not study.is_masked_crop:
        low, high = TRAINING_PIXEL_RANGE_MM
        outside = [s for s in study.spacing_mm if not low <= float(s) <= high]
        if outside:
            reasons.append(
                f"pixel size {float(outside[0]):g} mm is outside the training scans' {low:g}-{high:g} mm (LIDC-IDRI)"
            )
    thickness = _slice_thickness(study)
    if thickness is not None:
        low, high = TRAINING_SLICE_RANGE_MM
        if not low <= thickness <= high:
            reasons.append(
                f"slice thickness {thickness:g} mm is outside the training scans' {low:g}-{high:g} mm (LIDC-IDRI)"
            )
    if touches_limit:
        reasons.append(
            "the segmented region reaches the search limit around the seed: it may include a vessel or the chest "
            "wall (check the outline; move the seed or raise the threshold)"
        )
    return tuple(reasons)


def _slice_thickness(study: CTStudy) -> float | None:
    """SliceThickness from the header, else the spacing between slices; None where neither is known."""
    text = str(study.metadata.get("SliceThickness", "")).strip()
    try:
        value = float(text) if text else None
    except ValueError:
        value = None
    if value is not None and np.isfinite(value) and value > 0:
        return value
    return study.slice_spacing_mm
