"""CT sub-commands of ``python -m medai_core`` (``predict ct``, ``evaluate ct``, ``train ct``, ``bench ct``).

The contract is ``docs/CLI.md``. Payloads are built in :mod:`medai_core.results.ct`; the data reading and the
provenance lookup in :mod:`medai_core.ct.data` and :mod:`medai_core.ct.evaluation`. This module never imports the
training module: ``train ct`` is registered and run by :mod:`medai_core.cli.ct_train`. This module stays
import-light: TensorFlow and the readers are imported inside the handlers, so ``python -m medai_core models`` stays
fast.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medai_core.cli.ct_train import register_train, train_ct_command
from medai_core.domains import CT
from medai_core.errors import ImageInputError

if TYPE_CHECKING:
    from medai_core.ct.prepare import Seed
    from medai_core.ct.readers import CTStudy
    from medai_core.models import LoadedModel

__all__ = [
    "MODEL_ID",
    "analyse",
    "bench_ct",
    "check_options",
    "evaluate_ct",
    "evaluate_folder",
    "load_context",
    "parse_center",
    "predict_ct",
    "prepare",
    "register",
    "score",
    "train_ct_command",
]

MODEL_ID = CT.model_id


def register(verbs: dict[str, Any]) -> None:
    """Add the ``ct`` sub-commands to the dispatcher's verb parsers."""
    predict = verbs["predict"].add_parser("ct", help="malignancy probability of lung nodules (research use only)")
    predict.add_argument("inputs", nargs="+", metavar="INPUT", help="image, slice folder, DICOM file or DICOM zip")
    predict.add_argument("--center", help="nodule centre X,Y[,SLICE] in pixels (0-based) for whole slices/series")
    predict.add_argument("--threshold-hu", type=float, default=None, help="region-growing threshold (default -500)")
    predict.add_argument(
        "--pixel-mm",
        type=float,
        default=None,
        metavar="MM",
        help="in-plane pixel size (mm) of an image that carries none (PNG/JPEG/TIFF); required for whole slices",
    )
    predict.add_argument("--json", action="store_true", help="print one JSON document")
    predict.set_defaults(handler=predict_ct)

    evaluate = verbs["evaluate"].add_parser("ct", help="score the CT model on a labelled nodule folder")
    evaluate.add_argument("--data", required=True, type=Path, help="folder with images/{benign,malignant}/...")
    evaluate.add_argument("--json", action="store_true", help="print one JSON document")
    evaluate.add_argument("--predictions", type=Path, help="write one CSV row per nodule")
    evaluate.add_argument(
        "--held-out-only",
        action="store_true",
        help="keep only exams used neither in training nor in model selection (held-out test and new exams)",
    )
    evaluate.set_defaults(handler=evaluate_ct)

    register_train(verbs)

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
    from medai_core.inference import get_predictor

    return get_predictor().model(MODEL_ID)


def check_options(options: Any) -> None:
    """Options wrong for every input fail once, before any input is read (``--center``).

    Raises:
        ImageInputError: a malformed ``--center``.
    """
    parse_center(options.center)


def load_context() -> dict[str, Any]:
    """What :func:`score` reuses across inputs (nothing for CT)."""
    return {}


def prepare(path: str, options: Any, *, name: str | None = None) -> CTStudy:
    """Read one input in an isolated worker (:mod:`medai_core.isolation`: a crash or hang is bad input) and check
    it against the options, before any model is loaded; ``name`` (default: ``path``) words the messages.

    Raises:
        ImageInputError: the input cannot be read or does not fit the options (e.g. a whole slice without a centre).
    """
    from medai_core.ct.analysis import check_cli_input
    from medai_core.ct.readers import read_ct_path
    from medai_core.isolation import read_isolated

    study = read_isolated(read_ct_path, Path(path), pixel_mm=options.pixel_mm, label=Path(path).name)
    check_cli_input(study, parse_center(options.center), path if name is None else name)
    return study  # type: ignore[no-any-return]


def score(path: str, study: CTStudy, options: Any, model: LoadedModel, **context: Any) -> dict[str, Any]:
    """The ``predict ct`` JSON document of one prepared input."""
    from medai_core.ct.analysis import analyse_nodule
    from medai_core.ct.prepare import DEFAULT_THRESHOLD_HU
    from medai_core.results.ct import prediction_payload

    threshold = DEFAULT_THRESHOLD_HU if options.threshold_hu is None else options.threshold_hu
    point = None if study.is_masked_crop else parse_center(options.center)
    result = analyse_nodule(model, None, study, point, threshold_hu=threshold, explain="none")
    return prediction_payload(path, result)


def analyse(path: str, options: Any, model: LoadedModel, **context: Any) -> dict[str, Any]:
    """Read, check and analyse one input: the ``predict ct`` JSON document (shared by ``predict`` and ``batch``)."""
    return score(path, prepare(path, options, name=Path(path).name), options, model, **context)


def predict_ct(args: argparse.Namespace) -> int:
    """``predict ct``: one JSON object per input (a list for several)."""
    check_options(args)
    studies = [(str(path), prepare(str(path), args)) for path in args.inputs]  # all checked before the model loads
    model = _load()
    documents = [score(path, study, args, model) for path, study in studies]
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


def evaluate_folder(
    data_dir: Path, model: Any, *, held_out_only: bool = False
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Evaluate ``model`` on every nodule of ``data_dir`` (LIDC layout); see
    :func:`medai_core.results.ct.evaluation_payload` for the keys."""
    from medai_core.ct.evaluation import score_folder
    from medai_core.results.ct import evaluation_payload

    scores = score_folder(Path(data_dir), model)
    return evaluation_payload(scores, model.card, held_out_only=held_out_only, source=str(data_dir))


def evaluate_ct(args: argparse.Namespace) -> int:
    """``evaluate ct``: metrics of the model and the baselines on a labelled folder, apart for held-out exams."""
    from medai_core.results.ct import PREDICTION_COLUMNS, format_evaluation

    held_out_only = bool(getattr(args, "held_out_only", False))
    summary, rows = evaluate_folder(args.data, _load(), held_out_only=held_out_only)
    if args.predictions:
        with open(args.predictions, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(PREDICTION_COLUMNS))
            writer.writeheader()
            writer.writerows(rows)
    if args.json:
        from medai_core.serialization import emit_json

        emit_json(summary)
        return 0
    print(format_evaluation(summary))
    if summary["n_training_exam_nodules"] and not held_out_only:
        print(
            f"note: {summary['n_training_exam_nodules']} of {summary['n']} nodules come from exams the model was "
            "trained or selected on; only the 'held-out + new' rows are unbiased (or use --held-out-only).",
            file=sys.stderr,
        )
    return 0


def bench_ct(args: argparse.Namespace) -> int:
    """``bench ct``: print the warm-latency table."""
    from medai_core.ct.bench import run_bench

    print(run_bench())
    return 0
