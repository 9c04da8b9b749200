"""Model cards: the validated metadata of one shipped model (``models/<id>/model_card.json``).

A card says what the model is for, what it was trained on, what it takes and returns, how it did on held-out
data beside simple baselines, how well calibrated it is, where it fails, and the sha256 of its weights.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from medai_core.errors import ModelCardError
from medai_core.provenance import ProvenanceManifest

__all__ = ["CARD_FILENAME", "HeadlineMetric", "ModelCard", "read_card", "write_card"]

CARD_FILENAME = "model_card.json"


@dataclass(frozen=True)
class HeadlineMetric:
    """The one held-out figure shown on the home page.

    Attributes:
        name: metric name, e.g. ``"AUC"`` or ``"RMSE (mg/dL, 12-step mean)"``.
        value: the figure.
        split: where it was measured, e.g. ``"held-out exams (5-fold grouped CV)"``.
        baseline_name: the simple baseline it is compared with.
        baseline_value: the baseline's figure on the same split.
    """

    name: str
    value: float
    split: str
    baseline_name: str
    baseline_value: float


@dataclass(frozen=True)
class ModelCard:
    """Validated contents of ``model_card.json``.

    Attributes:
        id: folder name under ``models/``; also the registry key.
        version: semantic version of these weights.
        name: human-readable name.
        task: one line, e.g. ``"lung nodule malignancy (binary)"``.
        domain: ``"ct"``, ``"glucose"``, ``"genomics"`` or ``"test"``.
        intended_use: who may use it for what (research use only).
        out_of_scope: uses it must not be put to.
        training_data: source, licence, citation, size and split of the training data.
        inputs: the input spec: ``{"tensors": [{"name", "shape" (no batch axis), "dtype", "units"}], ...}``
            plus the preprocessing that must match training.
        outputs: the output spec (meaning of each output, units).
        headline: the held-out figure shown on the home page.
        metrics: held-out metrics of the model and of each baseline, nested mappings of numbers.
        calibration: method, ECE or coverage, reliability table.
        limitations: known failure modes and limits, one sentence each.
        weights_file: file name of the ``.keras`` weights inside the model folder.
        weights_sha256: hex sha256 of the weights file.
        created: ISO date the weights were trained.
        training_command: command that reproduces the weights.
        artifacts: domain-specific values the analysis needs (thresholds, temperature, reference scores, ...).
        provenance: the provenance manifest (data sets, versions, train/validation/test membership as
            dataset-qualified hashed ids; see :mod:`medai_core.provenance`). Every shipped card has one; an empty
            mapping only for tiny models built in tests.
    """

    id: str
    version: str
    name: str
    task: str
    domain: str
    intended_use: str
    out_of_scope: str
    training_data: Mapping[str, Any]
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]
    headline: HeadlineMetric
    metrics: Mapping[str, Any]
    calibration: Mapping[str, Any]
    limitations: tuple[str, ...]
    weights_file: str
    weights_sha256: str
    created: str
    training_command: str
    artifacts: Mapping[str, Any]
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @property
    def manifest(self) -> ProvenanceManifest:
        """The validated provenance manifest.

        Raises:
            ModelCardError: the card has no manifest.
        """
        if not self.provenance:
            raise ModelCardError(f"model {self.id!r}: the card has no provenance manifest; retrain or rebuild it")
        return ProvenanceManifest.from_dict(self.provenance, source=f"model {self.id!r} provenance")

    def to_dict(self) -> dict[str, Any]:
        """The card as plain JSON-ready data (the inverse of :meth:`from_dict`)."""
        data = asdict(self)
        data["limitations"] = list(self.limitations)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "model card") -> ModelCard:
        """Validate ``data`` and build a card.

        Raises:
            ModelCardError: a field is missing, unknown, or of the wrong type.
        """
        if not isinstance(data, Mapping):
            raise ModelCardError(f"{source}: expected a JSON object, got {type(data).__name__}")
        expected = {f.name for f in fields(cls)}
        missing = sorted(expected - set(data) - {"provenance"})
        unknown = sorted(set(data) - expected)
        if missing or unknown:
            parts = []
            if missing:
                parts.append(f"missing fields {missing}")
            if unknown:
                parts.append(f"unknown fields {unknown}")
            raise ModelCardError(f"{source}: {'; '.join(parts)}. Expected exactly: {sorted(expected)}")
        text_fields = (
            "id",
            "version",
            "name",
            "task",
            "domain",
            "intended_use",
            "out_of_scope",
            "weights_file",
            "weights_sha256",
            "created",
            "training_command",
        )
        for name in text_fields:
            if not isinstance(data[name], str) or not data[name].strip():
                raise ModelCardError(f"{source}: field {name!r} must be a non-empty string")
        for name in ("training_data", "inputs", "outputs", "metrics", "calibration", "artifacts"):
            if not isinstance(data[name], Mapping):
                raise ModelCardError(f"{source}: field {name!r} must be a JSON object")
        sha = data["weights_sha256"]
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            raise ModelCardError(f"{source}: weights_sha256 must be 64 lowercase hex digits")
        limitations = data["limitations"]
        if not isinstance(limitations, list) or not all(isinstance(x, str) for x in limitations):
            raise ModelCardError(f"{source}: field 'limitations' must be a list of strings")
        headline = data["headline"]
        head_fields = {f.name for f in fields(HeadlineMetric)}
        if not isinstance(headline, Mapping) or set(headline) != head_fields:
            raise ModelCardError(f"{source}: field 'headline' must be an object with exactly {sorted(head_fields)}")
        try:
            head = HeadlineMetric(
                name=str(headline["name"]),
                value=float(headline["value"]),
                split=str(headline["split"]),
                baseline_name=str(headline["baseline_name"]),
                baseline_value=float(headline["baseline_value"]),
            )
        except (TypeError, ValueError) as exc:
            raise ModelCardError(f"{source}: headline values must be numbers ({exc})") from None
        tensors = data["inputs"].get("tensors")
        if not isinstance(tensors, list) or not tensors:
            raise ModelCardError(f"{source}: inputs.tensors must be a non-empty list of {{name, shape, dtype}}")
        for tensor in tensors:
            if not isinstance(tensor, Mapping) or not isinstance(tensor.get("shape"), list):
                raise ModelCardError(f"{source}: each inputs.tensors entry needs a 'shape' list (without batch axis)")
        provenance = data.get("provenance", {})
        if provenance:
            ProvenanceManifest.from_dict(provenance, source=f"{source} provenance")
        values = {name: data[name] for name in expected if name in data}
        values["headline"] = head
        values["limitations"] = tuple(limitations)
        return cls(**values)


def read_card(model_dir: Path) -> ModelCard:
    """Read and validate ``model_dir/model_card.json``.

    Raises:
        ModelCardError: the file is missing, not JSON, or fails validation.
    """
    path = Path(model_dir) / CARD_FILENAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelCardError(f"{path}: no model card; every model folder needs {CARD_FILENAME}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelCardError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    card = ModelCard.from_dict(data, source=str(path))
    if card.id != Path(model_dir).name:
        raise ModelCardError(f"{path}: card id {card.id!r} differs from its folder name {Path(model_dir).name!r}")
    return card


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, infinity) replaced by None, so the file is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def write_card(card: ModelCard, model_dir: Path) -> Path:
    """Write ``card`` as ``model_dir/model_card.json`` (strict JSON: NaN becomes null) and return the path."""
    path = Path(model_dir) / CARD_FILENAME
    text = json.dumps(_finite(card.to_dict()), indent=2, sort_keys=True, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path
