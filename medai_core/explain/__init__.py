"""Explanations: Grad-CAM (2D/3D, logit-based), integrated gradients, and the deletion-curve faithfulness check."""

from __future__ import annotations

from medai_core.explain.faithfulness import DeletionCurve, deletion_curve
from medai_core.explain.gradcam import GradCam, Target, make_grad_cam
from medai_core.explain.integrated_gradients import (
    COMPLETENESS_TOLERANCE,
    DEFAULT_IG_STEPS,
    Attribution,
    integrated_gradients,
)

__all__ = [
    "Attribution",
    "COMPLETENESS_TOLERANCE",
    "DEFAULT_IG_STEPS",
    "DeletionCurve",
    "GradCam",
    "Target",
    "deletion_curve",
    "integrated_gradients",
    "make_grad_cam",
]
