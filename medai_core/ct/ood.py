"""Out-of-distribution score: how far the model's own view of a case lies from the nodules it was trained on.

The view of one nodule is a vector of

- the stacker's standardised inputs (the ensemble-mean CNN logit and the nodule's mask features,
  :meth:`medai_core.ct.scoring.Stacker.standardised`),
- the crop's IBSI radiomics (:mod:`medai_core.ct.radiomics`; shape, intensity and texture), standardised, and
- the first principal components of the CNN embedding (``ensemble_gap``: the global average of all members' last
  convolutions, 160 values, averaged over the scored slices like the logits), scaled to unit variance.

The vector is whitened by the development nodules' Ledoit-Wolf shrunk covariance (so Euclidean distance is the
Mahalanobis distance), and the score is its distance to the :data:`NEIGHBOURS`-th nearest development nodule
(nearest neighbours follow the shape of the training data where a single ellipsoid does not). The threshold is the
:data:`FLAG_QUANTILE` quantile of the development nodules' scores, each computed against statistics and neighbours
fitted without its exam (5 exam-grouped folds), so that about 2 % of real nodules are flagged. The statistics are
shipped beside the weights (``models/ct_nodule/ood_stats.json``, named with its sha256 in the card's
``artifacts.ood``) and built by ``scripts/build_ct_ood_set.py``.

A flagged case is still scored, but the probability is shown greyed with "outside what this model was trained on"
and the reasons; the input checks of :mod:`medai_core.ct.appropriateness` add their flags to the same reasons.
"""

from __future__ import annotations

import dataclasses
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

from medai_core.ct.radiomics import RADIOMICS_NAMES
from medai_core.ct.scoring import feature_label
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
NEIGHBOURS = 3
"""The score is the whitened distance to the 3rd nearest development nodule (robust to one odd twin)."""


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
        radiomics_mean: (R,) mean of the crop's IBSI radiomics (:data:`medai_core.ct.radiomics.RADIOMICS_NAMES`).
        radiomics_scale: (R,) their standard deviation.
        embedding_mean: (E,) mean CNN embedding.
        components: (K, E) principal directions of the embedding.
        component_scale: (K,) standard deviation along each direction.
        mean: (P,) mean of the combined vector (P = len(inputs) + R + K).
        precision: (P, P) inverse of the shrunk covariance.
        reference: (N, P) the development nodules' whitened vectors (the neighbours searched).
        neighbours: k: the score is the distance to the k-th nearest development nodule.
        threshold: flag threshold on the score.
        info: how the statistics were built (protocol, sizes), for the card.
    """

    inputs: tuple[str, ...]
    radiomics_mean: NDArray[np.float64]
    radiomics_scale: NDArray[np.float64]
    embedding_mean: NDArray[np.float64]
    components: NDArray[np.float64]
    component_scale: NDArray[np.float64]
    mean: NDArray[np.float64]
    precision: NDArray[np.float64]
    reference: NDArray[np.float64]
    neighbours: int
    threshold: float
    info: Mapping[str, Any]

    def vectors(
        self, standardised: NDArray[Any], radiomics: NDArray[Any], embedding: NDArray[Any]
    ) -> NDArray[np.float64]:
        """(N, P) combined vectors.

        Args:
            standardised: (N, len(inputs)) stacker inputs on the stacker's standardised scale.
            radiomics: (N, R) the crops' IBSI radiomics (a value that cannot be computed, NaN, counts as typical).
            embedding: (N, E) CNN embeddings.
        """
        z = (np.asarray(radiomics, np.float64) - self.radiomics_mean) / self.radiomics_scale
        projected = (np.asarray(embedding, np.float64) - self.embedding_mean) @ self.components.T
        parts = [np.asarray(standardised, np.float64), np.nan_to_num(z, nan=0.0), projected / self.component_scale]
        return np.concatenate(parts, axis=1)

    def whitened(self, vectors: NDArray[Any]) -> NDArray[np.float64]:
        """``vectors`` centred and whitened by the shrunk covariance (Euclidean distance = Mahalanobis)."""
        return (np.asarray(vectors, np.float64) - self.mean) @ np.linalg.cholesky(self.precision)

    def distances(self, vectors: NDArray[Any]) -> NDArray[np.float64]:
        """(N,) the scores: whitened distance to the ``neighbours``-th nearest development nodule."""
        return _kth_distance(self.whitened(vectors), self.reference, self.neighbours)

    def unusual(self, vector: NDArray[Any], labels: Sequence[str], count: int = 2) -> list[str]:
        """The ``count`` parts of one vector farthest from the development mean, in their sd, as readable text."""
        spread = np.sqrt(np.maximum(np.diag(np.linalg.inv(self.precision)), 1e-12))
        z = (np.asarray(vector, np.float64) - self.mean) / spread
        order = np.argsort(-np.abs(z))[:count]
        return [f"{labels[i]} {z[i]:+.1f} sd" for i in order]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (5 significant digits; the neighbours' whitened coordinates 4)."""

        def rounded(a: NDArray[Any], digits: int = 5) -> Any:
            return np.vectorize(lambda x: float(f"{x:.{digits}g}"), otypes=[float])(a).tolist()

        return {
            "inputs": list(self.inputs),
            "embedding_layer": EMBEDDING_LAYER,
            "radiomics_mean": rounded(self.radiomics_mean),
            "radiomics_scale": rounded(self.radiomics_scale),
            "embedding_mean": rounded(self.embedding_mean),
            "components": rounded(self.components),
            "component_scale": rounded(self.component_scale),
            "mean": rounded(self.mean),
            "precision": rounded(self.precision),
            "reference": rounded(self.reference, 4),
            "neighbours": self.neighbours,
            "threshold": float(f"{self.threshold:.6g}"),
            "info": dict(self.info),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OodStats:
        """Inverse of :meth:`to_dict`."""

        def array(key: str) -> NDArray[np.float64]:
            return np.asarray(data[key], np.float64)

        return cls(
            inputs=tuple(data["inputs"]),
            radiomics_mean=array("radiomics_mean"),
            radiomics_scale=array("radiomics_scale"),
            embedding_mean=array("embedding_mean"),
            components=array("components"),
            component_scale=array("component_scale"),
            mean=array("mean"),
            precision=array("precision"),
            reference=array("reference"),
            neighbours=int(data["neighbours"]),
            threshold=float(data["threshold"]),
            info=dict(data.get("info", {})),
        )


def _kth_distance(points: NDArray[np.float64], reference: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    """(N,) Euclidean distance of each point to its k-th nearest reference point."""
    squared = (points**2).sum(1)[:, None] - 2.0 * points @ reference.T + (reference**2).sum(1)[None]
    return np.sqrt(np.maximum(np.partition(squared, k - 1, axis=1)[:, k - 1], 0.0))


def _fit(
    standardised: NDArray[np.float64],
    radiomics: NDArray[np.float64],
    embedding: NDArray[np.float64],
    inputs: Sequence[str],
    components: int,
    neighbours: int,
) -> OodStats:
    from sklearn.covariance import LedoitWolf

    emb_mean = embedding.mean(axis=0)
    _, singular, vt = np.linalg.svd(embedding - emb_mean, full_matrices=False)
    scale = np.maximum(singular[:components] / np.sqrt(max(len(embedding) - 1, 1)), 1e-9)
    r_mean, r_scale = np.nanmean(radiomics, axis=0), np.maximum(np.nanstd(radiomics, axis=0), 1e-9)
    empty = np.zeros(0)
    partial = OodStats(
        tuple(inputs), r_mean, r_scale, emb_mean, vt[:components], scale, empty, empty, empty, neighbours, np.inf, {}
    )
    vectors = partial.vectors(standardised, radiomics, embedding)
    shrunk = LedoitWolf().fit(vectors)
    stats = dataclasses.replace(
        partial,
        mean=vectors.mean(axis=0),
        precision=np.linalg.inv(shrunk.covariance_),
        info={"shrinkage": round(float(shrunk.shrinkage_), 4)},
    )
    return dataclasses.replace(stats, reference=stats.whitened(vectors))


def fit_ood_stats(
    standardised: NDArray[Any],
    radiomics: NDArray[Any],
    embedding: NDArray[Any],
    groups: NDArray[Any],
    inputs: Sequence[str],
    *,
    components: int = _COMPONENTS,
    neighbours: int = NEIGHBOURS,
    quantile: float = FLAG_QUANTILE,
    folds: int = 5,
) -> tuple[OodStats, NDArray[np.float64]]:
    """Fit the statistics on development nodules and set the threshold on their out-of-fold scores.

    Args:
        standardised: (N, len(inputs)) stacker inputs, standardised.
        radiomics: (N, R) the crops' IBSI radiomics.
        embedding: (N, E) CNN embeddings.
        groups: (N,) exam ids (a nodule is never scored against statistics or neighbours from its own exam).
        inputs: the stacker input names.
        components: principal components of the embedding kept.
        neighbours: the score is the distance to the k-th nearest development nodule.
        quantile: share of out-of-fold scores below the threshold.
        folds: exam-grouped folds.

    Returns:
        (statistics fitted on all N with the threshold, out-of-fold scores (N,)).
    """
    from sklearn.model_selection import GroupKFold

    s, r, e = (np.asarray(a, np.float64) for a in (standardised, radiomics, embedding))
    codes = np.unique(np.asarray(groups), return_inverse=True)[1]
    oof = np.empty(len(s))
    for train, test in GroupKFold(folds).split(s, groups=codes):
        fold = _fit(s[train], r[train], e[train], inputs, components, neighbours)
        oof[test] = fold.distances(fold.vectors(s[test], r[test], e[test]))
    full = _fit(s, r, e, inputs, components, neighbours)
    threshold = float(np.quantile(oof, quantile))
    info = {
        **full.info,
        "development_nodules": len(s),
        "development_exams": int(codes.max() + 1),
        "embedding_components": components,
        "neighbours": neighbours,
        "threshold_quantile": quantile,
        "threshold_protocol": (
            f"{quantile:.0%} quantile of the development nodules' scores, each scored against statistics and "
            f"neighbours fitted without its exam ({folds} exam-grouped folds)"
        ),
    }
    return dataclasses.replace(full, threshold=threshold, info=info), oof


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

            @tf.function(reduce_retracing=True, autograph=False)
            def embed(x: Any) -> Any:
                return sub(x, training=False)

            embedder = embed
            _EMBEDDERS[model.keras_model] = embedder
    return np.asarray(embedder(tf.convert_to_tensor(np.asarray(batch, np.float32))), dtype=np.float32)


def ood_result(
    stats: OodStats | None,
    standardised: NDArray[Any] | None,
    radiomics: NDArray[Any] | None,
    embedding: NDArray[Any] | None,
    labels: Sequence[str],
    input_reasons: Sequence[str] = (),
) -> OodResult:
    """The verdict on one nodule.

    Args:
        stats: the shipped statistics, or None (the score is then None; only the input checks flag).
        standardised: (len(stats.inputs),) the nodule's standardised stacker inputs.
        radiomics: (R,) its crop's IBSI radiomics.
        embedding: (E,) its CNN embedding.
        labels: readable names of the stacker inputs (:func:`medai_core.ct.scoring.feature_label`).
        input_reasons: flags of the input checks (:func:`medai_core.ct.appropriateness.input_flags`).
    """
    reasons = list(input_reasons)
    if stats is None or standardised is None or radiomics is None or embedding is None:
        return OodResult(None, None, bool(reasons), tuple(reasons))
    vector = stats.vectors(np.asarray(standardised)[None], np.asarray(radiomics)[None], np.asarray(embedding)[None])
    score = float(stats.distances(vector)[0])
    if score > stats.threshold:
        parts = [
            *labels,
            *(feature_label(name) for name in RADIOMICS_NAMES),
            *(f"CNN image embedding, component {k + 1}" for k in range(len(stats.component_scale))),
        ]
        unusual = ", ".join(stats.unusual(vector[0], parts))
        share = 1.0 - float(stats.info.get("threshold_quantile", FLAG_QUANTILE))
        reasons.insert(
            0,
            f"the model's view of this case (its inputs, the crop's radiomics and the image embedding) is far from "
            f"every nodule it was trained on: distance {score:.1f}, above the {stats.threshold:.1f} that {share:.0%} "
            f"of real nodules exceed (most unusual: {unusual})",
        )
    return OodResult(score, stats.threshold, bool(reasons), tuple(reasons))
