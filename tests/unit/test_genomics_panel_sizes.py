"""Panel sizes derived from the cohort's own columns, and the survival model still fed its training feature
(issue 16 item 6: IMPACT468 was sized as IMPACT410, 1.016 Mb; the cohort gives 1.139 Mb)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medai_core.genomics.panels import resolve_panel
from medai_core.genomics.prepare import LEGACY_TMB_PANEL_MB, FeatureSpec, encode
from medai_core.genomics.readers import read_panel
from medai_core.genomics.tmb import compute_tmb

ROOT = Path(__file__).resolve().parents[2]
CARD = ROOT / "models" / "gene_ici_survival" / "model_card.json"
GENES = ("FAT1", "ZFHX3", "GRIN2A", "PTPRT", "KMT2C", "ARID1B", "NOTCH3", "EPHA3", "FLT1", "KDR", "ERBB4")
ELEVEN_MISSENSE = "Hugo_Symbol\tVariant_Classification\tHGVSp_Short\n" + "".join(
    f"{gene}\tMissense_Mutation\tp.R{100 + i}H\n" for i, gene in enumerate(GENES)
)


def test_impact_sizes_are_the_cohorts_and_say_so() -> None:
    sizes = {name: resolve_panel(name) for name in ("IMPACT341", "IMPACT410", "IMPACT468")}
    assert {n: p.size_mb for n, p in sizes.items()} == {"IMPACT341": 0.897, "IMPACT410": 1.016, "IMPACT468": 1.139}
    assert "420 samples" in sizes["IMPACT468"].size_source and "Samstein" in sizes["IMPACT468"].size_source


def test_eleven_missense_calls_on_impact468_are_tmb_9_7_not_high() -> None:
    calls = read_panel(ELEVEN_MISSENSE.encode(), name="eleven.maf").variants
    tmb = compute_tmb(calls, resolve_panel("IMPACT468"), cancer_type="Non-Small Cell Lung Cancer")
    assert tmb.n_nonsynonymous == 11
    assert round(tmb.tmb_per_mb, 1) == 9.7 and not tmb.high  # 10.8 and TMB-high with 1.016 Mb


def test_model_receives_the_tmb_it_was_trained_on() -> None:
    card = json.loads(CARD.read_text(encoding="utf-8"))
    spec = FeatureSpec.from_dict(card["artifacts"]["features"])
    assert dict(spec.tmb_panel_mb) == dict(LEGACY_TMB_PANEL_MB)  # 1.0.0 was trained with IMPACT468 = 1.016 Mb
    panel = resolve_panel("IMPACT468")
    shown = 11 / panel.size_mb
    assert spec.model_tmb(shown, panel) == pytest.approx(11 / 1.016)
    x = encode(spec, cancer_type="Melanoma", tmb=shown, mutated=(), panel=panel, drug_class="PD-1/PD-L1")
    z = x[spec.names.index("log_tmb")]
    assert z == pytest.approx((np.log1p(11 / 1.016) - spec.log_tmb_mean) / spec.log_tmb_sd, rel=1e-6)
    wes = resolve_panel("WES")  # not a panel the training sized: passed through
    assert spec.model_tmb(3.0, wes) == 3.0


def test_a_card_without_training_sizes_is_read_with_the_sizes_it_was_trained_with() -> None:
    card = json.loads(CARD.read_text(encoding="utf-8"))
    features = {k: v for k, v in card["artifacts"]["features"].items() if k != "tmb_panel_mb"}
    assert FeatureSpec.from_dict(features).tmb_panel_mb == LEGACY_TMB_PANEL_MB


def test_card_shows_the_conversion_and_the_percentile_reference_is_on_the_shown_scale() -> None:
    card = json.loads(CARD.read_text(encoding="utf-8"))
    scale = card["metrics"]["tmb_scale"]
    assert scale["panel_sizes_mb"]["IMPACT468"] == 1.139 and scale["training_sizes_mb"]["IMPACT468"] == 1.016
    assert {"held_out_with_conversion", "held_out_without_conversion"} <= set(scale)
    assert "1.139" in card["artifacts"]["tmb_reference_note"]


def test_shipped_sizes_are_what_the_script_derives_from_the_cohort(shared_data: Path) -> None:
    from scripts.build_panel_sizes import panel_sizes

    derived = panel_sizes(shared_data / "genes" / "samstein2019" / "clinical.tsv")
    for name, (size, samples, _, _) in derived.items():
        assert resolve_panel(name).size_mb == round(size, 3)
        assert f"{samples} samples" in resolve_panel(name).size_source
