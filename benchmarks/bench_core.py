"""Warm latency of the shared core on this machine: Grad-CAM, integrated gradients, reports, audit log.

Run: ``python benchmarks/bench_core.py``. Prints a table; asserts nothing.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from medai_core.audit import AuditLog
from medai_core.benchmarking import format_table, measure
from medai_core.explain import integrated_gradients, make_grad_cam
from medai_core.models import ModelCard
from medai_core.models.testing import tiny_card_dict
from medai_core.reports import CaseReport, ReportSection, provenance_for, render_html, render_pdf


def main() -> None:
    """Build small models of realistic shape, time each core operation warm, print the table."""
    import keras

    keras.utils.set_random_seed(0)
    image_in = keras.Input((64, 64, 3))
    h = keras.layers.Conv2D(16, 3, activation="relu", padding="same")(image_in)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Conv2D(32, 3, activation="relu", padding="same")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    cnn = keras.Model(image_in, keras.layers.Dense(1, activation="sigmoid")(h))
    dense_in = keras.Input((120,))
    dense = keras.Model(dense_in, keras.layers.Dense(1)(keras.layers.Dense(64, activation="relu")(dense_in)))
    image = np.random.default_rng(0).random((64, 64, 3)).astype(np.float32)
    features = np.random.default_rng(1).random(120).astype(np.float32)

    cam = make_grad_cam(cnn)
    card = ModelCard.from_dict(tiny_card_dict())
    report = CaseReport(
        "Benchmark report",
        "bench",
        provenance_for(card, b"x", timestamp=datetime.now(UTC)),
        "summary",
        (ReportSection("Result", rows=tuple((f"k{i}", str(i)) for i in range(20))),),
    )
    with tempfile.TemporaryDirectory() as tmp:
        log = AuditLog(Path(tmp) / "audit.sqlite")
        rows = [
            measure("Grad-CAM 64x64 CNN (one example)", lambda: cam(image)),
            measure("integrated gradients, 120 features, 64 steps", lambda: integrated_gradients(dense, features)),
            measure("report HTML", lambda: render_html(report)),
            measure("report PDF", lambda: render_pdf(report), repeat=10),
            measure("audit record (SQLite WAL, hash chain)", lambda: log.record("bench", "m", "1", "0" * 64, {"p": 1})),
        ]
    print(format_table(rows, title="shared core, warm"))


if __name__ == "__main__":
    main()
