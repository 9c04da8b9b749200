"""From model outputs to calibrated probabilities (pure numpy; shared by training, evaluation and analysis).

The shipped network outputs one logit per ensemble member for each 2.5D slice input. A nodule's member logits are
the mean over its *scored slices* (those whose masked area is at least half the largest one, so that thin caps
of the nodule do not dilute the score). A logistic stacker fitted on out-of-fold logits (Platt scaling, Platt 1999,
extended with the nodule's features) turns the ensemble-mean logit into the probability.

Features: the project's 12 hand-made mask features (:mod:`medai_core.ct.features`) followed by the IBSI radiomics
(:mod:`medai_core.ct.radiomics`), one row per nodule (:data:`STACKER_FEATURE_NAMES`). A stacker input named
``log:<feature>`` is the natural log of that (positive) feature.

The interval: where the stacker carries ``bootstrap`` refits (the same stacker refitted on exam-level bootstrap
resamples of the development exams), it is the central ``interval_level`` range of the calibrated probability over
those refits, refit ``b`` applied to ensemble member ``b mod M``: the spread of the probability that comes from
which exams the calibration happened to see and from which member scores the nodule. Cards without refits fall back
to the lowest-to-highest member probability.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from medai_core.ct.features import FEATURE_NAMES, nodule_features
from medai_core.ct.prepare import slice_channels
from medai_core.ct.radiomics import RADIOMICS_NAMES, crop_radiomics

__all__ = [
    "STACKER_FEATURE_NAMES",
    "Stacker",
    "feature_label",
    "features_for",
    "member_logits_for",
    "nodule_feature_vector",
    "scored_slices",
    "slice_batch",
]

STACKER_FEATURE_NAMES: tuple[str, ...] = FEATURE_NAMES + RADIOMICS_NAMES
"""Columns of the feature matrix a stacker reads: the project's features, then the IBSI radiomics."""

_LOG_FLOOR = 1e-6  # log inputs are positive by construction; the floor only guards a degenerate value

_SCORED_AREA_FRACTION = 0.5


def scored_slices(volume_u8: NDArray[np.uint8]) -> list[int]:
    """Indices of the slices that are scored: masked area at least half of the largest slice's.

    Args:
        volume_u8: (D, 64, 64) masked crop on the training scale.
    """
    areas = (volume_u8 > 0).reshape(volume_u8.shape[0], -1).sum(axis=1)
    if areas.max() == 0:
        return [volume_u8.shape[0] // 2]
    return [int(i) for i in np.flatnonzero(areas >= _SCORED_AREA_FRACTION * areas.max())]


def slice_batch(volume_u8: NDArray[np.uint8], indices: Sequence[int]) -> NDArray[np.float32]:
    """(len(indices), 64, 64, 3) float32 model inputs, one per slice index (see :func:`prepare.slice_channels`)."""
    return np.stack([slice_channels(volume_u8, i) for i in indices])


def member_logits_for(
    volumes: Sequence[NDArray[np.uint8]], predict: Callable[[NDArray[np.float32]], NDArray[np.float32]]
) -> NDArray[np.float32]:
    """Member logits per nodule: (N, M), the mean over each nodule's scored slices, in one batched call.

    Args:
        volumes: N masked crops (D_i, 64, 64) on the training scale.
        predict: maps a (B, 64, 64, 3) batch to (B, M) member logits.
    """
    index_lists = [scored_slices(v) for v in volumes]
    batch = np.concatenate([slice_batch(v, idx) for v, idx in zip(volumes, index_lists, strict=True)])
    logits = np.asarray(predict(batch), dtype=np.float32)
    bounds = np.cumsum([0] + [len(i) for i in index_lists])
    return np.stack([logits[a:b].mean(axis=0) for a, b in itertools.pairwise(bounds)])


@dataclass(frozen=True)
class Stacker:
    """Logistic calibration over ``inputs`` (``"cnn_logit"`` and/or feature names), standardised.

    Attributes:
        inputs: names of the stacker's inputs, in order (``cnn_logit``, a :data:`STACKER_FEATURE_NAMES` name, or
            ``log:<name>``).
        mean: per-input mean used for standardisation.
        scale: per-input standard deviation used for standardisation.
        coef: logistic coefficients on the standardised inputs.
        intercept: logistic intercept.
        bootstrap: refits on exam-level bootstrap resamples, each ``(intercept, *coef)`` on the same
            standardisation; empty for cards without them.
        interval_level: central fraction of the refits' probabilities reported as the interval (e.g. 0.8).
    """

    inputs: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    bootstrap: tuple[tuple[float, ...], ...] = ()
    interval_level: float = 0.8

    @property
    def reads_radiomics(self) -> bool:
        """Whether any input is an IBSI radiomics feature (else the radiomics need not be computed)."""
        return any(name.removeprefix("log:") in RADIOMICS_NAMES for name in self.inputs)

    @classmethod
    def from_artifact(cls, data: Mapping[str, Any]) -> Stacker:
        """Build from the card's ``artifacts["stacker"]``."""
        return cls(
            tuple(data["inputs"]),
            tuple(float(x) for x in data["mean"]),
            tuple(float(x) for x in data["scale"]),
            tuple(float(x) for x in data["coef"]),
            float(data["intercept"]),
            tuple(tuple(float(x) for x in row) for row in data.get("bootstrap", ())),
            float(data.get("interval_level", 0.8)),
        )

    def to_artifact(self) -> dict[str, Any]:
        """The JSON-ready form stored in the card (refits rounded to 5 significant digits)."""
        out: dict[str, Any] = {
            "inputs": list(self.inputs),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
        }
        if self.bootstrap:
            out["bootstrap"] = [[float(f"{x:.5g}") for x in row] for row in self.bootstrap]
            out["interval_level"] = self.interval_level
        return out

    def design(self, cnn_logit: NDArray[Any], features: NDArray[Any]) -> NDArray[np.float64]:
        """(N, len(inputs)) raw design matrix.

        Args:
            cnn_logit: (N,) CNN logits.
            features: (N, F) feature rows whose columns follow :data:`STACKER_FEATURE_NAMES` (F may be
                len(FEATURE_NAMES) when the stacker reads the project's features only).
        """
        columns = []
        feats = np.asarray(features, dtype=np.float64)
        for name in self.inputs:
            if name == "cnn_logit":
                columns.append(np.asarray(cnn_logit, dtype=np.float64))
            elif name.startswith("log:"):
                column = feats[:, STACKER_FEATURE_NAMES.index(name[4:])]
                columns.append(np.log(np.maximum(column, _LOG_FLOOR)))
            else:
                columns.append(feats[:, STACKER_FEATURE_NAMES.index(name)])
        return np.stack(columns, axis=1)

    def standardised(self, cnn_logit: NDArray[Any], features: NDArray[Any]) -> NDArray[np.float64]:
        """(N, len(inputs)) inputs on the stacker's standardised scale."""
        return (self.design(cnn_logit, features) - np.asarray(self.mean)) / np.asarray(self.scale)

    def probability(self, cnn_logit: NDArray[Any], features: NDArray[Any]) -> NDArray[np.float64]:
        """(N,) calibrated probabilities."""
        x = self.standardised(cnn_logit, features)
        return np.asarray(expit(x @ np.asarray(self.coef) + self.intercept), dtype=np.float64)

    def contributions(self, cnn_logit: NDArray[Any], features: NDArray[Any]) -> NDArray[np.float64]:
        """(N, len(inputs)) each input's share of the logit: coefficient x standardised value (log-odds units)."""
        return self.standardised(cnn_logit, features) * np.asarray(self.coef)

    def bootstrap_probabilities(self, member_logits: NDArray[Any], features: NDArray[Any]) -> NDArray[np.float64]:
        """(N, B) probabilities under each bootstrap refit; (N, 0) without refits.

        Refit ``b`` is applied to member ``b mod M``'s logit, so the spread holds both the calibration's dependence on
        the development exams and the members' disagreement.

        Args:
            member_logits: (N, M) per-member logits, or (N,) one logit per nodule.
            features: (N, F) feature rows (:meth:`design`).
        """
        logits = np.asarray(member_logits, dtype=np.float64)
        if logits.ndim == 1:
            logits = logits[:, None]
        if not self.bootstrap:
            return np.zeros((logits.shape[0], 0))
        refits = np.asarray(self.bootstrap, dtype=np.float64)
        designs = [self.standardised(logits[:, m], features) for m in range(logits.shape[1])]
        out = np.empty((logits.shape[0], len(refits)))
        for b, row in enumerate(refits):
            out[:, b] = expit(designs[b % len(designs)] @ row[1:] + row[0])
        return out

    def with_interval(
        self, member_logits: NDArray[Any], features: NDArray[Any]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Probability from the ensemble-mean logit, and its interval.

        The interval is the central ``interval_level`` range of the probability over the bootstrap refits where the
        stacker has them, else the lowest and highest member probability.

        Args:
            member_logits: (N, M) per-member logits.
            features: (N, F) feature rows (:meth:`design`).

        Returns:
            (probability, low, high), each (N,), with low <= probability <= high.
        """
        member_logits = np.asarray(member_logits, dtype=np.float64)
        mean_logit = member_logits.mean(axis=1)
        probability = self.probability(mean_logit, features)
        if self.bootstrap:
            tail = (1.0 - self.interval_level) / 2.0 * 100.0
            spread = self.bootstrap_probabilities(member_logits, features)
            lo, hi = np.percentile(spread, [tail, 100.0 - tail], axis=1)
        else:
            members = np.stack(
                [self.probability(member_logits[:, m], features) for m in range(member_logits.shape[1])], 1
            )
            lo, hi = members.min(axis=1), members.max(axis=1)
        return probability, np.minimum(lo, probability), np.maximum(hi, probability)


def nodule_feature_vector(volume_u8: NDArray[np.uint8], *, radiomics: bool = True) -> NDArray[np.float64]:
    """(len(STACKER_FEATURE_NAMES),) the project's features then the radiomics of one masked crop.

    The one feature function of training, evaluation and uploads (a crop on the training scale).

    Args:
        volume_u8: (D, 64, 64) masked crop on the training scale.
        radiomics: False leaves the radiomics columns NaN (about 30 ms saved) for a stacker that reads none of them
            (:attr:`Stacker.reads_radiomics`).
    """
    project = np.asarray(nodule_features(volume_u8), dtype=np.float64)
    if not radiomics:
        return np.concatenate([project, np.full(len(RADIOMICS_NAMES), np.nan)])
    values = crop_radiomics(volume_u8)
    return np.concatenate([project, [values[name] for name in RADIOMICS_NAMES]])


def features_for(volumes: Sequence[NDArray[np.uint8]], *, radiomics: bool = True) -> NDArray[np.float64]:
    """(N, len(STACKER_FEATURE_NAMES)) features of N crops (:func:`nodule_feature_vector`)."""
    return np.stack([nodule_feature_vector(v, radiomics=radiomics) for v in volumes])


_PREFIX_LABELS = {
    "shape": "shape",
    "fo": "intensity",
    "glcm": "texture (GLCM)",
    "glrlm": "texture (run length)",
}


def feature_label(name: str) -> str:
    """A readable label of a stacker input: ``log:shape_volume_mm3`` -> ``shape: volume mm3 (log)``."""
    logged = name.startswith("log:")
    base = name[4:] if logged else name
    if base == "cnn_logit":
        return "CNN (image network)"
    prefix, _, rest = base.partition("_")
    if prefix in _PREFIX_LABELS:
        label = f"{_PREFIX_LABELS[prefix]}: {rest.replace('_', ' ')}"
    else:
        label = f"mask feature: {base.replace('_', ' ')}"
    return label + (" (log)" if logged else "")
