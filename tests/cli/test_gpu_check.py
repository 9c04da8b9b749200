"""benchmarks/gpu_check.sh: its CPU half (the path of a machine without a GPU) runs every model end to end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_cpu_half_reports_every_model(tmp_path: Path) -> None:
    out = tmp_path / "gpu_check.json"
    env = {**os.environ, "PYTHON": sys.executable, "GPU_CHECK_NO_INSTALL": "1", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh", "--repeats", "2", "--batch", "4", "--json", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "running the CPU half only" in result.stdout
    assert "GPU check: CPU only (no GPU)" in result.stdout
    report = json.loads(out.read_text())
    assert report["gpu"] is False and report["failures"] == []
    models = {m["model"] for m in report["models"]}
    assert models == {p.name for p in (REPO / "models").iterdir() if (p / "model_card.json").is_file()}
    for run in report["models"]:
        assert run["device"] == "/CPU:0" and run["output_on"].endswith("CPU:0")
        assert run["latency_ms_p50"] > 0 and run["batch_per_s"] > 0 and run["batch"] == 4
        assert run["max_abs_diff"] is None
