"""``python -m medai_core bench ct``: warm latency of one nodule analysis on this machine.

The case is a synthetic 14 mm spiculated phantom read from a zipped DICOM series (15 slices of 96 x 96), so the
benchmark needs no data set. The last row repeats the analysis with the model reloaded for every call, as the seed
code did, for the ratio.
"""

from __future__ import annotations

from medai_core.benchmarking import BenchRow, format_table, measure
from medai_core.domains import CT

__all__ = ["run_bench"]


def run_bench(repeat: int = 30) -> str:
    """Time each stage warm and return the printed table."""
    from medai_core.ct.analysis import analyse_nodule, make_ensemble_grad_cam, prepare_nodule
    from medai_core.ct.phantom import make_phantom, phantom_dicom_zip
    from medai_core.ct.readers import read_ct
    from medai_core.models import load_model

    phantom = make_phantom("spiculated", 14.0)
    data = phantom_dicom_zip(phantom)
    study = read_ct(data, name="phantom.zip")
    model = load_model(CT.model_id)
    grad_cam = make_ensemble_grad_cam(model)
    seed = phantom.seed
    depth = prepare_nodule(study, seed).crop_u8.shape[0]
    rows: list[BenchRow] = [
        measure("read DICOM series zip (15 slices)", lambda: read_ct(data, name="phantom.zip"), repeat=repeat),
        measure("prepare (region growing, measure, crop)", lambda: prepare_nodule(study, seed), repeat=repeat),
        measure(
            "prepare + predict with interval",
            lambda: analyse_nodule(model, None, study, seed, explain="none"),
            repeat=repeat,
        ),
    ]
    core = measure(
        "analysis: prepare + predict + interval + Grad-CAM",
        lambda: analyse_nodule(model, grad_cam, study, seed, explain="key"),
        repeat=repeat,
        note="target < 100 ms",
    )
    rows.append(core)
    rows.append(
        measure(
            f"page analysis: Grad-CAM on all {depth} slices + deletion curve",
            lambda: analyse_nodule(model, grad_cam, study, seed, explain="all"),
            repeat=max(repeat // 3, 5),
        )
    )

    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # each reload traces new functions on purpose; the retracing warning is noise

    def reload_each_call() -> None:
        fresh = load_model(CT.model_id)
        analyse_nodule(fresh, make_ensemble_grad_cam(fresh), study, seed, explain="key")

    cold = measure("analysis, reloading the model every call", reload_each_call, repeat=3, warmup=1)
    rows.append(
        BenchRow(
            cold.stage,
            cold.median_ms,
            cold.p90_ms,
            cold.calls,
            f"{cold.median_ms / core.median_ms:.0f}x the warm analysis",
        )
    )
    return format_table(rows, title="CT nodule (ct_nodule), warm latency on this machine")
