"""Settings from the environment, and the command line's shared verbs and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medai_core.cli import main
from medai_core.config import get_settings


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEDAI_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("MEDAI_MAX_UPLOAD_MB", "5")
    monkeypatch.setenv("MEDAI_DEVICE", "CPU")
    settings = get_settings()
    assert settings.models_dir == tmp_path
    assert settings.max_upload_bytes == 5 * 1024 * 1024
    assert settings.device_policy == "cpu"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("MEDAI_MAX_UPLOAD_MB", "lots", "whole number"),
        ("MEDAI_MAX_UPLOAD_MB", "0", "positive"),
        ("MEDAI_DEVICE", "tpu", "one of auto, cpu, gpu"),
    ],
)
def test_bad_settings_are_explained(monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message):
        get_settings()


def test_models_json(
    tiny_models_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEDAI_MODELS_DIR", str(tiny_models_dir))
    assert main(["models", "--json"]) == 0
    (doc,) = json.loads(capsys.readouterr().out)
    assert doc["id"] == "tiny_test" and doc["version"] == "0.0.1" and doc["available"]
    assert doc["headline"] == {"name": "AUC", "value": 0.5, "split": "none (fixture)"}
    assert len(doc["weights_sha256"]) == 64 and doc["task"]
    assert main(["models"]) == 0
    assert "tiny_test" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-verb"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_bad_input_gives_exit_2_and_one_stderr_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    missing = tmp_path / "absent.csv"
    done = subprocess.run(
        [sys.executable, "-m", "medai_core", "predict", "glucose", str(missing), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and "no such file" in lines[0] and "Traceback" not in done.stderr


def test_a_bad_setting_is_one_line_and_exit_2() -> None:
    """``MEDAI_MAX_UPLOAD_MB=abc python -m medai_core models`` printed a traceback (a plain ValueError)."""
    import os
    import subprocess
    import sys

    from medai_core.errors import ConfigError, MedaiError

    assert issubclass(ConfigError, MedaiError) and issubclass(ConfigError, ValueError)
    env = {**os.environ, "MEDAI_MAX_UPLOAD_MB": "abc"}
    run = subprocess.run([sys.executable, "-m", "medai_core", "models"], capture_output=True, text=True, env=env)
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr == "error: MEDAI_MAX_UPLOAD_MB must be a whole number of MiB, got 'abc'\n"


def test_a_missing_file_is_answered_before_tensorflow_starts() -> None:
    """``predict glucose missing.csv`` started TensorFlow (6-16 s on two cores) before saying the file is missing;
    the speed itself is measured in benchmarks, here only that TensorFlow and pandas are never imported."""
    import subprocess
    import sys

    code = (
        "import sys; from medai_core.cli import main; "
        "code = main(['predict', 'glucose', 'missing.csv']); "
        "print(code, 'tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.stdout.split() == ["2", "False", "False"], run.stderr[-500:]
    assert "missing.csv: no such file" in run.stderr
