"""CT fusion without retraining: the out-of-fold member of each development nodule, the selection CV, the paired
bootstrap, the interval's refits and its held-out check, the card the shipped step wrote, and ``train ct
--fusion-only`` error paths. The full-data test reproduces the shipped stacker's inputs from the 699 crops."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from medai_core.cli import main
from medai_core.ct.data import NoduleSet, held_out_split
from medai_core.ct.features import FEATURE_NAMES
from medai_core.ct.fusion import (
    N_BOOTSTRAP,
    Candidate,
    bootstrap_refits,
    fit_stacker,
    interval_check,
    oof_member_index,
    paired_bootstrap_auc_difference,
    repeated_cv,
)
from medai_core.ct.scoring import STACKER_FEATURE_NAMES, Stacker
from medai_core.models.card import read_card
from medai_core.reports import sha256_bytes

REPO = Path(__file__).resolve().parents[2]
LIDC = REPO / "tests" / "data" / "ct" / "lidc"


def _toy(n_exams: int = 60, seed: int = 0) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    exams = np.repeat(np.arange(n_exams), 2).astype(str)
    y = rng.integers(0, 2, size=len(exams))
    logits = y * 1.5 + rng.normal(0, 1, size=len(y))
    x = rng.normal(0, 1, size=(len(y), len(STACKER_FEATURE_NAMES)))
    x[:, 0] += y  # the first project feature carries signal
    return logits, x, y, exams


def test_oof_member_is_one_per_exam_and_covers_every_fold() -> None:
    exams = np.repeat([f"e{i}" for i in range(50)], 2)
    labels = np.tile([0, 1], 50)
    dev = NoduleSet(tuple(np.zeros((1, 2, 2), np.uint8) for _ in exams), labels, exams, exams)
    who = oof_member_index(dev)
    assert set(who.tolist()) == {0, 1, 2, 3, 4}
    for exam in set(exams):  # all nodules of an exam were held out of the same member
        assert len(set(who[exams == exam].tolist())) == 1


def test_fit_stacker_and_refits_share_one_standardisation() -> None:
    logits, x, y, exams = _toy()
    candidate = Candidate(("cnn_logit", FEATURE_NAMES[0]), c=1.0)
    stacker = fit_stacker(candidate, logits, x, y)
    z = stacker.standardised(logits, x)
    assert np.allclose(z.mean(axis=0), 0, atol=1e-9) and np.allclose(z.std(axis=0), 1, atol=1e-6)
    refits = bootstrap_refits(candidate, logits, x, y, exams, stacker, n=20)
    assert len(refits) == 20 and all(len(r) == 3 for r in refits)
    # the refits scatter around the full fit
    assert np.median([r[1] for r in refits]) == pytest.approx(stacker.coef[0], rel=0.3)
    with_interval = Stacker(*[getattr(stacker, f) for f in ("inputs", "mean", "scale", "coef", "intercept")], refits)
    p, low, high = with_interval.with_interval(np.stack([logits, logits + 0.2], 1), x)
    assert np.all(low <= p) and np.all(p <= high) and np.mean(high - low) > 0


def test_repeated_cv_ranks_an_informative_candidate_first() -> None:
    logits, x, y, exams = _toy(80)
    table, oof = repeated_cv(
        {"signal": Candidate(("cnn_logit", FEATURE_NAMES[0])), "noise": Candidate((FEATURE_NAMES[5],))},
        logits,
        x,
        y,
        exams,
    )
    assert table["signal"]["auc_mean"] > 0.75 > table["noise"]["auc_mean"]
    assert table["signal"]["auc_sd"] >= 0 and oof["signal"].shape == y.shape


def test_paired_bootstrap_difference() -> None:
    logits, _, y, exams = _toy()
    same = paired_bootstrap_auc_difference(y, logits, logits, exams, resamples=200)
    assert same["difference"] == 0 and same["ci95_low"] == 0 and same["ci95_high"] == 0
    worse = logits + np.random.default_rng(3).normal(0, 3, size=len(y))
    gain = paired_bootstrap_auc_difference(y, logits, worse, exams, resamples=200)
    assert gain["difference"] > 0 and gain["ci95_low"] <= gain["difference"] <= gain["ci95_high"]
    assert gain["p_not_better"] < 0.5


def test_interval_check_counts_bins_inside() -> None:
    p = np.linspace(0.05, 0.95, 100)
    y = (np.arange(100) % 10 < p * 10).astype(int)
    check = interval_check(y, p, p - 0.2, p + 0.2)
    assert check["mean_width"] == pytest.approx(0.4)
    assert check["bins_inside"] == "5/5" and sum(b["n"] for b in check["bins"]) == 100
    narrow = interval_check(y, p, p, p)
    assert narrow["mean_width"] == 0


def test_shipped_card_carries_the_interval_refits_and_the_comparison() -> None:
    folder = REPO / "models" / "ct_nodule"
    card = read_card(folder)
    assert sha256_bytes((folder / card.weights_file).read_bytes()) == card.weights_sha256
    stacker = Stacker.from_artifact(card.artifacts["stacker"])
    assert len(stacker.bootstrap) == N_BOOTSTRAP and all(len(r) == len(stacker.inputs) + 1 for r in stacker.bootstrap)
    assert stacker.interval_level == 0.8
    assert "bootstrap" in card.calibration["interval"] and "not a range" in card.calibration["interval"]
    selection = card.artifacts["fusion_selection"]
    assert selection["chosen"] in selection["cv_auc_mean"] and "decision" in selection
    assert card.metrics["fusion_held_out"]["shipped model"]["auc"] == pytest.approx(card.metrics["model"]["auc"])
    check = card.calibration["interval_held_out_check"]
    assert check["mean_width"] == card.metrics["model"]["mean_interval_width"]


def test_fusion_only_refuses_another_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models = tmp_path / "models"
    shutil.copytree(REPO / "models" / "ct_nodule", models / "ct_nodule")
    before = (models / "ct_nodule" / "model_card.json").read_bytes()
    code = main(["train", "ct", "--fusion-only", "--dry-run", "--data", str(LIDC), "--out", str(models / "ct_nodule")])
    assert code == 1  # a model/card problem, not bad input
    assert "held-out exams differ" in capsys.readouterr().err
    assert (models / "ct_nodule" / "model_card.json").read_bytes() == before


def test_dry_run_needs_fusion_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "ct", "--dry-run", "--data", str(LIDC), "--out", str(tmp_path / "x")]) == 2
    assert "--fusion-only" in capsys.readouterr().err


@pytest.mark.full_data
def test_out_of_fold_logits_reproduce_the_shipped_stacker(shared_data: Path) -> None:
    from medai_core.ct.data import load_nodules
    from medai_core.ct.scoring import features_for, member_logits_for
    from medai_core.models import load_model

    folder = shared_data / "ct" / "lidc_nodules"
    data = load_nodules(folder)
    dev_idx, _ = held_out_split(data.labels, data.exam_ids)
    dev = data.subset(dev_idx)
    model = load_model("ct_nodule")
    logits = member_logits_for(dev.volumes, lambda b: np.asarray(model.predict(b))[:, 1:])
    oof = logits[np.arange(len(dev.labels)), oof_member_index(dev)]
    x = features_for(dev.volumes)
    stacker = Stacker.from_artifact(model.card.artifacts["stacker"])
    refit = fit_stacker(Candidate(stacker.inputs), oof, x, dev.labels)
    np.testing.assert_allclose(refit.coef, stacker.coef, atol=1e-4)
    np.testing.assert_allclose(refit.mean, stacker.mean, rtol=1e-5)
