"""CT nodule domain: read (PNG/JPEG/TIFF, DICOM, multi-frame DICOM, zipped DICOM series) with de-identification,
window, locate and segment from a seed, measure, analyse (calibrated probability with interval, risk band, score in
context, size-based Lung-RADS, Grad-CAM, deletion-curve check), synthetic phantoms, training and evaluation.

Heavy modules (TensorFlow) are imported only where a model runs.
"""

from __future__ import annotations

from medai_core.ct.analysis import (
    NoduleAnalysis,
    PreparedNodule,
    analyse_nodule,
    make_ensemble_grad_cam,
    prepare_nodule,
)
from medai_core.ct.lungrads import LungRads, lung_rads_size_category
from medai_core.ct.phantom import Phantom, make_phantom, phantom_dicom_zip
from medai_core.ct.prepare import (
    LUNG_WINDOW,
    MEDIASTINUM_WINDOW,
    Seed,
    Segmentation,
    Window,
    apply_window,
    hu_to_training_scale,
    segment_nodule,
    training_crop,
)
from medai_core.ct.readers import CTStudy, deidentify, read_ct, read_ct_path, read_slice_folder

__all__ = [
    "CTStudy",
    "LUNG_WINDOW",
    "LungRads",
    "MEDIASTINUM_WINDOW",
    "NoduleAnalysis",
    "Phantom",
    "PreparedNodule",
    "Seed",
    "Segmentation",
    "Window",
    "analyse_nodule",
    "apply_window",
    "deidentify",
    "hu_to_training_scale",
    "lung_rads_size_category",
    "make_ensemble_grad_cam",
    "make_phantom",
    "phantom_dicom_zip",
    "prepare_nodule",
    "read_ct",
    "read_ct_path",
    "read_slice_folder",
    "segment_nodule",
    "training_crop",
]
