"""Put the cohort-derived MSK-IMPACT sizes into the gene model's card without retraining, and show what they change.

``gene_ici_survival`` 1.0.0 was trained with TMB = calls / (IMPACT341 0.896, IMPACT410 1.016, IMPACT468 1.016 Mb);
the cohort's own columns give IMPACT468 1.139 Mb (``scripts/build_panel_sizes.py``). This script

* records the training sizes in ``artifacts.features.tmb_panel_mb``, so inference converts a TMB computed with
  today's sizes back to the feature the model was trained on (:meth:`FeatureSpec.model_tmb`);
* rebuilds ``artifacts.tmb_reference`` (the percentile reference) with today's sizes, the scale a TMB is shown on;
* writes ``metrics.tmb_scale``: the held-out metrics with the conversion (which must equal the card's) beside those
  of feeding the new-scale TMB unconverted, the model cohort's patients per panel, and how many of them were
  TMB-high (>= 10) only with the training sizes.

The weights are not touched (the loader checks their sha256 against the card).

Usage::

    python scripts/update_gene_card_tmb_scale.py [--data ../shared/data/genes/samstein2019] [--dry-run]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from medai_core.genomics.evaluation import (
        DATASET,
        evaluate_predictions,
        risk_from_survival,
    )
    from medai_core.genomics.panels import resolve_panel
    from medai_core.genomics.prepare import LEGACY_TMB_PANEL_MB, FeatureSpec, encode_cohort, load_cohort
    from medai_core.models import load_model
    from medai_core.models.card import ModelCard, write_card

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "genes" / "samstein2019")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models" / "gene_ici_survival")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()

    loaded = load_model(args.model_dir.name, args.model_dir.parent)
    card = loaded.card.to_dict()
    features = card["artifacts"]["features"]
    features.setdefault("tmb_panel_mb", dict(LEGACY_TMB_PANEL_MB))
    spec = FeatureSpec.from_dict(features)
    current = {name: resolve_panel(name).size_mb for name in dict(LEGACY_TMB_PANEL_MB)}
    unconverted = dataclasses.replace(spec, tmb_panel_mb=tuple(current.items()))

    cohort = load_cohort(args.data)
    roles = loaded.card.manifest.roles(DATASET, cohort.sample_ids.tolist())
    test = cohort.subset(np.flatnonzero(np.array([r == "test" for r in roles])))
    bin_months = float(card["artifacts"]["bin_months"])
    i12, i24 = round(12 / bin_months) - 1, round(24 / bin_months) - 1

    def held_out(s: FeatureSpec) -> dict[str, object]:
        surv = np.asarray(loaded.predict(encode_cohort(s, test))).mean(axis=1)
        metrics = evaluate_predictions(test.os_months, test.event, risk_from_survival(surv), surv[:, i12], surv[:, i24])
        out = metrics.to_dict()
        out.pop("calibration_24m", None)
        out["calibration_mae_24m"] = metrics.calibration_24m["mean_abs_error"] if metrics.calibration_24m else None
        return out

    with_conversion, without = held_out(spec), held_out(unconverted)
    recorded = card["metrics"]["held_out"]["model"]
    for key in ("c_index", "auc_12m", "auc_24m"):
        if abs(float(with_conversion[key]) - float(recorded[key])) > 0.002:  # type: ignore[arg-type]
            raise SystemExit(
                f"with the conversion, held-out {key} is {with_conversion[key]}, the card says {recorded[key]}"
            )
    legacy = dict(LEGACY_TMB_PANEL_MB)
    counts = {
        p: int(((cohort.panel == p) & (cohort.tmb * current[p] / legacy[p] >= 10) & (cohort.tmb < 10)).sum())
        for p in current
    }
    card["metrics"]["tmb_scale"] = {
        "panel_sizes_mb": current,
        "training_sizes_mb": legacy,
        "held_out_with_conversion": with_conversion,
        "held_out_without_conversion": without,
        "cohort_patients_by_panel": {p: int((cohort.panel == p).sum()) for p in current},
        "cohort_patients_tmb_high_only_with_training_sizes": counts,
        "note": "TMB is shown with the cohort-derived panel sizes (IMPACT468 1.139 Mb: median mutation count / TMB "
        "score of its samples); the model and its Cox baselines receive it converted back to the sizes they were "
        "trained with (IMPACT468 1.016 Mb), so predictions are unchanged. 'without conversion' shows what feeding the "
        "new-scale TMB directly would have done to the held-out metrics.",
    }
    card["artifacts"]["tmb_reference"] = {
        str(t): np.round(np.sort(cohort.tmb[cohort.cancer_type == t]), 3).tolist()
        for t in np.unique(cohort.cancer_type)
    }
    card["artifacts"]["tmb_reference_note"] = (
        "nonsynonymous mutations per Mb of every sequenced patient of the cohort, by type, with the cohort-derived "
        "panel sizes (IMPACT341 0.897, IMPACT410 1.016, IMPACT468 1.139 Mb)"
    )
    card["inputs"]["preprocessing"] = (
        "medai_core.genomics.prepare.encode with artifacts.features; TMB = nonsynonymous calls / panel Mb as trained "
        "(artifacts.features.tmb_panel_mb: IMPACT341 0.896, IMPACT410/468 1.016): a TMB shown with the cohort-derived "
        "sizes is converted back (FeatureSpec.model_tmb); genes off the panel have obs=0 and mut=0"
    )
    print(json.dumps(card["metrics"]["tmb_scale"], indent=2))
    if not args.dry_run:
        written = write_card(ModelCard.from_dict(card), args.model_dir)
        print(f"wrote {written}")


if __name__ == "__main__":
    main()
