"""A tiny survival model learns and round-trips (model tier: it trains)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medai_core.genomics.model import build_survival_model, survival_nll, survival_targets
from medai_core.genomics.survival import concordance_index
from tests.unit.test_genomics_survival import _simulated


def test_tiny_model_learns_and_round_trips(tmp_path: Path) -> None:
    import keras

    keras.utils.set_random_seed(0)
    x, t, e = _simulated(300)
    months = t * 12
    n_bins, members = 6, 2
    model = build_survival_model(2, n_bins=n_bins, n_members=members, baseline_hazard=np.full(n_bins, 0.1))
    plus, minus = survival_targets(months, e, bin_months=3, n_bins=n_bins)
    y = np.hstack([plus, minus, np.ones((len(t), members))]).astype("float32")
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=survival_nll(n_bins, members))
    model.fit(x.astype("float32"), y, epochs=60, batch_size=300, verbose=0)
    surv = model.predict(x.astype("float32"), verbose=0)
    assert surv.shape == (300, members, n_bins)
    assert np.all(np.diff(surv, axis=-1) <= 1e-6)  # survival never increases
    assert concordance_index(months, e, -surv.mean(axis=1).sum(axis=1)) > 0.65
    path = tmp_path / "m.keras"
    model.save(path)
    again = keras.saving.load_model(path, compile=False, safe_mode=True)
    np.testing.assert_allclose(again.predict(x[:5].astype("float32"), verbose=0), surv[:5], rtol=1e-5, atol=1e-6)
