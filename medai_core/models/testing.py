"""Tiny, valid models for tests, benchmarks and examples of the registry: a 4-feature logistic Keras model and a
complete card for it. Nothing here is a shipped model; the card says it is a fixture."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["make_tiny_model_dir", "tiny_card_dict"]


def tiny_card_dict(model_id: str = "tiny_test") -> dict[str, Any]:
    """A complete, valid model card for a 4-feature logistic model (weights_sha256 filled in on save)."""
    return {
        "id": model_id,
        "version": "0.0.1",
        "name": "Tiny test model",
        "task": "test fixture (binary)",
        "domain": "test",
        "intended_use": "Tests of the registry and the Models page only.",
        "out_of_scope": "Any clinical use.",
        "training_data": {"source": "random numbers generated in the test", "n": 0},
        "inputs": {"tensors": [{"name": "features", "shape": [4], "dtype": "float32"}]},
        "outputs": {"probability": "sigmoid of a linear score"},
        "headline": {
            "name": "AUC",
            "value": 0.5,
            "split": "none (fixture)",
            "baseline_name": "chance",
            "baseline_value": 0.5,
        },
        "metrics": {"model": {"auc": 0.5}, "baseline": {"auc": 0.5}},
        "calibration": {"method": "none"},
        "limitations": ["A fixture, not a model."],
        "weights_file": "model.keras",
        "weights_sha256": "0" * 64,
        "created": "2026-11-29",
        "training_command": "built inside the test",
        "artifacts": {},
    }


def make_tiny_model_dir(models_root: Path, model_id: str = "tiny_test") -> Path:
    """Save a tiny 4-feature logistic Keras model with a valid card as ``models_root/model_id``."""
    import keras

    from medai_core.models import ModelCard, save_model

    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,), name="features")
    outputs = keras.layers.Dense(1, activation="sigmoid", name="head")(inputs)
    model = keras.Model(inputs, outputs, name=model_id)
    save_model(model, ModelCard.from_dict(tiny_card_dict(model_id)), models_root / model_id)
    return models_root / model_id
