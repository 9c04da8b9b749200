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
from medai_core.ct.evaluation import ece_if_calibrated
from medai_core.ct.features import FEATURE_NAMES
from medai_core.ct.scoring import STACKER_FEATURE_NAMES, Stacker
from medai_core.ct.stacking import (
    N_BOOTSTRAP,
    Candidate,
    bootstrap_refits,
    fit_stacker,
    interval_check,
    oof_member_index,
    paired_bootstrap_auc_difference,
    repeated_cv,
)
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


def test_interval_check_reads_each_bin_against_its_own_sampling_error() -> None:
    rng = np.random.default_rng(4)
    p = rng.uniform(0.02, 0.98, size=140)
    y = (rng.random(140) < p).astype(int)
    tight = interval_check(y, p, p - 0.01, p + 0.01, draws=200)
    # ~28 nodules per bin: a calibrated model's observed rate rarely lands inside a 0.02-wide interval, but it is
    # consistent with it once the rate's own Clopper-Pearson range is counted.
    assert float(tight["inside_if_calibrated"].split("/")[0]) < 2.5
    assert tight["bins_consistent"] in {"4/5", "5/5"}
    for row in tight["bins"]:
        low, high = row["observed_rate_range"]
        assert low <= row["observed_rate"] <= high
    shifted = np.clip(p + 0.45, 0, 1)
    wrong = interval_check(y, shifted, shifted - 0.01, np.minimum(shifted + 0.01, 1), draws=50)
    assert int(wrong["bins_consistent"].split("/")[0]) <= 2


def test_ece_if_calibrated_is_the_metric_noise_at_this_size() -> None:
    p = np.random.default_rng(5).uniform(0, 1, size=139)
    small = ece_if_calibrated(p, draws=300)
    large = ece_if_calibrated(np.tile(p, 20), draws=100)
    assert 0.04 < small["median"] < 0.12 and small["median"] <= small["p90"] <= small["p95"]
    assert large["median"] < small["median"] / 2  # the noise floor falls with the square root of n
    assert 0 <= small["share_at_or_below_0_05"] <= 1


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


def test_outer_fold_zero_is_the_cards_held_out_split() -> None:
    from medai_core.ct.nested import N_OUTER, outer_folds

    rng = np.random.default_rng(6)
    exams = np.array([f"e{i // 2}" for i in range(200)])
    labels = (rng.random(200) < 0.3).astype(int)
    folds = outer_folds(labels, exams)
    dev, test = held_out_split(labels, exams)
    assert len(folds) == N_OUTER
    np.testing.assert_array_equal(folds[0][0], dev)
    np.testing.assert_array_equal(folds[0][1], test)
    held = np.concatenate([t for _, t in folds])
    assert sorted(held.tolist()) == list(range(200))  # every nodule is held out exactly once
    for fit, out in folds:
        assert not set(exams[fit]) & set(exams[out])


def test_nested_cv_refuses_another_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models = tmp_path / "models"
    shutil.copytree(REPO / "models" / "ct_nodule", models / "ct_nodule")
    before = (models / "ct_nodule" / "model_card.json").read_bytes()
    code = main(["train", "ct", "--nested-cv", "--dry-run", "--data", str(LIDC), "--out", str(models / "ct_nodule")])
    assert code == 1
    assert "held-out exams" in capsys.readouterr().err
    assert (models / "ct_nodule" / "model_card.json").read_bytes() == before


def test_nested_cv_and_fusion_only_are_separate_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["train", "ct", "--nested-cv", "--fusion-only", "--data", str(LIDC), "--out", str(tmp_path / "x")]
    assert main(argv) == 2
    assert "separate runs" in capsys.readouterr().err


def test_shipped_card_carries_the_nested_cv() -> None:
    card = read_card(REPO / "models" / "ct_nodule")
    nested = card.metrics["nested_cv"]
    folds = nested["folds"]
    assert [f["fold"] for f in folds] == [0, 1, 2, 3, 4]
    assert sum(f["nodules"] for f in folds) == nested["model"]["n"] == 699
    # Fold 0 is the card's held-out fold scored by the shipped weights and stacker.
    assert folds[0]["members"] == "shipped weights" and folds[0]["nodules"] == card.metrics["model"]["n"]
    assert folds[0]["model"]["auc"] == pytest.approx(card.metrics["model"]["auc"], abs=1e-4)
    aucs = [f["model"]["auc"] for f in folds]
    assert nested["model"]["fold_auc_mean"] == pytest.approx(np.mean(aucs), abs=1e-3)
    low, high = nested["model"]["auc_ci95_by_exam"]
    assert low < nested["model"]["auc"] < high
    check = nested["interval_check"]
    assert sum(b["n"] for b in check["bins"]) == 699
    assert check["bins_consistent"] in card.calibration["interval_check_nested"]


@pytest.mark.full_data
def test_nested_fold_zero_reproduces_the_cards_held_out_numbers(shared_data: Path) -> None:
    from medai_core.ct.data import load_nodules
    from medai_core.ct.nested import _score_fold, fold_scores
    from medai_core.ct.scoring import features_for

    folder = shared_data / "ct" / "lidc_nodules"
    data = load_nodules(folder)
    card = read_card(REPO / "models" / "ct_nodule")
    scores = fold_scores(data, 0, REPO / "models" / "ct_nodule")
    probs = _score_fold(data, features_for(data.volumes, radiomics=False), None, scores)
    from medai_core.ct.evaluation import binary_metrics

    y = data.labels[scores.index]
    assert binary_metrics(y, probs["model"])["auc"] == pytest.approx(card.metrics["model"]["auc"], abs=1e-4)
    assert card.metrics["nested_cv"]["folds"][0]["model"]["auc"] == pytest.approx(
        binary_metrics(y, probs["model"])["auc"], abs=1e-4
    )
