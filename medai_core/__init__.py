"""MedAI Dashboard core: readers, models, explanations, figures, reports and audit, with no Streamlit.

Research use only: the models are not cleared medical devices and the clinician decides.
The domain packages (``medai_core.ct``, ``medai_core.glucose``, ``medai_core.genomics``) are imported on demand.
"""

from __future__ import annotations

from medai_core.audit import AuditLog, AuditVerification
from medai_core.config import APP_NAME, APP_VERSION, Settings, get_settings
from medai_core.errors import (
    CGMInputError,
    ConfigError,
    ImageInputError,
    InputError,
    MedaiError,
    ModelCardError,
    ModelError,
    ModelIntegrityError,
    ModelNotFoundError,
    PanelInputError,
    UploadTooLargeError,
)
from medai_core.explain import Attribution, GradCam, integrated_gradients, make_grad_cam
from medai_core.models import LoadedModel, ModelCard, load_model, model_statuses
from medai_core.reports import CaseReport, Provenance, ReportSection, provenance_for

__version__ = APP_VERSION

__all__ = [
    "APP_NAME",
    "APP_VERSION",
    "Attribution",
    "AuditLog",
    "AuditVerification",
    "CGMInputError",
    "CaseReport",
    "ConfigError",
    "GradCam",
    "ImageInputError",
    "InputError",
    "LoadedModel",
    "MedaiError",
    "ModelCard",
    "ModelCardError",
    "ModelError",
    "ModelIntegrityError",
    "ModelNotFoundError",
    "PanelInputError",
    "Provenance",
    "ReportSection",
    "Settings",
    "UploadTooLargeError",
    "get_settings",
    "integrated_gradients",
    "load_model",
    "make_grad_cam",
    "model_statuses",
    "provenance_for",
]
