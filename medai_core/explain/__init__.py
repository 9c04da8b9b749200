"""Explanations: Grad-CAM (2D/3D, logit-based) and integrated gradients."""

from __future__ import annotations

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
    "GradCam",
    "Target",
    "integrated_gradients",
    "make_grad_cam",
]
