"""From model outputs to calibrated probabilities (pure numpy; shared by training, evaluation and analysis).

The shipped network outputs one logit per ensemble member for each 2.5D slice input. A nodule's member logits are
the mean over its *scored slices* (those whose masked area is at least half the largest one, so that thin caps
of the nodule do not dilute the score). A logistic stacker fitted on out-of-fold logits (Platt scaling, Platt 1999,
extended with the project's own shape and intensity features) turns the ensemble-mean logit into the probability;
the same stacker applied to each member's logit gives the members' spread, reported as the interval.
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

__all__ = ["Stacker", "features_for", "member_logits_for", "scored_slices", "slice_batch"]

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
        inputs: names of the stacker's inputs, in order.
        mean: per-input mean used for standardisation.
        scale: per-input standard deviation used for standardisation.
        coef: logistic coefficients on the standardised inputs.
        intercept: logistic intercept.
    """

    inputs: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    @classmethod
    def from_artifact(cls, data: Mapping[str, Any]) -> Stacker:
        """Build from the card's ``artifacts["stacker"]``."""
        return cls(
            tuple(data["inputs"]),
            tuple(float(x) for x in data["mean"]),
            tuple(float(x) for x in data["scale"]),
            tuple(float(x) for x in data["coef"]),
            float(data["intercept"]),
        )

    def to_artifact(self) -> dict[str, Any]:
        """The JSON-ready form stored in the card."""
        return {
            "inputs": list(self.inputs),
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
        }

    def design(self, cnn_logit: NDArray[Any], features: NDArray[Any]) -> NDArray[np.float64]:
        """(N, len(inputs)) raw design matrix from (N,) logits and (N, len(FEATURE_NAMES)) features."""
        columns = []
        for name in self.inputs:
            if name == "cnn_logit":
                columns.append(np.asarray(cnn_logit, dtype=np.float64))
            else:
                columns.append(np.asarray(features, dtype=np.float64)[:, FEATURE_NAMES.index(name)])
        return np.stack(columns, axis=1)

    def probability(self, cnn_logit: NDArray[Any], features: NDArray[Any]) -> NDArray[np.float64]:
        """(N,) calibrated probabilities."""
        x = (self.design(cnn_logit, features) - np.asarray(self.mean)) / np.asarray(self.scale)
        return np.asarray(expit(x @ np.asarray(self.coef) + self.intercept), dtype=np.float64)

    def with_interval(
        self, member_logits: NDArray[Any], features: NDArray[Any]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Probability from the ensemble-mean logit, and the lowest and highest member probability.

        Args:
            member_logits: (N, M) per-member logits.
            features: (N, len(FEATURE_NAMES)).

        Returns:
            (probability, low, high), each (N,), with low <= probability <= high.
        """
        member_logits = np.asarray(member_logits, dtype=np.float64)
        probability = self.probability(member_logits.mean(axis=1), features)
        members = np.stack([self.probability(member_logits[:, m], features) for m in range(member_logits.shape[1])], 1)
        low = np.minimum(members.min(axis=1), probability)
        high = np.maximum(members.max(axis=1), probability)
        return probability, low, high


def features_for(volumes: Sequence[NDArray[np.uint8]]) -> NDArray[np.float32]:
    """(N, len(FEATURE_NAMES)) project-computed features of N crops."""
    return np.stack([nodule_features(v) for v in volumes])
