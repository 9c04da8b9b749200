"""Command-line verbs of the gene-panel domain (``genes``): predict, evaluate, train, bench, and ``evidence import``.

The names, options and JSON keys follow ``../shared/docs/CLI.md``. Heavy modules are imported inside handlers so
that ``python -m medai_core models`` stays fast.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import Any

from medai_core.errors import PanelInputError

__all__ = ["MODEL_ID", "register", "result_payload"]

MODEL_ID = "gene_ici_survival"
DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "genes" / "samstein2019"


def register(verbs: dict[str, Any]) -> None:
    """Add the ``genes`` sub-commands to the dispatcher's verbs, and ``evidence import`` at the root."""
    p = verbs["predict"].add_parser("genes", help="TMB, evidence and immunotherapy survival for a tumour panel")
    p.add_argument("file", metavar="FILE", help="MAF, VEP/SnpEff-annotated VCF, or CSV/TSV (gene, protein_change)")
    p.add_argument("--tumour-type", required=True, help="cancer type, e.g. 'Melanoma' or 'NSCLC'")
    p.add_argument("--panel", default="IMPACT468", help="IMPACT341|IMPACT410|IMPACT468|WES|<Mb> (default IMPACT468)")
    p.add_argument("--sample", default=None, help="tumour sample id when the file holds several")
    p.add_argument(
        "--drug-class",
        default="PD-1/PD-L1",
        choices=["PD-1/PD-L1", "CTLA-4", "Combination"],
        help="class the attributions refer to (survival is given for every class)",
    )
    p.add_argument("--age-group", default=None, choices=["<30", "31-50", "50-60", "61-70", ">71"])
    p.add_argument("--sex", default=None, choices=["Male", "Female"])
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=predict_genes)

    e = verbs["evaluate"].add_parser("genes", help="C-index and 12/24-month AUC on a samstein2019-layout folder")
    e.add_argument("--data", required=True, help="folder with clinical.tsv, mutations.maf.gz, sequenced_samples.txt")
    e.add_argument("--json", action="store_true")
    e.add_argument("--predictions", default=None, help="write sample_id,risk,os_12m,os_24m to this CSV")
    e.add_argument(
        "--held-out-only",
        action="store_true",
        help="score only patients that were not in the model's training split (recognised by one-way hashes of "
        "their sample ids in the model card); on samstein2019 this reproduces the card's held-out figures",
    )
    e.set_defaults(handler=evaluate_genes)

    t = verbs["train"].add_parser("genes", help="retrain gene_ici_survival with the fixed seed")
    t.add_argument("--data", default=str(DEFAULT_DATA), help="samstein2019 folder")
    t.add_argument("--out", default=None, help="model folder (default models/gene_ici_survival)")
    t.set_defaults(handler=train_genes)

    b = verbs["bench"].add_parser("genes", help="warm latency of a 500-variant MAF to the full result")
    b.add_argument("--repeat", type=int, default=20)
    b.set_defaults(handler=bench_genes)

    root = verbs["root"].add_parser("evidence", help="manage the CIViC knowledge-base export")
    sub = root.add_subparsers(dest="evidence_verb", required=True)
    i = sub.add_parser("import", help="validate a downloaded CIViC ClinicalEvidenceSummaries.tsv and install it")
    i.add_argument("file", metavar="FILE")
    i.add_argument("--json", action="store_true")
    i.set_defaults(handler=evidence_import_cmd)


def result_payload(result: Any, card: Any) -> dict[str, Any]:
    """The JSON document of one analysis (CLI contract keys, plus a few added fields)."""
    from medai_core.genomics.evidence import evidence_rows

    selected = result.selected
    return {
        "tumour_type": result.tumour_type,
        "panel": result.panel,
        "tmb": round(result.tmb.tmb_per_mb, 3),
        "tmb_high": result.tmb.high,
        "tmb_percentile": None if result.tmb.percentile is None else round(result.tmb.percentile, 1),
        "tmb_reference": result.tmb.reference_source,
        "n_nonsynonymous": result.n_nonsynonymous,
        "variants": [
            {"gene": v.gene, "protein_change": v.protein_change, "classification": v.classification, "vaf": v.vaf}
            for v in result.variants
        ],
        "evidence": evidence_rows(result.evidence),
        "drug_class": result.drug_class,
        "survival": {
            "months": [float(m) for m in result.months],
            "probability": [round(float(p), 4) for p in selected.probability],
            "low": [round(float(p), 4) for p in selected.low],
            "high": [round(float(p), 4) for p in selected.high],
        },
        "os_12m": round(selected.os_12m[0], 4),
        "os_12m_interval": [round(selected.os_12m[1], 4), round(selected.os_12m[2], 4)],
        "os_24m": round(selected.os_24m[0], 4),
        "os_24m_interval": [round(selected.os_24m[1], 4), round(selected.os_24m[2], 4)],
        "by_drug_class": {
            s.drug_class: {"os_24m": round(s.os_24m[0], 4), "interval": [round(s.os_24m[1], 4), round(s.os_24m[2], 4)]}
            for s in result.survival
        },
        "baseline_os_24m": round(result.baseline_os_24m, 4),
        "attributions": [{"feature": f, "value": round(v, 3)} for f, v in result.attributions],
        "disagreement": result.disagreement,
        "caveat": "outcome on treatment in an observational cohort, not randomised benefit",
        "model_id": card.id,
        "model_version": card.version,
        "weights_sha256": card.weights_sha256,
    }


def predict_genes(args: argparse.Namespace) -> int:
    """``predict genes FILE --tumour-type TYPE [--panel ...] [--sample ID] [--json]``."""
    from medai_core.files import read_input_file
    from medai_core.genomics.analysis import analyse_bytes
    from medai_core.genomics.io import read_panel
    from medai_core.genomics.panels import resolve_panel
    from medai_core.genomics.tumours import resolve_tumour_type
    from medai_core.isolation import read_isolated
    from medai_core.models import load_model
    from medai_core.serialization import emit_json

    path = Path(args.file)
    data = read_input_file(path, PanelInputError, "a MAF, annotated VCF or CSV panel")
    read_isolated(read_panel, data, path.name, label=path.name)  # parsed first in a limited worker: see isolation
    resolve_tumour_type(args.tumour_type)  # bad input fails before the model loads
    resolve_panel(args.panel)
    loaded = load_model(MODEL_ID)
    result = analyse_bytes(
        data,
        path.name,
        model=loaded,
        tumour_type=args.tumour_type,
        panel=args.panel,
        sample=args.sample,
        drug_class=args.drug_class,
        age_group=args.age_group,
        sex=args.sex,
    )
    payload = {"input": str(path), **result_payload(result, loaded.card)}
    if args.json:
        emit_json(payload)
        return 0
    tmb = result.tmb
    pct = f", {tmb.percentile_label} of {result.tumour_type}" if tmb.percentile is not None else ""
    print(f"{path.name}: {result.tumour_type}, panel {result.panel}")
    print(
        f"TMB {tmb.tmb_per_mb:.1f} mut/Mb ({tmb.n_nonsynonymous} nonsynonymous calls / {tmb.size_mb:g} Mb{pct})"
        f"{'  TMB-HIGH' if tmb.high else ''}"
    )
    for s in result.survival:
        print(
            f"  {s.drug_class:<12} OS 12 m {s.os_12m[0]:.0%} [{s.os_12m[1]:.0%}-{s.os_12m[2]:.0%}]   "
            f"OS 24 m {s.os_24m[0]:.0%} [{s.os_24m[1]:.0%}-{s.os_24m[2]:.0%}]"
        )
    print(f"  baseline (Cox: cancer type + TMB) OS 24 m {result.baseline_os_24m:.0%}")
    for e in result.evidence[:10]:
        same = "same type" if e.same_tumour_type else "other type"
        print(f"  evidence {e.level}: {e.matched} -> {e.significance} to {e.drugs} ({e.disease}, {same}; {e.source})")
    if result.disagreement:
        print(result.disagreement)
    print("Outcome on treatment in an observational cohort, not randomised benefit. Research use only.")
    return 0


def evaluate_genes(args: argparse.Namespace) -> int:
    """``evaluate genes --data DIR [--json] [--predictions CSV] [--held-out-only]``: the model and, on the same
    patients, the two baselines stored in the card (Cox on log TMB; Cox on cancer type + log TMB)."""
    import numpy as np

    from medai_core.genomics.prepare import FeatureSpec, encode_cohort, load_cohort
    from medai_core.genomics.train import (
        baseline_designs,
        cox_from_artifact,
        evaluate_cox,
        evaluate_predictions,
        format_metrics_table,
        risk_from_survival,
        sample_hash,
    )
    from medai_core.models import load_model
    from medai_core.serialization import emit_json

    data = Path(args.data)
    if not data.is_dir():
        raise PanelInputError(f"{data} is not a folder. Give a folder in the samstein2019 layout.")
    cohort = load_cohort(data)
    loaded = load_model(MODEL_ID)
    trained = set(loaded.card.training_data.get("train_sample_sha256_12", []))
    in_training = np.array([sample_hash(s) in trained for s in cohort.sample_ids], dtype=bool)
    if args.held_out_only:
        cohort = cohort.subset(np.flatnonzero(~in_training))
        in_training = np.zeros(len(cohort), dtype=bool)
    if len(cohort) == 0:
        raise PanelInputError(f"{data}: no patient to score (none listed in sequenced_samples.txt, or all trained on).")
    spec = FeatureSpec.from_dict(loaded.card.artifacts["features"])
    x = encode_cohort(spec, cohort)
    surv = np.concatenate([np.asarray(loaded.predict(x[i : i + 256])) for i in range(0, len(x), 256)]).mean(axis=1)
    bin_months = float(loaded.card.artifacts["bin_months"])
    i12, i24 = int(12 / bin_months) - 1, int(24 / bin_months) - 1
    risk = risk_from_survival(surv)
    metrics = evaluate_predictions(cohort.os_months, cohort.event, risk, surv[:, i12], surv[:, i24])
    results = {"model": metrics.to_dict()}
    designs = baseline_designs(spec, cohort)
    for name in ("cox_tmb", "cox_type_tmb"):
        cox = cox_from_artifact(loaded.card.artifacts[f"baseline_{name}"])
        results[name] = evaluate_cox(cox, designs[name], cohort).to_dict()
    if args.predictions:
        with open(args.predictions, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["sample_id", "risk", "os_12m", "os_24m"])
            for sid, r, s12, s24 in zip(cohort.sample_ids, risk, surv[:, i12], surv[:, i24], strict=True):
                writer.writerow([sid, f"{r:.4f}", f"{s12:.4f}", f"{s24:.4f}"])
    n_in_training = int(in_training.sum())
    doc = {
        "n": metrics.n,
        "c_index": round(metrics.c_index, 4),
        "auc_12m": round(metrics.auc_12m, 4),
        "auc_24m": round(metrics.auc_24m, 4),
        "calibration_24m": metrics.calibration_24m,
        "baselines": {k: v for k, v in results.items() if k != "model"},
        "n_in_training": n_in_training,
        "held_out_only": bool(args.held_out_only),
        "model_id": loaded.card.id,
        "model_version": loaded.card.version,
        "weights_sha256": loaded.card.weights_sha256,
    }
    if args.json:
        emit_json(doc)
        return 0
    scope = "patients not in the training split" if args.held_out_only else "all sequenced patients"
    print(f"{MODEL_ID} v{loaded.card.version} on {data} ({scope})")
    print(format_metrics_table(results))
    if n_in_training:
        print(
            f"note: {n_in_training} of these patients were in the training split, so these figures are not "
            "held-out; add --held-out-only."
        )
    return 0


def train_genes(args: argparse.Namespace) -> int:
    """``train genes --data PATH [--out models/gene_ici_survival]``."""
    from medai_core.config import get_settings
    from medai_core.genomics.train import train

    out = Path(args.out) if args.out else get_settings().models_dir / MODEL_ID
    data = Path(args.data)
    if not data.is_dir():
        raise PanelInputError(f"{data} is not a folder. Give the samstein2019 folder (clinical.tsv, mutations.maf.gz).")
    train(data, out, progress=lambda line: print(line, flush=True))
    return 0


def bench_genes(args: argparse.Namespace) -> int:
    """``bench genes``: warm latency per stage of a 500-variant MAF."""
    from medai_core.genomics.bench import run_bench

    print(run_bench(repeat=getattr(args, "repeat", 20)))
    return 0


def evidence_import_cmd(args: argparse.Namespace) -> int:
    """``evidence import FILE``: validate and install a CIViC ClinicalEvidenceSummaries.tsv."""
    from medai_core.genomics.evidence import evidence_import
    from medai_core.serialization import emit_json

    target, n = evidence_import(Path(args.file))
    if args.json:
        emit_json({"installed": str(target), "predictive_items": n})
    else:
        print(f"installed {target} ({n} accepted predictive evidence items)")
    return 0
