"""Command-line verbs of the gene-panel domain (``genes``): predict, evaluate, train, bench, and ``evidence import``.

The names, options and JSON keys follow ``../shared/docs/CLI.md``. Heavy modules are imported inside handlers so
that ``python -m medai_core models`` stays fast.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medai_core.domains import GENES
from medai_core.errors import PanelInputError

if TYPE_CHECKING:
    from medai_core.genomics.analysis import GeneResult
    from medai_core.genomics.readers import PanelFile
    from medai_core.models import LoadedModel

__all__ = ["MODEL_ID", "analyse", "check_options", "load_context", "prepare", "register", "score"]

MODEL_ID = GENES.model_id
DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "genes" / "samstein2019"


def register(verbs: dict[str, Any]) -> None:
    """Add the ``genes`` sub-commands to the dispatcher's verbs, and ``evidence import`` at the root."""
    p = verbs["predict"].add_parser(GENES.name, help="TMB, evidence and immunotherapy survival for a tumour panel")
    p.add_argument("file", metavar="FILE", help="MAF, VEP/SnpEff-annotated VCF, or CSV/TSV (gene, protein_change)")
    p.add_argument(
        "--tumour-type",
        required=True,
        help="OncoTree code or name of any solid tumour, or free text: 'LUAD', 'Melanoma', 'NSCLC', 'lung adeno'",
    )
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

    e = verbs["evaluate"].add_parser(GENES.name, help="C-index and 12/24-month AUC on a samstein2019-layout folder")
    e.add_argument("--data", required=True, help="folder with clinical.tsv, mutations.maf.gz, sequenced_samples.txt")
    e.add_argument("--json", action="store_true")
    e.add_argument("--predictions", default=None, help="write sample_id,risk,os_12m,os_24m to this CSV")
    e.add_argument(
        "--held-out-only",
        action="store_true",
        help="score only samples used neither in training nor in model selection (validation), by the card's "
        "provenance manifest of dataset-qualified hashed sample ids; on samstein2019 this is the card's held-out test",
    )
    e.set_defaults(handler=evaluate_genes)

    t = verbs["train"].add_parser(GENES.name, help=f"retrain {MODEL_ID} with the fixed seed")
    t.add_argument("--data", default=str(DEFAULT_DATA), help="samstein2019 folder")
    t.add_argument("--out", default=None, help="model folder (default models/gene_ici_survival)")
    t.set_defaults(handler=train_genes)

    b = verbs["bench"].add_parser(GENES.name, help="warm latency of a 500-variant MAF to the full result")
    b.add_argument("--repeat", type=int, default=20)
    b.set_defaults(handler=bench_genes)

    root = verbs["root"].add_parser("evidence", help="manage the CIViC knowledge-base export")
    sub = root.add_subparsers(dest="evidence_verb", required=True)
    i = sub.add_parser("import", help="validate a downloaded CIViC ClinicalEvidenceSummaries.tsv and install it")
    i.add_argument("file", metavar="FILE")
    i.add_argument("--json", action="store_true")
    i.set_defaults(handler=evidence_import_cmd)


def check_options(options: Any) -> None:
    """Options wrong for every input fail once, before any input is read.

    Raises:
        PanelInputError: a missing or unknown tumour type, or an unknown panel.
    """
    from medai_core.genomics.panels import resolve_panel
    from medai_core.genomics.tumours import resolve_tumour_type

    if not options.tumour_type:
        raise PanelInputError("batch genes needs --tumour-type (the cancer type of every sample)")
    resolve_tumour_type(options.tumour_type)
    resolve_panel(options.panel)


def load_context() -> dict[str, Any]:
    """What :func:`score` reuses across inputs: the evidence base, loaded once."""
    from medai_core.genomics.evidence import load_evidence

    return {"evidence_base": load_evidence()}


def prepare(path: str, options: Any) -> tuple[bytes, PanelFile]:
    """The file's bytes and its panel, parsed once in an isolated worker, before any model is loaded.

    Raises:
        PanelInputError: a missing file, or one the reader refuses.
    """
    from medai_core.files import read_input_file
    from medai_core.genomics.readers import read_panel
    from medai_core.isolation import read_isolated

    file = Path(path)
    data = read_input_file(file, PanelInputError, "a MAF, annotated VCF or CSV panel")
    return data, read_isolated(read_panel, data, name=file.name, label=file.name)


def _result(
    path: str, prepared: tuple[bytes, PanelFile], options: Any, model: LoadedModel, **context: Any
) -> GeneResult:
    from medai_core.genomics.analysis import analyse_bytes

    data, panel_file = prepared
    return analyse_bytes(
        data,
        Path(path).name,
        model=model,
        tumour_type=str(options.tumour_type),
        panel=options.panel,
        sample=options.sample,
        drug_class=options.drug_class,
        age_group=options.age_group,
        sex=options.sex,
        panel_file=panel_file,
        **context,
    )


def score(
    path: str, prepared: tuple[bytes, PanelFile], options: Any, model: LoadedModel, **context: Any
) -> dict[str, Any]:
    """The ``predict genes`` JSON document of one prepared panel (``context``: see :func:`load_context`)."""
    from medai_core.results.genomics import result_payload

    result = _result(path, prepared, options, model, **context)
    return {"input": str(Path(path)), **result_payload(result, model.card)}


def analyse(path: str, options: Any, model: LoadedModel, **context: Any) -> dict[str, Any]:
    """Read and analyse one panel: the ``predict genes`` JSON document (shared by ``predict`` and ``batch``)."""
    return score(path, prepare(path, options), options, model, **context)


def predict_genes(args: argparse.Namespace) -> int:
    """``predict genes FILE --tumour-type TYPE [--panel ...] [--sample ID] [--json]``."""
    from medai_core.genomics.panels import resolve_panel
    from medai_core.genomics.tumours import resolve_tumour
    from medai_core.inference import get_predictor
    from medai_core.serialization import emit_json

    path = Path(args.file)
    prepared = prepare(args.file, args)
    resolve_tumour(args.tumour_type)  # bad input fails before the model loads
    resolve_panel(args.panel)
    loaded = get_predictor().model(MODEL_ID)
    result = _result(args.file, prepared, args, loaded)
    if args.json:
        from medai_core.results.genomics import result_payload

        payload = {"input": str(path), **result_payload(result, loaded.card)}
        emit_json(payload)
        return 0
    _print_result(path, result)
    return 0


def _print_result(path: Path, result: Any) -> None:
    """The ``predict genes`` text: tumour and panel, TMB, survival by drug class, notes, options and evidence."""
    tmb = result.tmb
    pct = f", {tmb.percentile_label} of {result.cohort_type}" if tmb.percentile is not None else ""
    print(f"{path.name}: {result.tumour_type} (OncoTree {result.oncotree_code}), panel {result.panel}")
    if result.tumour_note:
        print(f"  note: {result.tumour_note}")
    print(
        f"TMB {tmb.tmb_per_mb:.1f} mut/Mb ({tmb.n_nonsynonymous} nonsynonymous calls / {tmb.size_mb:g} Mb{pct})"
        f"{'  TMB-HIGH' if tmb.high else ''}"
    )
    for s in result.survival:
        print(
            f"  {s.drug_class:<12} OS 12 m {s.os_12m[0]:.0%} [{s.os_12m[1]:.0%}-{s.os_12m[2]:.0%}]   "
            f"OS 24 m {s.os_24m[0]:.0%} [{s.os_24m[1]:.0%}-{s.os_24m[2]:.0%}]"
        )
    if result.baseline_os_24m is not None:
        print(f"  baseline (Cox: cancer type + TMB) OS 24 m {result.baseline_os_24m:.0%}")
    if result.survival_note:
        print(f"  note: {result.survival_note}")
    for note in (*result.panel_notes, *result.notes):
        print(f"  note: {note}")
    for o in result.therapy_options[:10]:
        against = f"; resistance evidence: {len(o.resistance)}" if o.resistance else ""
        agnostic = ", tumour-agnostic" if o.agnostic else ""
        when = f"; {o.dates[0]}" if o.dates else ""
        print(f"  therapy option (tier {o.tier}{agnostic}): {o.drugs} <- {', '.join(o.calls)}{when}{against}")
    for o in result.removed_options:
        print(f"  withheld: {o.drugs}: {o.removed_by[0]}")
    for e in result.evidence[:10]:
        same = "same type" if e.same_tumour_type else "other type"
        print(f"  evidence {e.level}: {e.matched} -> {e.significance} to {e.drugs} ({e.disease}, {same}; {e.source})")
    if result.disagreement:
        print(result.disagreement)
    print("Outcome on treatment in an observational cohort, not randomised benefit. Research use only.")


def evaluate_genes(args: argparse.Namespace) -> int:
    """``evaluate genes --data DIR [--json] [--predictions CSV] [--held-out-only]``: the model and, on the same
    patients, the two baselines stored in the card (Cox on log TMB; Cox on cancer type + log TMB). The card's
    provenance manifest says how many samples were in training, validation (early stopping), the held-out test,
    or are new; ``--held-out-only`` scores only samples used neither in training nor in validation."""
    import numpy as np

    from medai_core.genomics.evaluation import baseline_designs, evaluate_cox, evaluate_predictions, risk_from_survival
    from medai_core.genomics.prepare import FeatureSpec, encode_cohort, load_cohort
    from medai_core.genomics.survival import cox_from_artifact
    from medai_core.inference import get_predictor
    from medai_core.results.genomics import evaluation_payload
    from medai_core.serialization import emit_json

    data = Path(args.data)
    if not data.is_dir():
        raise PanelInputError(f"{data.name} is not a folder. Give a folder in the samstein2019 layout.")
    cohort = load_cohort(data)
    loaded = get_predictor().model(MODEL_ID)
    manifest = loaded.card.manifest
    cohort, membership = _scored_cohort(cohort, manifest, bool(args.held_out_only), data.name)
    left_out = dict(cohort.left_out)
    spec = FeatureSpec.from_dict(loaded.card.artifacts["features"])
    x = encode_cohort(spec, cohort)
    surv = np.concatenate([np.asarray(loaded.predict(x[i : i + 256])) for i in range(0, len(x), 256)]).mean(axis=1)
    bin_months = float(loaded.card.artifacts["bin_months"])
    i12, i24 = round(12 / bin_months) - 1, round(24 / bin_months) - 1
    risk = risk_from_survival(surv)
    metrics = evaluate_predictions(cohort.os_months, cohort.event, risk, surv[:, i12], surv[:, i24])
    results = {"model": metrics.to_dict()}
    designs = baseline_designs(spec, cohort)
    for name in ("cox_tmb", "cox_type_tmb"):
        cox = cox_from_artifact(loaded.card.artifacts[f"baseline_{name}"])
        results[name] = evaluate_cox(cox, designs[name], cohort).to_dict()
    if args.predictions:
        _write_predictions(args.predictions, cohort.sample_ids, risk, surv[:, i12], surv[:, i24])
    doc = evaluation_payload(
        results["model"],
        {k: v for k, v in results.items() if k != "model"},
        membership=membership,
        held_out_only=bool(args.held_out_only),
        left_out=left_out,
        card=loaded.card,
    )
    if args.json:
        emit_json(doc)
        return 0
    _print_evaluation(results, membership, left_out, data.name, loaded.card.version, bool(args.held_out_only))
    return 0


def _scored_cohort(cohort: Any, manifest: Any, held_out_only: bool, data_name: str) -> tuple[Any, Any]:
    """The cohort ``evaluate genes`` scores (only samples used neither in training nor in validation where
    ``held_out_only``) and the manifest's counts of it.

    Raises:
        PanelInputError: no sample is left to score.
    """
    import numpy as np

    from medai_core.genomics.evaluation import DATASET

    roles = manifest.roles(DATASET, cohort.sample_ids.tolist())
    membership = manifest.count(DATASET, cohort.sample_ids.tolist())
    if held_out_only:
        keep = np.array([r not in ("train", "validation") for r in roles], dtype=bool)
        cohort = cohort.subset(np.flatnonzero(keep))
        membership = manifest.count(DATASET, cohort.sample_ids.tolist())
    if len(cohort) == 0:
        raise PanelInputError(
            f"{data_name}: no patient to score (none listed in sequenced_samples.txt with a survival time, or all "
            "used in training or validation)."
        )
    return cohort, membership


def _write_predictions(path: str, sample_ids: Any, risk: Any, os_12m: Any, os_24m: Any) -> None:
    """``evaluate genes --predictions CSV``: one row per scored sample (risk, 12- and 24-month survival)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sample_id", "risk", "os_12m", "os_24m"])
        for sid, r, s12, s24 in zip(sample_ids, risk, os_12m, os_24m, strict=True):
            writer.writerow([sid, f"{r:.4f}", f"{s12:.4f}", f"{s24:.4f}"])


def _print_evaluation(
    results: dict[str, Any],
    membership: Any,
    left_out: dict[str, int],
    data_name: str,
    version: str,
    held_out_only: bool,
) -> None:
    """The ``evaluate genes`` text: the metrics table, the samples' provenance and what was left out."""
    from medai_core.genomics.evaluation import format_metrics_table

    scope = "samples used neither in training nor in validation" if held_out_only else "all sequenced samples"
    print(f"{MODEL_ID} v{version} on {data_name} ({scope})")
    print(format_metrics_table(results))
    print(
        f"samples: {membership.n_in_training} in training, {membership.n_in_validation} in validation, "
        f"{membership.n_in_test} in the held-out test, {membership.n_new} new"
    )
    for reason, n in left_out.items():
        print(f"left out: {n} patient(s) with {reason}")
    if membership.n_in_training or membership.n_in_validation:
        print(
            "note: some of these samples were used to fit or select the model, so these figures are not held-out; "
            "add --held-out-only."
        )


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
