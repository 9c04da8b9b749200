"""Out-of-distribution score: how far the model's own view of a case lies from the nodules it was trained on.

The view of one nodule is a vector of

- the stacker's standardised inputs (the ensemble-mean CNN logit and the nodule's mask features,
  :meth:`medai_core.ct.scoring.Stacker.standardised`), and
- the first principal components of the CNN embedding (``ensemble_gap``: the global average of all members' last
  convolutions, 160 values, averaged over the scored slices like the logits), scaled to unit variance.

The score is the Mahalanobis distance of that vector from the development (training) nodules, with a Ledoit-Wolf
shrunk covariance. Its threshold is the :data:`FLAG_QUANTILE` quantile of the distances of development nodules
scored by statistics fitted without their exam (5 exam-grouped folds), so that about 2 % of real nodules are
flagged. The statistics are shipped beside the weights (``models/ct_nodule/ood_stats.json``, named with its sha256
in the card's ``artifacts.ood``) and built by ``scripts/build_ct_ood_set.py``.

A flagged case is still scored, but the probability is shown greyed with "outside what this model was trained on"
and the reasons; the input checks of :mod:`medai_core.ct.appropriateness` add their flags to the same reasons.
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from medai_core.errors import ModelIntegrityError

if TYPE_CHECKING:
    from medai_core.models import LoadedModel

__all__ = [
    "EMBEDDING_LAYER",
    "FLAG_QUANTILE",
    "OOD_FILENAME",
    "OUTSIDE_TRAINING",
    "OodResult",
    "OodStats",
    "embeddings",
    "fit_ood_stats",
    "load_ood_stats",
    "ood_result",
]

EMBEDDING_LAYER = "ensemble_gap"
"""The CNN layer whose output is the embedding (all members' pooled last convolutions)."""

OOD_FILENAME = "ood_stats.json"
FLAG_QUANTILE = 0.98
"""Share of development nodules (scored out of fold) below the threshold: about 2 % of real nodules are flagged."""

OUTSIDE_TRAINING = "outside what this model was trained on"
"""The words shown beside a flagged (greyed) probability."""

_COMPONENTS = 8


@dataclass(frozen=True)
class OodResult:
    """The out-of-distribution verdict on one case.

    Attributes:
        score: Mahalanobis distance of the model's view from the development nodules (None where the model ships
            no statistics).
        threshold: the distance above which a case is flagged (None likewise).
        flagged: the score is above the threshold, or an input check flagged the case.
        reasons: why it is flagged, one sentence each (empty where not flagged).
    """

    score: float | None
    threshold: float | None
    flagged: bool
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``ood`` object: ``score``, ``threshold``, ``flagged``, ``reasons``."""
        return {
            "score": None if self.score is None else round(self.score, 3),
            "threshold": None if self.threshold is None else round(self.threshold, 3),
            "flagged": self.flagged,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class OodStats:
    """The development nodules' statistics the score needs.

    Attributes:
        inputs: the stacker inputs (names, in order) the first part of the vector holds.
        embedding_mean: (E,) mean CNN embedding.
        components: (K, E) principal directions of the embedding.
        component_scale: (K,) standard deviation along each direction.
        mean: (P,) mean of the combined vector (P = len(inputs) + K).
        precision: (P, P) inverse of the shrunk covariance.
        threshold: flag threshold on the distance.
        info: how the statistics were built (protocol, sizes), for the card.
    """

    inputs: tuple[str, ...]
    embedding_mean: NDArray[np.float64]
    components: NDArray[np.float64]
    component_scale: NDArray[np.float64]
    mean: NDArray[np.float64]
    precision: NDArray[np.float64]
    threshold: float
    info: Mapping[str, Any]

    def vectors(self, standardised: NDArray[Any], embedding: NDArray[Any]) -> NDArray[np.float64]:
        """(N, P) combined vectors.

        Args:
            standardised: (N, len(inputs)) stacker inputs on the stacker's standardised scale.
            embedding: (N, E) CNN embeddings.
        """
        projected = (np.asarray(embedding, np.float64) - self.embedding_mean) @ self.components.T
        return np.concatenate([np.asarray(standardised, np.float64), projected / self.component_scale], axis=1)

    def distances(self, vectors: NDArray[Any]) -> NDArray[np.float64]:
        """(N,) Mahalanobis distances of ``vectors`` (:meth:`vectors`) from the development nodules."""
        centred = np.asarray(vectors, np.float64) - self.mean
        squared = np.einsum("ij,jk,ik->i", centred, self.precision, centred)
        return np.sqrt(np.maximum(squared, 0.0))

    def unusual(self, vector: NDArray[Any], labels: Sequence[str], count: int = 2) -> list[str]:
        """The ``count`` parts of one vector farthest from the development mean, in their sd, as readable text."""
        spread = np.sqrt(np.maximum(np.diag(np.linalg.inv(self.precision)), 1e-12))
        z = (np.asarray(vector, np.float64) - self.mean) / spread
        order = np.argsort(-np.abs(z))[:count]
        return [f"{labels[i]} {z[i]:+.1f} sd" for i in order]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (6 significant digits)."""

        def rounded(a: NDArray[Any]) -> Any:
            return np.vectorize(lambda x: float(f"{x:.6g}"), otypes=[float])(a).tolist()

        return {
            "inputs": list(self.inputs),
            "embedding_layer": EMBEDDING_LAYER,
            "embedding_mean": rounded(self.embedding_mean),
            "components": rounded(self.components),
            "component_scale": rounded(self.component_scale),
            "mean": rounded(self.mean),
            "precision": rounded(self.precision),
            "threshold": float(f"{self.threshold:.6g}"),
            "info": dict(self.info),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OodStats:
        """Inverse of :meth:`to_dict`."""
        return cls(
            inputs=tuple(data["inputs"]),
            embedding_mean=np.asarray(data["embedding_mean"], np.float64),
            components=np.asarray(data["components"], np.float64),
            component_scale=np.asarray(data["component_scale"], np.float64),
            mean=np.asarray(data["mean"], np.float64),
            precision=np.asarray(data["precision"], np.float64),
            threshold=float(data["threshold"]),
            info=dict(data.get("info", {})),
        )


def _fit(standardised: NDArray[Any], embedding: NDArray[Any], inputs: Sequence[str], components: int) -> OodStats:
    from sklearn.covariance import LedoitWolf

    emb = np.asarray(embedding, np.float64)
    emb_mean = emb.mean(axis=0)
    _, singular, vt = np.linalg.svd(emb - emb_mean, full_matrices=False)
    directions = vt[:components]
    scale = singular[:components] / np.sqrt(max(len(emb) - 1, 1))
    stats = OodStats(
        tuple(inputs), emb_mean, directions, np.maximum(scale, 1e-9), np.zeros(0), np.zeros((0, 0)), np.inf, {}
    )
    vectors = stats.vectors(standardised, embedding)
    shrunk = LedoitWolf().fit(vectors)
    return OodStats(
        stats.inputs,
        emb_mean,
        directions,
        stats.component_scale,
        vectors.mean(axis=0),
        np.linalg.inv(shrunk.covariance_),
        np.inf,
        {"shrinkage": round(float(shrunk.shrinkage_), 4)},
    )


def fit_ood_stats(
    standardised: NDArray[Any],
    embedding: NDArray[Any],
    groups: NDArray[Any],
    inputs: Sequence[str],
    *,
    components: int = _COMPONENTS,
    quantile: float = FLAG_QUANTILE,
    folds: int = 5,
    seed: int = 0,
) -> tuple[OodStats, NDArray[np.float64]]:
    """Fit the statistics on development nodules and set the threshold on their out-of-fold distances.

    Args:
        standardised: (N, len(inputs)) stacker inputs, standardised.
        embedding: (N, E) CNN embeddings.
        groups: (N,) exam ids (a nodule is never scored by statistics fitted on its own exam).
        inputs: the stacker input names.
        components: principal components of the embedding kept.
        quantile: share of out-of-fold distances below the threshold.
        folds: exam-grouped folds.
        seed: shuffles the exams into folds.

    Returns:
        (statistics fitted on all N with the threshold, out-of-fold distances (N,)).
    """
    from sklearn.model_selection import GroupKFold

    standardised = np.asarray(standardised, np.float64)
    embedding = np.asarray(embedding, np.float64)
    exams = np.unique(groups)
    shuffled = dict(zip(np.random.default_rng(seed).permutation(exams), range(len(exams)), strict=True))
    codes = np.array([shuffled[g] for g in groups])
    oof = np.empty(len(standardised))
    for train, test in GroupKFold(folds).split(standardised, groups=codes):
        fold = _fit(standardised[train], embedding[train], inputs, components)
        oof[test] = fold.distances(fold.vectors(standardised[test], embedding[test]))
    full = _fit(standardised, embedding, inputs, components)
    threshold = float(np.quantile(oof, quantile))
    info = {
        **full.info,
        "development_nodules": len(standardised),
        "development_exams": len(exams),
        "embedding_components": components,
        "threshold_quantile": quantile,
        "threshold_protocol": (
            f"{quantile:.0%} quantile of the development nodules' distances, each scored by statistics fitted "
            f"without its exam ({folds} exam-grouped folds, seed {seed})"
        ),
    }
    return (
        OodStats(
            full.inputs,
            full.embedding_mean,
            full.components,
            full.component_scale,
            full.mean,
            full.precision,
            threshold,
            info,
        ),
        oof,
    )


_STATS_CACHE: dict[tuple[str, str], OodStats] = {}
_LOCK = threading.Lock()


def load_ood_stats(model: LoadedModel) -> OodStats | None:
    """The model's shipped statistics (card ``artifacts.ood``: ``file`` and ``sha256``), or None without them.

    Raises:
        ModelIntegrityError: the file is missing or its sha256 differs from the card's.
    """
    spec = model.card.artifacts.get("ood")
    if not spec:
        return None
    path = Path(model.path).parent / str(spec["file"])
    key = (str(path), str(spec["sha256"]))
    with _LOCK:
        if key in _STATS_CACHE:
            return _STATS_CACHE[key]
    try:
        raw = path.read_bytes()
    except OSError:
        raise ModelIntegrityError(
            f"model {model.card.id!r}: its out-of-distribution statistics {path.name} are missing"
        ) from None
    if hashlib.sha256(raw).hexdigest() != spec["sha256"]:
        raise ModelIntegrityError(
            f"model {model.card.id!r}: sha256 of {path.name} differs from the card's; reinstall the model folder"
        )
    stats = OodStats.from_dict(json.loads(raw))
    with _LOCK:
        _STATS_CACHE[key] = stats
    return stats


_EMBEDDERS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def embeddings(model: LoadedModel, batch: NDArray[np.float32]) -> NDArray[np.float32]:
    """(B, E) CNN embeddings (:data:`EMBEDDING_LAYER`) of a (B, 64, 64, 3) batch, by a sub-model of the loaded
    network (built once per model; the model itself is not changed)."""
    import keras
    import tensorflow as tf

    with _LOCK:
        embedder = _EMBEDDERS.get(model.keras_model)
        if embedder is None:
            net = model.keras_model
            sub = keras.Model(net.inputs[0], net.get_layer(EMBEDDING_LAYER).output)

            @tf.function(reduce_retracing=True)
            def embed(x: Any) -> Any:
                return sub(x, training=False)

            embedder = embed
            _EMBEDDERS[model.keras_model] = embedder
    return np.asarray(embedder(tf.convert_to_tensor(np.asarray(batch, np.float32))), dtype=np.float32)


def ood_result(
    stats: OodStats | None,
    standardised: NDArray[Any] | None,
    embedding: NDArray[Any] | None,
    labels: Sequence[str],
    input_reasons: Sequence[str] = (),
) -> OodResult:
    """The verdict on one nodule.

    Args:
        stats: the shipped statistics, or None (the score is then None; only the input checks flag).
        standardised: (len(stats.inputs),) the nodule's standardised stacker inputs.
        embedding: (E,) its CNN embedding.
        labels: readable names of the stacker inputs (:func:`medai_core.ct.scoring.feature_label`).
        input_reasons: flags of the input checks (:func:`medai_core.ct.appropriateness.input_flags`).
    """
    reasons = list(input_reasons)
    if stats is None or standardised is None or embedding is None:
        return OodResult(None, None, bool(reasons), tuple(reasons))
    vector = stats.vectors(np.asarray(standardised)[None], np.asarray(embedding)[None])
    score = float(stats.distances(vector)[0])
    if score > stats.threshold:
        parts = [*labels, *(f"CNN image embedding, component {k + 1}" for k in range(len(stats.component_scale)))]
        unusual = ", ".join(stats.unusual(vector[0], parts))
        share = 1.0 - float(stats.info.get("threshold_quantile", FLAG_QUANTILE))
        reasons.insert(
            0,
            f"the model's view of this case (its inputs and image embedding) is far from every nodule it was trained "
            f"on: distance {score:.1f}, above the {stats.threshold:.1f} that {share:.0%} of real nodules exceed (most "
            f"unusual: "
            f"{unusual})",
        )
    return OodResult(score, stats.threshold, bool(reasons), tuple(reasons))
