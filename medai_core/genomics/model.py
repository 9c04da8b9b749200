"""The immunotherapy outcome network: a discrete-time survival model, an ensemble stacked into one Keras Model.

Each member maps the (F,) feature vector to a risk score ``r = linear(x) + MLP(x)`` and then to the hazard of
death in each of K time bins, ``logit h_k = a_k r + b_k`` (``b_k`` initialised from the training baseline
hazard). Survival at the end of bin k is ``S_k = prod_{j<=k} (1 - h_j) = exp(-sum_{j<=k} softplus(logit h_j))``;
the cumulative sum is a frozen lower-triangular Dense layer, so the saved model uses built-in layers only. The
likelihood follows nnet-survival (Gensheimer & Narasimhan, PeerJ 2019): a death in bin j contributes
``S_{j-1} - S_j``, a patient censored at t contributes ``S_{floor(t/w)}`` (survival to the last completed bin).

Output: (B, M, K) survival probabilities, M ensemble members, at the bin ends ``w, 2w, ..., Kw`` months.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from medai_core.domains import GENES

if TYPE_CHECKING:
    import keras

__all__ = [
    "build_survival_model",
    "survival_nll",
    "survival_targets",
]


def build_survival_model(
    n_features: int,
    *,
    n_bins: int,
    n_members: int,
    baseline_hazard: NDArray[Any],
    hidden: int = 16,
    l2: float = 1e-3,
    dropout: float = 0.2,
) -> keras.Model:
    """The ensemble: input ``features`` (B, F) -> output ``survival`` (B, M, K).

    Args:
        n_features: F.
        n_bins: K time bins.
        n_members: M ensemble members (independent initialisations, bootstrap-weighted in training).
        baseline_hazard: (K,) training hazard per bin, initialises ``b_k``.
        hidden: width of each member's hidden layer.
        l2: L2 penalty on member kernels.
        dropout: dropout before the hidden layer's output.
    """
    import keras

    reg = keras.regularizers.L2(l2)
    inputs = keras.Input((n_features,), name="features")
    bias = np.log(np.clip(baseline_hazard, 1e-4, 0.999) / (1 - np.clip(baseline_hazard, 1e-4, 0.999)))
    tri = np.triu(np.ones((n_bins, n_bins), dtype=np.float32))  # tri[j, k] = 1 for j <= k: cumulative sum
    members = []
    for m in range(n_members):
        linear = keras.layers.Dense(1, kernel_regularizer=reg, name=f"m{m}_linear")(inputs)
        h = keras.layers.Dense(hidden, activation="relu", kernel_regularizer=reg, name=f"m{m}_hidden")(inputs)
        h = keras.layers.Dropout(dropout, name=f"m{m}_dropout")(h)
        nonlinear = keras.layers.Dense(1, kernel_regularizer=reg, use_bias=False, name=f"m{m}_mlp_out")(h)
        risk = keras.layers.Add(name=f"m{m}_risk")([linear, nonlinear])
        logits = keras.layers.Dense(
            n_bins,
            kernel_initializer="ones",
            bias_initializer=keras.initializers.Constant(0.0),
            name=f"m{m}_hazard_logit",
        )(risk)
        neg_log_step = keras.layers.Activation("softplus", name=f"m{m}_neg_log_1mh")(logits)
        cumulative = keras.layers.Dense(n_bins, use_bias=False, trainable=False, name=f"m{m}_cumsum")
        log_surv = cumulative(neg_log_step)
        cumulative.set_weights([-tri])
        surv = keras.layers.Activation("exponential", name=f"m{m}_survival")(log_surv)
        members.append(keras.layers.Reshape((1, n_bins), name=f"m{m}_stack")(surv))
    stacked = members[0] if n_members == 1 else keras.layers.Concatenate(axis=1, name="survival")(members)
    model = keras.Model(inputs, stacked, name=GENES.model_id)
    for m in range(n_members):
        layer = model.get_layer(f"m{m}_hazard_logit")
        layer.set_weights([np.ones((1, n_bins), np.float32), bias.astype(np.float32)])
    return model


def survival_targets(
    months: NDArray[Any], event: NDArray[Any], *, bin_months: float, n_bins: int
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Likelihood selectors over the extended curve ``[1, S_1, ..., S_K]``.

    Returns:
        (plus, minus): (N, K+1) one-hot rows; the likelihood is ``plus @ S_ext - minus @ S_ext``. A death in bin
        j (``(j w, (j+1) w]``) gives ``S_j - S_{j+1}``; censoring at t, or follow-up beyond the last bin, gives
        ``S_min(floor(t/w), K)``.
    """
    months = np.asarray(months, dtype=np.float64)
    event = np.asarray(event, dtype=bool)
    n = len(months)
    plus = np.zeros((n, n_bins + 1), np.float32)
    minus = np.zeros((n, n_bins + 1), np.float32)
    death_bin = np.maximum(np.ceil(months / bin_months) - 1, 0).astype(int)
    censor_bin = np.minimum(np.floor(months / bin_months), n_bins).astype(int)
    for i in range(n):
        if event[i] and death_bin[i] < n_bins:
            plus[i, death_bin[i]] = 1.0
            minus[i, death_bin[i] + 1] = 1.0
        else:
            plus[i, censor_bin[i] if not event[i] else n_bins] = 1.0
    return plus, minus


def survival_nll(n_bins: int, n_members: int) -> Any:
    """Keras loss: mean over patients of the bootstrap-weighted negative log-likelihood, summed over members.

    ``y_true`` is (B, 2(K+1) + M): ``plus``, ``minus`` (see :func:`survival_targets`) and one bootstrap weight
    per member; ``y_pred`` is the model's (B, M, K) survival.
    """
    import keras
    from keras import ops

    k1 = n_bins + 1

    def loss(y_true: Any, y_pred: Any) -> Any:
        plus = y_true[:, None, :k1]
        minus = y_true[:, None, k1 : 2 * k1]
        weights = y_true[:, 2 * k1 :]
        ones = ops.ones_like(y_pred[:, :, :1])
        s_ext = ops.concatenate([ones, y_pred], axis=-1)
        lik = ops.sum(plus * s_ext, axis=-1) - ops.sum(minus * s_ext, axis=-1)
        nll = -ops.log(ops.maximum(lik, keras.config.epsilon()))
        return ops.sum(weights * nll, axis=-1) / n_members

    return loss
