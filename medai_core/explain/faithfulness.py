"""Faithfulness of a saliency map: the deletion curve (Petsiuk et al., RISE, BMVC 2018; Samek et al., IEEE TNNLS
2017, "most relevant first" perturbation).

The most salient pixels are removed first (set to a baseline value), in steps, and the model's score for the
explained class is recorded; the same is done in random orders. A map that points at evidence the model uses makes
the score fall faster than random removal: a smaller area under the salient curve than under the random one.
Generic: any input array and any ``predict`` callable that scores a batch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["DeletionCurve", "deletion_curve"]


@dataclass(frozen=True)
class DeletionCurve:
    """Scores as pixels are removed.

    Attributes:
        fractions: (K,) fraction of candidate pixels removed, from 0 to 1.
        salient: (K,) score when the most salient pixels are removed first.
        random: (K,) mean score over random removal orders.
        auc_salient: area under ``salient`` (trapezoid over ``fractions``).
        auc_random: area under ``random``.
    """

    fractions: NDArray[np.float64]
    salient: NDArray[np.float64]
    random: NDArray[np.float64]
    auc_salient: float
    auc_random: float

    @property
    def faithful(self) -> bool:
        """True when salient-first removal lowers the score faster than random removal (smaller area)."""
        return self.auc_salient < self.auc_random

    @property
    def reading(self) -> str:
        """One line a clinician can read."""
        gap = self.auc_random - self.auc_salient
        if self.faithful and gap >= 0.02:
            return (
                f"Removing the most highlighted pixels first lowers the score faster than removing random ones "
                f"(area {self.auc_salient:.2f} vs {self.auc_random:.2f}): the map points at what the model used."
            )
        if self.faithful:
            return (
                f"Removing the highlighted pixels lowers the score only slightly faster than random removal "
                f"(area {self.auc_salient:.2f} vs {self.auc_random:.2f}): read the map with caution."
            )
        return (
            f"Removing the highlighted pixels lowers the score no faster than random removal (area "
            f"{self.auc_salient:.2f} vs {self.auc_random:.2f}): the map does not explain this prediction; "
            "do not rely on it."
        )


def deletion_curve(
    predict: Callable[[NDArray[np.float32]], NDArray[Any]],
    x: NDArray[Any],
    saliency: NDArray[Any],
    *,
    steps: int = 10,
    baseline: float = 0.0,
    candidates: NDArray[np.bool_] | None = None,
    random_orders: int = 3,
    seed: int = 0,
) -> DeletionCurve:
    """Deletion curve of ``saliency`` for one input, all perturbed copies scored in one batched call.

    Args:
        predict: maps a batch ``(B, *x.shape)`` to ``(B,)`` scores of the explained class (e.g. a probability).
        x: one input without batch axis, spatial axes first and channels last, e.g. (H, W, C).
        saliency: map over the spatial axes of ``x`` (e.g. (H, W)); higher means more important.
        steps: number of removal steps (the curve has ``steps + 1`` points).
        baseline: value written into removed pixels (all channels).
        candidates: boolean mask over the spatial axes of the pixels that may be removed (default: all), e.g. the
            nodule mask, so that removing empty background does not count.
        random_orders: number of random orders averaged for the reference curve.
        seed: random seed of the orders.

    Returns:
        the :class:`DeletionCurve`.
    """
    x = np.asarray(x, dtype=np.float32)
    saliency = np.asarray(saliency, dtype=np.float64)
    spatial = x.shape[: saliency.ndim]
    if saliency.shape != spatial:
        raise ValueError(f"saliency shape {saliency.shape} does not match the input's spatial shape {spatial}")
    allowed = np.ones(spatial, dtype=bool) if candidates is None else np.asarray(candidates, dtype=bool)
    pool = np.flatnonzero(allowed.ravel())
    if pool.size == 0:
        raise ValueError("no candidate pixels to remove")
    fractions = np.linspace(0.0, 1.0, steps + 1)
    counts = np.rint(fractions * pool.size).astype(int)
    rng = np.random.default_rng(seed)
    orders = [pool[np.argsort(-saliency.ravel()[pool], kind="stable")]]
    orders += [rng.permutation(pool) for _ in range(random_orders)]
    batch = np.repeat(x[None], len(orders) * len(counts), axis=0)
    flat = batch.reshape(batch.shape[0], int(np.prod(spatial)), -1)
    for o, order in enumerate(orders):
        for c, count in enumerate(counts):
            flat[o * len(counts) + c, order[:count]] = baseline
    scores = np.asarray(predict(flat.reshape(batch.shape)), dtype=np.float64).reshape(len(orders), len(counts))
    salient, random = scores[0], scores[1:].mean(axis=0)
    return DeletionCurve(
        fractions=fractions,
        salient=salient,
        random=random,
        auc_salient=float(np.trapezoid(salient, fractions)),
        auc_random=float(np.trapezoid(random, fractions)),
    )
