"""``python -m medai_core train ct``: the one command-line entry into CT training.

Kept apart from :mod:`medai_core.cli.ct` so that prediction and evaluation never import the training module;
only this handler does, when ``train ct`` runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from medai_core.domains import CT
from medai_core.errors import ImageInputError

__all__ = ["register_train", "train_ct_command"]


def register_train(verbs: dict[str, Any]) -> None:
    """Add ``train ct`` to the dispatcher's ``train`` verb."""
    train = verbs["train"].add_parser(CT.name, help="retrain the CT nodule model (fixed seed) and write weights + card")
    train.add_argument("--data", required=True, type=Path, help="the LIDC nodule folder")
    train.add_argument("--out", type=Path, default=None, help="output folder (default models/ct_nodule)")
    train.add_argument(
        "--fusion-only",
        action="store_true",
        help="keep the CNN weights; choose the CNN + radiomics stacker by repeated exam-grouped CV, refit it with "
        "its bootstrap interval and write it into the card where it beats the shipped one on held-out exams",
    )
    train.add_argument(
        "--nested-cv",
        action="store_true",
        help="keep the shipped model; hold out each of the 5 outer exam folds in turn (retraining the members of "
        "folds 1-4) and write the pooled held-out metrics into the card as metrics.nested_cv",
    )
    train.add_argument(
        "--dry-run", action="store_true", help="with --fusion-only or --nested-cv: measure and print, write nothing"
    )
    train.set_defaults(handler=train_ct_command)


def train_ct_command(args: argparse.Namespace) -> int:
    """``train ct``: retrain and write the model folder (weights, card with its provenance manifest)."""
    from medai_core.config import get_settings
    from medai_core.ct.train import MODEL_ID as TRAINED_ID
    from medai_core.ct.train import train_ct

    out = args.out or get_settings().models_dir / TRAINED_ID
    if not Path(args.data).is_dir():
        raise ImageInputError(f"--data {args.data} is not a folder; give the LIDC nodule folder")
    if args.fusion_only and args.nested_cv:
        raise ImageInputError("--fusion-only and --nested-cv are separate runs; give one of them")
    if args.nested_cv:
        from medai_core.ct.nested import run_nested_cv

        run_nested_cv(Path(args.data), Path(out), write=not args.dry_run, log=lambda line: print(line, flush=True))
        return 0
    if args.fusion_only:
        from medai_core.ct.fusion import run_fusion

        run_fusion(Path(args.data), Path(out), write=not args.dry_run, log=lambda line: print(line, flush=True))
        return 0
    if args.dry_run:
        raise ImageInputError(
            "--dry-run goes with --fusion-only or --nested-cv (full training always writes its output)"
        )
    train_ct(Path(args.data), Path(out), log=lambda line: print(line, flush=True))
    return 0
