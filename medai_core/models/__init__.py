"""Model registry: cards, verified loading, device runtime."""

from __future__ import annotations

from medai_core.models.card import HeadlineMetric, ModelCard, read_card, write_card
from medai_core.models.registry import (
    LoadedModel,
    ModelStatus,
    file_sha256,
    list_model_ids,
    load_model,
    model_dir,
    model_statuses,
    save_model,
)
from medai_core.models.runtime import DeviceInfo, configure_runtime

__all__ = [
    "DeviceInfo",
    "HeadlineMetric",
    "LoadedModel",
    "ModelCard",
    "ModelStatus",
    "configure_runtime",
    "file_sha256",
    "list_model_ids",
    "load_model",
    "model_dir",
    "model_statuses",
    "read_card",
    "save_model",
    "write_card",
]
