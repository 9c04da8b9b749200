"""``python -m medai_core train ct``: the one command-line entry into CT training.

Kept apart from :mod:`medai_core.ct.commands` so that prediction and evaluation never import the training module;
only this handler does, when ``train ct`` runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from medai_core.errors import ImageInputError

__all__ = ["register_train", "train_ct_command"]


def register_train(verbs: dict[str, Any]) -> None:
    """Add ``train ct`` to the dispatcher's ``train`` verb."""
    train = verbs["train"].add_parser("ct", help="retrain the CT nodule model (fixed seed) and write weights + card")
    train.add_argument("--data", required=True, type=Path, help="the LIDC nodule folder")
    train.add_argument("--out", type=Path, default=None, help="output folder (default models/ct_nodule)")
    train.set_defaults(handler=train_ct_command)


def train_ct_command(args: argparse.Namespace) -> int:
    """``train ct``: retrain and write the model folder (weights, card with its provenance manifest)."""
    from medai_core.config import get_settings
    from medai_core.ct.train import MODEL_ID as TRAINED_ID
    from medai_core.ct.train import train_ct

    out = args.out or get_settings().models_dir / TRAINED_ID
    if not Path(args.data).is_dir():
        raise ImageInputError(f"--data {args.data} is not a folder; give the LIDC nodule folder")
    train_ct(Path(args.data), Path(out), log=lambda line: print(line, flush=True))
    return 0
