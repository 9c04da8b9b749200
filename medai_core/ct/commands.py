"""CT sub-commands of ``python -m medai_core`` (``predict ct``, ``evaluate ct``, ``train ct``, ``bench ct``).

The contract is ``../shared/docs/CLI.md``. This module stays import-light: TensorFlow and the readers are imported
inside the handlers, so ``python -m medai_core models`` stays fast.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medai_core.errors import ImageInputError

if TYPE_CHECKING:
    from medai_core.ct.prepare import Seed

__all__ = [
    "MODEL_ID",
    "bench_ct",
    "evaluate_ct",
    "evaluate_folder",
    "format_evaluation",
    "parse_center",
    "predict_ct",
    "register",
    "train_ct_command",
]

MODEL_ID = "ct_nodule"


def register(verbs: dict[str, Any]) -> None:
    """Add the ``ct`` sub-commands to the dispatcher's verb parsers."""
    predict = verbs["predict"].add_parser("ct", help="malignancy probability of lung nodules (research use only)")
    predict.add_argument("inputs", nargs="+", metavar="INPUT", help="image, slice folder, DICOM file or DICOM zip")
    predict.add_argument("--center", help="nodule centre X,Y[,SLICE] in pixels (0-based) for whole slices/series")
    predict.add_argument("--threshold-hu", type=float, default=None, help="region-growing threshold (default -500)")
    predict.add_argument("--json", action="store_true", help="print one JSON document")
    predict.set_defaults(handler=predict_ct)

    evaluate = verbs["evaluate"].add_parser("ct", help="score the CT model on a labelled nodule folder")
    evaluate.add_argument("--data", required=True, type=Path, help="folder with images/{benign,malignant}/...")
    evaluate.add_argument("--json", action="store_true", help="print one JSON document")
    evaluate.add_argument("--predictions", type=Path, help="write one CSV row per nodule")
    evaluate.set_defaults(handler=evaluate_ct)

    train = verbs["train"].add_parser("ct", help="retrain the CT nodule model (fixed seed) and write weights + card")
    train.add_argument("--data", required=True, type=Path, help="the LIDC nodule folder")
    train.add_argument("--out", type=Path, default=None, help="output folder (default models/ct_nodule)")
    train.set_defaults(handler=train_ct_command)

    bench = verbs["bench"].add_parser("ct", help="warm latency of one nodule analysis")
    bench.set_defaults(handler=bench_ct)


def parse_center(text: str | None) -> Seed | None:
    """``"X,Y"`` or ``"X,Y,SLICE"`` (0-based pixels) to a :class:`Seed`; None for None.

    Raises:
        ImageInputError: not two or three whole numbers.
    """
    from medai_core.ct.prepare import Seed

    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (2, 3):
        raise ImageInputError(
            f"--center must be X,Y or X,Y,SLICE in whole pixels (0-based), e.g. --center 212,180,41; got {text!r}"
        )
    return Seed(row=values[1], col=values[0], slice_index=values[2] if len(values) == 3 else 0)


def _load() -> Any:
    from medai_core.models import load_model

    return load_model(MODEL_ID)


def predict_ct(args: argparse.Namespace) -> int:
    """``predict ct``: one JSON object per input (a list for several)."""
    from medai_core.ct.analysis import analyse_nodule
    from medai_core.ct.io import read_ct_path
    from medai_core.ct.prepare import DEFAULT_THRESHOLD_HU

    seed = parse_center(args.center)
    threshold = DEFAULT_THRESHOLD_HU if args.threshold_hu is None else args.threshold_hu
    studies = [(str(path), read_ct_path(Path(path))) for path in args.inputs]  # all inputs checked before loading
    for name, study in studies:
        if seed is None and not study.is_masked_crop:
            raise ImageInputError(
                f"{name} is a whole {study.source_format} ({study.shape[2]} x {study.shape[1]} pixels, "
                f"{study.shape[0]} slice(s)); give the nodule centre with --center X,Y[,SLICE]"
            )
    model = _load()
    documents = []
    for name, study in studies:
        point = None if study.is_masked_crop else seed
        result = analyse_nodule(model, None, study, point, threshold_hu=threshold, explain="none")
        documents.append({"input": name, **result.summary()})
    if args.json:
        from medai_core.serialization import emit_json

        emit_json(documents[0] if len(documents) == 1 else documents)
        return 0
    for doc in documents:
        low, high = doc["interval"]
        size = f"{doc['diameter_mm']} mm" if doc["diameter_mm"] is not None else "size in mm unknown"
        print(
            f"{doc['input']}: malignancy probability {doc['probability']:.2f} (interval {low:.2f}-{high:.2f}), "
            f"{doc['risk_band']} risk band, {size}; {doc['model_id']} v{doc['model_version']} (research use only)"
        )
    return 0


def evaluate_folder(data_dir: Path, model: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Evaluate ``model`` on every nodule of ``data_dir`` (LIDC layout).

    Returns:
        (summary, rows): the CLI.md keys ``n, auc, sensitivity_at_90_specificity, ece, brier``, plus
        ``baselines`` (when ``radiomics.csv`` is present), ``held_out`` (the card's held-out exams found in the
        folder) and ``n_training_exam_nodules``; and one row per nodule.
    """
    import numpy as np

    from medai_core.ct.evaluation import binary_metrics, grouped_bootstrap_auc_ci
    from medai_core.ct.scoring import Stacker, features_for, member_logits_for
    from medai_core.ct.train import baseline_probability, load_nodules, radiomics_table

    data = load_nodules(data_dir)
    card = model.card
    stacker = Stacker.from_artifact(card.artifacts["stacker"])
    logits = member_logits_for(data.volumes, lambda batch: np.asarray(model.predict(batch))[:, 1:])
    p, low, high = stacker.with_interval(logits, features_for(data.volumes))
    try:
        summary: dict[str, Any] = binary_metrics(data.labels, p)
    except ValueError as exc:
        raise ImageInputError(f"{data_dir}: {exc}; the folder needs both images/benign and images/malignant") from None
    held_out_ids = set(card.artifacts.get("held_out_exam_ids", []))
    held = np.array([e in held_out_ids for e in data.exam_ids])
    summary["n_training_exam_nodules"] = int((~held).sum()) if held_out_ids else None
    if held.any() and len(np.unique(data.labels[held])) == 2:
        summary["held_out"] = dict(binary_metrics(data.labels[held], p[held]))
        summary["held_out"]["auc_ci95_by_exam"] = grouped_bootstrap_auc_ci(
            data.labels[held], p[held], data.exam_ids[held]
        )
    radiomics = radiomics_table(data_dir, data)
    baselines = card.artifacts.get("baselines", {})
    if radiomics is not None and baselines:
        table, columns = radiomics
        summary["baselines"] = {}
        for name, artifact in baselines.items():
            if not all(c in columns for c in artifact["columns"]):
                continue
            scores = baseline_probability(artifact, table[:, [columns.index(c) for c in artifact["columns"]]])
            entry: dict[str, Any] = dict(binary_metrics(data.labels, scores))
            if "held_out" in summary:
                entry["held_out"] = dict(binary_metrics(data.labels[held], scores[held]))
                entry["held_out"]["auc_ci95_by_exam"] = grouped_bootstrap_auc_ci(
                    data.labels[held], scores[held], data.exam_ids[held]
                )
            summary["baselines"][name] = entry
    summary.update({"model_id": card.id, "model_version": card.version, "weights_sha256": card.weights_sha256})
    rows = [
        {
            "exam_id": e,
            "nodule_id": n,
            "label": int(y),
            "probability": round(float(a), 6),
            "low": round(float(b), 6),
            "high": round(float(c), 6),
        }
        for e, n, y, a, b, c in zip(data.exam_ids, data.nodule_ids, data.labels, p, low, high, strict=True)
    ]
    return summary, rows


def evaluate_ct(args: argparse.Namespace) -> int:
    """``evaluate ct``: metrics of the model and the baselines on a labelled folder."""
    summary, rows = evaluate_folder(args.data, _load())
    if args.predictions:
        with open(args.predictions, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=["exam_id", "nodule_id", "label", "probability", "low", "high"])
            writer.writeheader()
            writer.writerows(rows)
    if args.json:
        from medai_core.serialization import emit_json

        emit_json(summary)
        return 0
    print(format_evaluation(summary))
    if summary.get("n_training_exam_nodules"):
        print(
            f"note: {summary['n_training_exam_nodules']} of {summary['n']} nodules come from exams the model was "
            "developed on; only the 'held-out' rows are unbiased.",
            file=sys.stderr,
        )
    return 0


def format_evaluation(summary: dict[str, Any]) -> str:
    """The evaluation as a fixed-width table: model and baselines, all nodules and held-out exams."""
    header = f"{'':<34}{'n':>5}{'AUC':>8}{'AUC 95% CI':>16}{'sens@90spec':>13}{'ECE':>8}{'Brier':>8}"
    lines = [header, "-" * len(header)]

    def row(label: str, m: dict[str, Any]) -> str:
        ci = m.get("auc_ci95_by_exam")
        ci_text = f"{ci[0]:.3f}-{ci[1]:.3f}" if ci else ""
        return (
            f"{label:<34}{m['n']:>5}{m['auc']:>8.3f}{ci_text:>16}{m['sensitivity_at_90_specificity']:>13.3f}"
            f"{m['ece']:>8.3f}{m['brier']:>8.3f}"
        )

    lines.append(row(f"{summary['model_id']} (all nodules)", summary))
    if "held_out" in summary:
        lines.append(row(f"{summary['model_id']} (held-out exams)", summary["held_out"]))
    for name, entry in summary.get("baselines", {}).items():
        lines.append(row(f"baseline {name} (all)", entry))
        if "held_out" in entry:
            lines.append(row(f"baseline {name} (held-out)", entry["held_out"]))
    return "\n".join(lines)


def train_ct_command(args: argparse.Namespace) -> int:
    """``train ct``: retrain and write the model folder."""
    from medai_core.config import get_settings
    from medai_core.ct.train import MODEL_ID as TRAINED_ID
    from medai_core.ct.train import train_ct

    out = args.out or get_settings().models_dir / TRAINED_ID
    if not Path(args.data).is_dir():
        raise ImageInputError(f"--data {args.data} is not a folder; give the LIDC nodule folder")
    train_ct(Path(args.data), Path(out), log=lambda line: print(line, flush=True))
    return 0


def bench_ct(args: argparse.Namespace) -> int:
    """``bench ct``: print the warm-latency table."""
    from medai_core.ct.bench import run_bench

    print(run_bench())
    return 0
