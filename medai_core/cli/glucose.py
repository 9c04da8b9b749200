"""Glucose sub-commands of ``python -m medai_core`` (contract: ``../shared/docs/CLI.md``).

``predict glucose FILE [--patient ID] [--timezone ZONE] [--json]``, ``evaluate glucose --data FILE [--dataset NAME]
[--timezone ZONE] [--json] [--predictions CSV] [--held-out-only]``, ``train glucose --data PATH [--out DIR]
[--epochs N]``, ``bench glucose``. Glucose in JSON is always mg/dL; the JSON documents are built by
:mod:`medai_core.results.glucose`. Heavy modules (TensorFlow, pandas) are imported inside the handlers so
``models`` stays fast.
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medai_core.config import REPO_ROOT
from medai_core.domains import GLUCOSE
from medai_core.errors import CGMInputError
from medai_core.files import read_input_file
from medai_core.glucose.datasets import dataset_name

if TYPE_CHECKING:
    from medai_core.glucose.evaluation import Evaluation
    from medai_core.glucose.readers import CGMRecord
    from medai_core.models import LoadedModel

__all__ = ["analyse", "check_options", "dataset_name", "load_context", "prepare", "register", "score"]

MODEL_ID = GLUCOSE.model_id


def _read_bytes(path_text: str) -> bytes:
    return read_input_file(Path(path_text), CGMInputError, "a Dexcom Clarity, LibreView or generic CGM CSV")


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def check_options(options: Any) -> None:
    """Options are checked by the reader (the time zone), per input: nothing to check once."""


def load_context() -> dict[str, Any]:
    """What :func:`score` reuses across inputs (nothing for glucose)."""
    return {}


def prepare(path: str, options: Any) -> CGMRecord:
    """Read one CGM file in an isolated worker, before any model is loaded.

    Raises:
        CGMInputError: a missing file, or one the reader refuses.
    """
    data = _read_bytes(path)
    from medai_core.glucose.readers import read_cgm
    from medai_core.isolation import read_isolated

    name = Path(path).name
    patient = getattr(options, "patient", None)
    return read_isolated(  # type: ignore[no-any-return]
        read_cgm, data, name=name, patient=patient, timezone=options.timezone, label=name
    )


def score(path: str, record: CGMRecord, options: Any, model: LoadedModel, **context: Any) -> dict[str, Any]:
    """The ``predict glucose`` JSON document of one prepared record (glucose in mg/dL)."""
    from medai_core.glucose.analysis import analyse as analyse_record
    from medai_core.results.glucose import analysis_payload

    return analysis_payload(analyse_record(record, model))


def analyse(path: str, options: Any, model: LoadedModel, **context: Any) -> dict[str, Any]:
    """Read and analyse one CGM file: the ``predict glucose`` JSON document (shared by ``predict`` and ``batch``)."""
    return score(path, prepare(path, options), options, model, **context)


def predict_glucose(args: argparse.Namespace) -> int:
    """``predict glucose FILE``: AGP metrics, forecast and hypoglycaemia risk from the last reading."""
    record = prepare(args.file, args)
    from medai_core.inference import get_predictor
    from medai_core.serialization import emit_json

    payload = score(args.file, record, args, get_predictor().model(MODEL_ID))
    if args.json:
        emit_json(payload)
        return 0
    m = payload["metrics"]
    print(
        f"{args.file}: {payload['source_format']} ({payload['unit_detected']}), {payload['n_readings']} readings, "
        f"{payload['start']} to {payload['end']}"
    )
    print(
        f"mean {_fmt(m['mean_mg_dl'])} mg/dL  GMI {_fmt(m['gmi_percent'])} %  CV {_fmt(m['cv_percent'])} %  "
        f"TIR {_fmt(m['tir_70_180'])} %  TBR<54 {_fmt(m['tbr_lt_54'])} %  active {_fmt(m['active_percent'])} %  "
        f"days {_fmt(m['days'])}"
    )
    if payload["forecast"] is not None:
        f = payload["forecast"]
        print(f"forecast from {payload['forecast_origin']} (mg/dL, median [p10, p90]):")
        for i in (5, 11):
            print(f"  +{f['minutes'][i]} min: {f['p50'][i]} [{f['p10'][i]}, {f['p90'][i]}]")
        print("hypoglycaemia risk: " + ", ".join(f"{k} {v:.1%}" for k, v in payload["hypo_risk"].items()))
    else:
        print(f"no forecast: {payload['forecast_unavailable']}")
    for note in payload["notes"]:
        print(f"note: {note}")
    print(f"model {payload['model_id']} v{payload['model_version']} sha256 {payload['weights_sha256'][:12]}")
    return 0


def evaluate_glucose(args: argparse.Namespace) -> int:
    """``evaluate glucose --data FILE``: scores of the shipped model and both baselines, with provenance counts."""
    import numpy as np

    from medai_core.glucose.evaluation import collect_windows, evaluate_windows, thin_to_cadence
    from medai_core.glucose.forecast import params_from_artifacts
    from medai_core.glucose.prepare import GRID_MINUTES, target_stride
    from medai_core.glucose.readers import grids_by_patient, read_research_table
    from medai_core.inference import get_predictor
    from medai_core.results.glucose import evaluation_payload
    from medai_core.serialization import emit_json

    path = Path(args.data)
    frame = read_research_table(path, timezone=args.timezone)
    dataset = (args.dataset or dataset_name(path)).strip().lower()
    loaded = get_predictor().model(MODEL_ID)
    manifest = loaded.card.manifest
    grids = grids_by_patient(frame)
    membership = manifest.count(dataset, grids)
    if args.held_out_only:
        grids = {p: g for p, g in grids.items() if manifest.is_held_out(dataset, p)}
        if not grids:
            raise CGMInputError(
                f"{path.name}: every patient of data set {dataset!r} in this file was used in training or model "
                "selection; none is held out."
            )
    cadence = int(args.cadence)
    if cadence not in (GRID_MINUTES, 10, 15):
        raise CGMInputError(f"--cadence {cadence}: choose 5, 10 or 15 (minutes between a sensor's readings).")
    if cadence > GRID_MINUTES:  # the readings a sensor of that cadence would have given, on the 5-minute grid
        grids = {p: thin_to_cadence(g, cadence) for p, g in grids.items()}
    stride = target_stride(cadence)
    windows = collect_windows(grids, stride=stride)
    if len(windows) == 0:
        raise CGMInputError(f"{args.data}: no window with 3 complete hours of input and 60 complete minutes after it.")
    params = params_from_artifacts(loaded.card.artifacts)
    evaluation = evaluate_windows(loaded.predict, params, windows)
    if args.predictions:
        y_seen = windows.y if windows.scored is None else np.where(windows.scored, windows.y, np.nan)
        _write_predictions(Path(args.predictions), windows.patient, windows.origin_time, y_seen, evaluation)
    scored = sorted(set(windows.patient.tolist()))
    evaluated = manifest.count(dataset, scored)
    held_out = None
    if not args.held_out_only and evaluated.n_held_out and evaluated.n_held_out < len(scored):
        held_out = evaluate_windows(
            loaded.predict,
            params,
            collect_windows({p: grids[p] for p in scored if manifest.is_held_out(dataset, p)}, stride=stride),
        )
    doc = evaluation_payload(
        evaluation,
        dataset=dataset,
        membership=membership,
        evaluated=evaluated,
        held_out_only=args.held_out_only,
        held_out=held_out,
        notes=frame.attrs.get("notes", ()),
    )
    doc["cadence_minutes"] = cadence
    if cadence > GRID_MINUTES:
        steps = ", ".join(str(k * GRID_MINUTES) for k in range(stride, 13, stride))
        doc["notes"].append(
            f"Readings thinned to one every {cadence} minutes; the 5-minute points between them are interpolated and "
            f"scores use only the steps with a reading ({steps} min)."
        )
    if args.json:
        emit_json(doc)
        return 0
    print(
        f"data set {dataset}: {membership.n_in_training} training, {membership.n_in_validation} validation, "
        f"{membership.n_in_test} held-out test and {membership.n_new} new patient(s) in the file"
        + (" (held-out only)" if args.held_out_only else "")
    )
    if "note" in doc:
        print(f"note: {doc['note']}")
    print(f"{doc['patients']} patients, {doc['windows']} forecast windows (origins >= 30 min apart), mg/dL")
    print(
        f"{'method':<24}{'RMSE30':>8}{'RMSE60':>8}{'RMSEavg':>9}{'MAE30':>8}{'MAE60':>8}{'cov80':>8}"
        f"{'Clarke A+B %':>14}"
    )
    rows = (
        ("model (p50, p10-p90)", doc),
        ("linear regression", doc["baselines"]["linear_regression"]),
        ("last value", doc["baselines"]["last_value"]),
    )
    for name, s in rows:
        print(
            f"{name:<24}{_fmt(s['rmse_30']):>8}{_fmt(s['rmse_60']):>8}{_fmt(s['rmse_avg'], 2):>9}{_fmt(s['mae_30']):>8}"
            f"{_fmt(s['mae_60']):>8}{_fmt(s['coverage_80'], 3):>8}{_fmt(s['clarke_ab_percent'], 2):>14}"
        )
    for title, model_key, base_key in (
        ("all windows", "model", "baseline_last_value"),
        ("last reading >= 70 mg/dL", "model_last_reading_ge_70", "baseline_last_reading_ge_70"),
    ):
        print(f"hypoglycaemia, {title} (baseline: logistic regression on the last reading)")
        print(
            f"{'event':<14}{'AUROC model':>12}{'AUROC base':>11}{'Brier model':>12}{'Brier base':>11}{'prevalence':>11}"
        )
        for key, s in doc["hypo"][model_key].items():
            b = doc["hypo"][base_key][key]
            print(
                f"{key:<14}{_fmt(s['auroc'], 3):>12}{_fmt(b['auroc'], 3):>11}{_fmt(s['brier'], 4):>12}"
                f"{_fmt(b['brier'], 4):>11}{_fmt(s['prevalence'], 3):>11}"
            )
    return 0


def _write_predictions(path: Path, patient: Any, origin: Any, y: Any, evaluation: Evaluation) -> None:
    import numpy as np

    f = evaluation.forecasts
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "origin", "step", "y_true", "p10", "p50", "p90"])
        for k in range(len(patient)):
            stamp = str(np.datetime_as_string(np.datetime64(origin[k], "s")))
            for step in range(y.shape[1]):
                writer.writerow(
                    [
                        patient[k],
                        stamp,
                        step + 1,
                        "" if not np.isfinite(y[k, step]) else f"{y[k, step]:.1f}",
                        f"{f.p10[k, step]:.1f}",
                        f"{f.p50[k, step]:.1f}",
                        f"{f.p90[k, step]:.1f}",
                    ]
                )


def train_glucose(args: argparse.Namespace) -> int:
    """``train glucose --data PATH``: retrain, calibrate and evaluate; write weights and card."""
    from medai_core.glucose.train import train_glucose as run

    out = Path(args.out) if args.out else REPO_ROOT / "models" / MODEL_ID
    shipped = REPO_ROOT / "models" / MODEL_ID
    result = run(
        Path(args.data),
        out,
        epochs=args.epochs,
        log=lambda line: print(line, flush=True),
        reference_dir=shipped if shipped.resolve() != out.resolve() else None,
    )
    print(f"shipped candidate: {result.chosen}")
    for dataset, ev in result.evaluations.items():
        print(
            f"held-out {dataset} ({ev.patients} patients, {ev.windows} windows): RMSE avg model "
            f"{ev.model['rmse_avg']:.2f} vs linear {ev.linear['rmse_avg']:.2f} vs last value "
            f"{ev.last_value['rmse_avg']:.2f} mg/dL; 80 % coverage {ev.model['coverage_80']:.3f}"
        )
    return 0


def bench_glucose(args: argparse.Namespace) -> int:
    """``bench glucose``: warm latency of reading, AGP (90 days), forecast with attributions, backtest."""
    from medai_core.glucose.bench import run_bench

    print(run_bench())
    return 0


def register(verbs: dict[str, Any]) -> None:
    """Add the glucose sub-commands to the CLI's verb parsers."""
    p = verbs["predict"].add_parser("glucose", help="AGP metrics, 60-min forecast and hypoglycaemia risk of a CGM file")
    p.add_argument("file", help="Dexcom Clarity, LibreView or generic CSV export, or an id,time,gl table")
    p.add_argument("--patient", default=None, help="patient id when the file holds several")
    p.add_argument(
        "--timezone", default=None, help="IANA time zone of the patient (e.g. Europe/Paris) for timestamps with offsets"
    )
    p.add_argument("--json", action="store_true", help="print one JSON document (glucose in mg/dL)")
    p.set_defaults(handler=predict_glucose)

    e = verbs["evaluate"].add_parser("glucose", help="score the forecaster and its baselines on an id,time,gl file")
    e.add_argument("--data", required=True, help="csv or csv.gz with columns id, time, gl (mg/dL)")
    e.add_argument("--json", action="store_true", help="print one JSON document")
    e.add_argument("--predictions", default=None, help="write id,origin,step,y_true,p10,p50,p90 to this CSV")
    e.add_argument(
        "--held-out-only",
        action="store_true",
        help="keep only patients used neither for training nor for model selection (held-out test or new)",
    )
    e.add_argument(
        "--dataset", default=None, help="data set name that qualifies patient ids (default: the file name's stem)"
    )
    e.add_argument(
        "--cadence",
        type=int,
        default=5,
        help="minutes between readings to evaluate at: 5 (as recorded), 10 or 15 (readings thinned, e.g. Libre 1)",
    )
    e.add_argument(
        "--timezone", default=None, help="IANA time zone of the patients for timestamps with offsets (default: file's)"
    )
    e.set_defaults(handler=evaluate_glucose)

    t = verbs["train"].add_parser("glucose", help="retrain the glucose forecaster (fixed seed, split by patient)")
    t.add_argument(
        "--data",
        required=True,
        help="folder of GlucoBench tables (weinstock2016, colas2019, hall2018 .csv.gz) or one id,time,gl table",
    )
    t.add_argument("--out", default=None, help=f"model folder to write (default models/{MODEL_ID})")
    t.add_argument("--epochs", type=int, default=45, help="maximum epochs (early stopping on validation patients)")
    t.set_defaults(handler=train_glucose)

    b = verbs["bench"].add_parser("glucose", help="warm latency of the glucose analysis stages")
    b.set_defaults(handler=bench_glucose)
