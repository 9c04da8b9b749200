"""Each shipped model on the GPU: device placement, agreement with the CPU, warm latency and batch throughput.

Run through ``bash benchmarks/gpu_check.sh`` (which installs the CUDA build of TensorFlow first where a GPU is
present), or directly: ``python benchmarks/gpu_check.py [--repeats N] [--batch B] [--json OUT]``.

For every model in ``models/`` (loaded and verified by :func:`medai_core.models.load_model`) it builds one fixed
random batch in the shape of the card's input tensors (seeded: the same numbers on every machine), then on each
device (the GPU, where TensorFlow sees one, and the CPU):

- runs the model with ``tf.device`` pinned and prints where the output tensor and the first weight live
  (the device placement TensorFlow reports);
- times a warm single-example call (median and p90 of ``--repeats`` calls after 3 warm-up calls) and a batch of
  ``--batch`` examples (examples per second);
- with a GPU, prints the largest absolute difference between the GPU's and the CPU's outputs on the same batch.

Without a GPU it says so and runs the CPU half (CI runs this path: ``tests/cli/test_gpu_check.py``). Exit status
1 when a GPU is present but a model's output is not on it, or GPU and CPU disagree by more than ``--tolerance``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _inputs(card: Any, batch: int, seed: int) -> list[Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    shapes = [tuple(int(d) for d in t["shape"]) for t in card.inputs["tensors"]]
    return [rng.uniform(0.0, 1.0, size=(batch, *shape)).astype(np.float32) for shape in shapes]


def _outputs(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value[k] for k in sorted(value)]
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def check_device(model: Any, device: str, single: list[Any], batch: list[Any], repeats: int) -> dict[str, Any]:
    """Placement, warm single-example latency and batch throughput of ``model`` pinned to ``device``."""
    import numpy as np
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def infer(*xs: Any) -> Any:
        return model(list(xs) if len(xs) > 1 else xs[0], training=False)

    with tf.device(device):
        xs1 = [tf.constant(x) for x in single]
        xsb = [tf.constant(x) for x in batch]
        out = _outputs(infer(*xs1))
        placement = out[0].device
        for _ in range(3):
            infer(*xs1)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            _ = [o.numpy() for o in _outputs(infer(*xs1))]
            times.append(time.perf_counter() - start)
        _ = [o.numpy() for o in _outputs(infer(*xsb))]  # warm the batch shape
        start = time.perf_counter()
        batch_out = [o.numpy() for o in _outputs(infer(*xsb))]
        batch_s = time.perf_counter() - start
    return {
        "device": device,
        "output_on": placement,
        "first_weight_on": model.weights[0].value.device if model.weights else "",
        "latency_ms_p50": float(np.median(times) * 1000),
        "latency_ms_p90": float(np.percentile(times, 90) * 1000),
        "batch": len(batch[0]),
        "batch_per_s": len(batch[0]) / batch_s,
        "outputs": batch_out,
    }


def main() -> int:
    """Run the check for every model; print one line per model and device, then the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50, help="timed single-example calls per model and device")
    parser.add_argument("--batch", type=int, default=256, help="examples in the throughput batch")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="largest GPU-CPU difference accepted")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    import numpy as np
    import tensorflow as tf

    from medai_core.models import load_model, model_statuses

    gpus = tf.config.list_physical_devices("GPU")
    print(f"TensorFlow {tf.__version__}, built with CUDA: {tf.test.is_built_with_cuda()}")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        print(f"GPU: {details.get('device_name', gpus[0].name)} ({len(gpus)} visible)")
        devices = ["/GPU:0", "/CPU:0"]
    else:
        print("No GPU visible to TensorFlow: running the CPU half only (placement, latency, throughput on the CPU).")
        devices = ["/CPU:0"]
    failures: list[str] = []
    report: list[dict[str, Any]] = []
    print(f"{'model':<20}{'device':<8}{'output on':<16}{'p50 ms':>8}{'p90 ms':>8}{'batch/s':>10}{'max |GPU-CPU|':>15}")
    for status in model_statuses():
        if not status.available:
            print(f"{status.model_id:<20}skipped: {status.problem}")
            continue
        loaded = load_model(status.model_id)
        single = _inputs(loaded.card, 1, seed=0)
        batch = _inputs(loaded.card, args.batch, seed=1)
        runs = [check_device(loaded.keras_model, d, single, batch, args.repeats) for d in devices]
        diff = None
        if len(runs) == 2:
            diff = max(
                float(np.max(np.abs(g.astype(np.float64) - c.astype(np.float64))))
                for g, c in zip(runs[0]["outputs"], runs[1]["outputs"], strict=True)
            )
            if "GPU" not in runs[0]["output_on"].upper():
                failures.append(f"{status.model_id}: pinned to the GPU but its output is on {runs[0]['output_on']}")
            if diff > args.tolerance:
                failures.append(f"{status.model_id}: GPU and CPU differ by {diff:.2e} (> {args.tolerance:g})")
        for run in runs:
            shown = "" if diff is None or run["device"] != "/GPU:0" else f"{diff:.2e}"
            print(
                f"{status.model_id:<20}{run['device'][1:4]:<8}{run['output_on'].rsplit('/', 1)[-1]:<16}"
                f"{run['latency_ms_p50']:>8.2f}{run['latency_ms_p90']:>8.2f}{run['batch_per_s']:>10.0f}{shown:>15}"
            )
            report.append(
                {"model": status.model_id, **{k: v for k, v in run.items() if k != "outputs"}, "max_abs_diff": diff}
            )
    print(f"batch = {args.batch} examples; latency = one example, {args.repeats} warm calls")
    for failure in failures:
        print(f"FAIL {failure}")
    print("GPU check: " + ("passed" if not failures and gpus else "failed" if failures else "CPU only (no GPU)"))
    if args.json:
        args.json.write_text(json.dumps({"gpu": bool(gpus), "models": report, "failures": failures}, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
