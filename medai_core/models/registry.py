"""The model registry over ``models/<id>/`` folders: list cards, verify weights, load, save.

Each folder holds ``model_card.json`` (see :mod:`medai_core.models.card`) and the ``.keras`` file the card names.
Models are loaded with ``keras.saving.load_model(path, compile=False, safe_mode=True)`` after the weights' sha256
has been checked against the card, and run through one compiled inference function warmed once at load.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from medai_core.config import get_settings
from medai_core.errors import ModelCardError, ModelError, ModelIntegrityError, ModelNotFoundError
from medai_core.models.card import ModelCard, read_card, write_card
from medai_core.models.runtime import configure_runtime

if TYPE_CHECKING:
    import keras

__all__ = [
    "LoadedModel",
    "ModelStatus",
    "file_sha256",
    "list_model_ids",
    "load_model",
    "model_dir",
    "model_statuses",
    "save_model",
]


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _models_dir(models_dir: Path | None) -> Path:
    return Path(models_dir) if models_dir is not None else get_settings().models_dir


def model_dir(model_id: str, models_dir: Path | None = None) -> Path:
    """The folder of model ``model_id``.

    Raises:
        ModelNotFoundError: no such folder, or the id is not a plain folder name.
    """
    if not model_id or os.sep in model_id or model_id.startswith("."):
        raise ModelNotFoundError(f"{model_id!r} is not a model id (a folder name under models/)")
    folder = _models_dir(models_dir) / model_id
    if not folder.is_dir():
        known = ", ".join(list_model_ids(models_dir)) or "none"
        raise ModelNotFoundError(f"no model {model_id!r} in {folder.parent}; installed models: {known}")
    return folder


def list_model_ids(models_dir: Path | None = None) -> list[str]:
    """Sorted ids of the folders under the models directory that hold a model card."""
    root = _models_dir(models_dir)
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob("*/model_card.json"))


@dataclass(frozen=True)
class ModelStatus:
    """What the home page shows for one model folder.

    Attributes:
        model_id: the folder name.
        card: the validated card, or None when it could not be read.
        weights_present: whether the weights file named by the card exists.
        problem: why the model cannot be used, or None.
    """

    model_id: str
    card: ModelCard | None
    weights_present: bool
    problem: str | None

    @property
    def available(self) -> bool:
        """True when the card is valid and the weights file is there."""
        return self.card is not None and self.weights_present and self.problem is None


def model_statuses(models_dir: Path | None = None) -> list[ModelStatus]:
    """The status of every model folder, without loading any weights (fast; safe for the home page)."""
    statuses = []
    for model_id in list_model_ids(models_dir):
        folder = _models_dir(models_dir) / model_id
        try:
            card = read_card(folder)
        except ModelCardError as exc:
            statuses.append(ModelStatus(model_id, None, False, str(exc)))
            continue
        present = (folder / card.weights_file).is_file()
        statuses.append(ModelStatus(model_id, card, present, None if present else f"{card.weights_file} is missing"))
    return statuses


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A verified, loaded model with its card and one compiled inference function.

    Never mutate ``keras_model``; explanation code builds separate sub-models from it.

    Attributes:
        card: the model's validated card.
        keras_model: the loaded Keras model (inference only, not compiled for training).
        path: the weights file it was loaded from.
    """

    card: ModelCard
    keras_model: keras.Model
    path: Path
    _infer: Callable[..., Any]

    def predict(self, *inputs: NDArray[Any]) -> NDArray[np.float32] | list[NDArray[np.float32]]:
        """Run the compiled inference function on a batch (one array per model input).

        Returns:
            float32 output(s) as numpy arrays with the batch axis first.
        """
        if len(inputs) != len(self.keras_model.inputs):
            raise ModelError(f"model {self.card.id!r} takes {len(self.keras_model.inputs)} input(s), got {len(inputs)}")
        tensors = [np.asarray(x, dtype=np.float32) for x in inputs]
        out = self._infer(tensors[0] if len(tensors) == 1 else tensors)
        if isinstance(out, (list, tuple)):
            return [np.asarray(o, dtype=np.float32) for o in out]
        if isinstance(out, dict):
            return [np.asarray(out[k], dtype=np.float32) for k in sorted(out)]
        return np.asarray(out, dtype=np.float32)


def _compiled_inference(model: keras.Model) -> Callable[..., Any]:
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def infer(x: Any) -> Any:
        return model(x, training=False)

    return infer


def load_model(model_id: str, models_dir: Path | None = None) -> LoadedModel:
    """Verify and load model ``model_id`` and warm its inference function once.

    Raises:
        ModelNotFoundError: no folder or no weights file.
        ModelCardError: the card is missing or invalid.
        ModelIntegrityError: the weights' sha256 differs from the card's.
        ModelError: Keras cannot load the file.
    """
    folder = model_dir(model_id, models_dir)
    card = read_card(folder)
    weights = folder / card.weights_file
    if not weights.is_file():
        raise ModelNotFoundError(f"model {model_id!r}: weights file {weights} is missing")
    actual = file_sha256(weights)
    if actual != card.weights_sha256:
        raise ModelIntegrityError(
            f"model {model_id!r}: sha256 of {weights.name} is {actual[:12]}…, the card says "
            f"{card.weights_sha256[:12]}…; the weights were changed or corrupted. Reinstall the model folder."
        )
    configure_runtime()
    import keras

    import medai_core.models.layers  # noqa: F401  (registers custom layers before loading)

    try:
        model = keras.saving.load_model(weights, compile=False, safe_mode=True)
    except Exception as exc:  # keras raises many types for a bad file
        raise ModelError(f"model {model_id!r}: Keras could not load {weights.name}: {exc}") from exc
    loaded = LoadedModel(card=card, keras_model=model, path=weights, _infer=_compiled_inference(model))
    loaded.predict(*_warmup_inputs(card))
    return loaded


def _warmup_inputs(card: ModelCard) -> list[NDArray[np.float32]]:
    shapes: Sequence[Sequence[int]] = [t["shape"] for t in card.inputs["tensors"]]
    return [np.zeros((1, *[int(d) for d in shape]), dtype=np.float32) for shape in shapes]


def save_model(model: keras.Model, card: ModelCard, out_dir: Path) -> ModelCard:
    """Save ``model`` as ``out_dir/<card.weights_file>`` and write the card with the weights' sha256.

    The card's ``id`` must equal the folder name. Returns the card as written.
    """
    out_dir = Path(out_dir)
    if card.id != out_dir.name:
        raise ModelCardError(f"card id {card.id!r} must equal the folder name {out_dir.name!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / card.weights_file
    model.save(weights)
    written = replace(card, weights_sha256=file_sha256(weights))
    write_card(written, out_dir)
    return written
