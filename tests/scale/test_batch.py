"""``batch --engine ray`` (Ray Data, actor pool) gives the same rows as ``batch --engine local``, per domain."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from medai_core.batch import BatchOptions, run_batch
from tests.scale.conftest import CT_CENTER

OPTIONS = {
    "ct": BatchOptions(center=CT_CENTER),
    "glucose": BatchOptions(),
    "genes": BatchOptions(tumour_type="Melanoma"),
}


def _assert_same_rows(local: pd.DataFrame, ray: pd.DataFrame) -> None:
    assert list(local.columns) == list(ray.columns)
    assert list(local["input"]) == list(ray["input"])
    for column in local.columns:
        for a, b in zip(local[column], ray[column], strict=True):
            if isinstance(a, float) and isinstance(b, float):
                assert a == pytest.approx(b, abs=1e-5, nan_ok=True), column
            elif isinstance(a, str) and a.startswith("[") and isinstance(b, str):
                np.testing.assert_allclose(_numbers(a), _numbers(b), atol=1e-5, err_msg=column)
            else:
                assert a == b or (a is None and b is None), column


def _numbers(text: str) -> list[float]:
    flat: list[float] = []

    def walk(value: object) -> None:
        if isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat.append(float(value))

    walk(json.loads(text))
    return flat


@pytest.mark.parametrize("domain", ["ct", "glucose", "genes"])
def test_ray_engine_equals_local_engine(
    ray_session: None, archives: dict[str, Path], tmp_path: Path, domain: str
) -> None:
    folder = archives[domain]
    local = run_batch(domain, [str(folder)], tmp_path / "local.parquet", OPTIONS[domain], progress=False)
    ray = run_batch(
        domain,
        [str(folder)],
        tmp_path / "ray.parquet",
        OPTIONS[domain],
        engine="ray",
        workers=1,
        cpus_per_worker=0.25,
        progress=False,
    )
    assert (local.scored, local.errors, local.internal_errors) == (3, 1, 0)
    assert (ray.scored, ray.errors, ray.internal_errors) == (3, 1, 0)
    left, right = pd.read_parquet(local.out), pd.read_parquet(ray.out)
    _assert_same_rows(left, right)
    good = left[left["error"].isna()]
    assert len(good) == 2
    assert good["input_sha256"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert (
        good["model_id"] == {"ct": "ct_nodule", "glucose": "glucose_forecast", "genes": "gene_ici_survival"}[domain]
    ).all()


def test_resume_skips_scored_inputs_and_rescores_changed_ones(archives: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "panels"
    folder.mkdir()
    for item in archives["genes"].iterdir():
        (folder / item.name).write_bytes(item.read_bytes())
    out = folder / "genes.parquet"  # inside the archive: never an input of its own
    first = run_batch("genes", [str(folder)], out, OPTIONS["genes"], progress=False)
    assert (first.total, first.scored, first.skipped) == (3, 3, 0)
    again = run_batch("genes", [str(folder)], out, OPTIONS["genes"], progress=False)
    assert (again.scored, again.skipped) == (0, 3)
    from medai_core.genomics.demo import demo_maf

    (folder / "synthetic_5.maf").write_bytes(demo_maf(40, seed=1))  # same name, new content
    (folder / "new.maf").write_bytes(demo_maf(12, seed=2))
    third = run_batch("genes", [str(folder)], out, OPTIONS["genes"], progress=False)
    assert (third.total, third.scored, third.skipped) == (4, 2, 2)
    frame = pd.read_parquet(out)
    assert len(frame) == 4 and frame["input"].is_unique
    from medai_core.batch import input_sha256

    row = frame[frame["input"] == str(folder / "synthetic_5.maf")].iloc[0]
    assert row["input_sha256"] == input_sha256(folder / "synthetic_5.maf")
    broken = frame[frame["input"].str.endswith("broken.maf")].iloc[0]
    assert broken["error"] and "internal error" not in broken["error"]
    assert broken["model_id"] == "gene_ici_survival" and len(broken["weights_sha256"]) == 64


def test_rows_carry_the_predict_fields_flattened(archives: dict[str, Path], tmp_path: Path) -> None:
    from medai_core.batch import flatten_payload

    summary = run_batch(
        "glucose",
        [str(archives["glucose"] / "simulated_3.csv")],
        tmp_path / "g.parquet",
        OPTIONS["glucose"],
        progress=False,
    )
    row = pd.read_parquet(summary.out).iloc[0]
    assert row["error"] is None
    assert 0 <= row["metrics.tir_70_180"] <= 100
    assert len(json.loads(row["forecast.p50"])) == 12
    assert 0 <= row["hypo_risk.lt70_30min"] <= 1
    assert flatten_payload({"a": {"b": 1, "c": [1, 2]}, "d": None}) == {"a.b": 1, "a.c": "[1, 2]", "d": None}


def test_bad_arguments_are_input_errors(archives: dict[str, Path], tmp_path: Path) -> None:
    from medai_core.batch import collect_inputs
    from medai_core.errors import CGMInputError, ImageInputError, InputError, PanelInputError

    with pytest.raises(PanelInputError, match="tumour-type"):
        run_batch("genes", [str(archives["genes"])], tmp_path / "o.parquet", BatchOptions(), progress=False)
    with pytest.raises(ImageInputError, match="--center"):
        run_batch("ct", [str(archives["ct"])], tmp_path / "o.parquet", BatchOptions(center="1;2"), progress=False)
    with pytest.raises(CGMInputError, match=r"\.parquet"):
        run_batch("glucose", [str(archives["glucose"])], tmp_path / "o.csv", BatchOptions(), progress=False)
    with pytest.raises(CGMInputError, match="does not exist"):
        collect_inputs([str(tmp_path / "missing")], "glucose")
    with pytest.raises(CGMInputError, match="matches no"):
        collect_inputs([str(tmp_path / "*.nothing")], "glucose")
    other = tmp_path / "other.parquet"
    pd.DataFrame({"x": [1]}).to_parquet(other)
    with pytest.raises(InputError, match="not a batch output"):
        run_batch("glucose", [str(archives["glucose"])], other, BatchOptions(), progress=False)
    assert len(collect_inputs([str(archives["ct"]), str(archives["ct"] / "*.zip")], "ct")) == 3


def test_folder_input_hash_covers_names_and_content(tmp_path: Path) -> None:
    from medai_core.batch import input_sha256

    a = tmp_path / "a"
    a.mkdir()
    (a / "0.png").write_bytes(b"x")
    first = input_sha256(a)
    (a / "0.png").rename(a / "1.png")
    assert input_sha256(a) != first
    (a / "1.png").write_bytes(b"y")
    assert len({first, input_sha256(a)}) == 2


def test_cli_batch_and_serve_verbs(
    archives: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from medai_core.cli import main

    out = tmp_path / "cli.parquet"
    code = main(["batch", "genes", "--input", str(archives["genes"]), "--out", str(out), "--tumour-type", "Melanoma"])
    assert code == 0
    assert "3 scored (1 with an error)" in capsys.readouterr().out
    assert main(["batch", "genes", "--input", str(archives["genes"]), "--out", str(out)]) == 2
    assert "tumour-type" in capsys.readouterr().err
    assert main(["serve", "--replicas", "0"]) == 2


def test_a_model_failure_stops_the_run_and_keeps_what_was_scored(
    archives: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from medai_core.batch import InputScorer
    from medai_core.errors import ModelError

    original = InputScorer._score

    def failing(self: InputScorer, path: Path) -> dict[str, object]:
        if path.name == "synthetic_9.maf":
            raise ModelError("the model server at http://127.0.0.1:9 cannot be reached")
        return original(self, path)

    monkeypatch.setattr(InputScorer, "_score", failing)
    out = tmp_path / "partial.parquet"
    with pytest.raises(ModelError, match="cannot be reached"):
        run_batch("genes", [str(archives["genes"])], out, OPTIONS["genes"], progress=False)
    assert sorted(Path(p).name for p in pd.read_parquet(out)["input"]) == ["broken.maf", "synthetic_5.maf"]
    monkeypatch.setattr(InputScorer, "_score", original)
    resumed = run_batch("genes", [str(archives["genes"])], out, OPTIONS["genes"], progress=False)
    assert (resumed.scored, resumed.skipped) == (1, 2)
