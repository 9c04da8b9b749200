"""``python -m medai_core``: the command line (the contract is ``docs/CLI.md``).

Verbs: ``models``, ``predict``, ``evaluate``, ``train``, ``bench``, and ``deidentify`` and ``audit`` from
``admin_commands.py``. Each domain of the registry (:data:`medai_core.domains.DOMAINS`) registers its sub-commands
from its module in this package (``medai_core.cli.ct``, ``.glucose``, ``.genes``). Exit codes: 0 success, 2 bad
input or a bad setting (one line on stderr a clinician understands), 1 any other failure. TensorFlow starts only
when a handler loads a model, so a missing file or a bad option is answered at once.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from medai_core.admin_commands import register as register_admin
from medai_core.config import APP_NAME, APP_VERSION
from medai_core.domains import DOMAINS
from medai_core.errors import ConfigError, InputError, MedaiError
from medai_core.scale_commands import register as register_scale
from medai_core.serialization import emit_json

__all__ = ["build_parser", "main"]

Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """Usage errors are bad input: exit code 2 with one line, as argparse does, but without the usage dump."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _models(args: argparse.Namespace) -> int:
    from medai_core.models import model_statuses

    statuses = model_statuses()
    docs: list[dict[str, Any]] = []
    for status in statuses:
        card = status.card
        docs.append(
            {
                "id": status.model_id,
                "version": card.version if card else None,
                "task": card.task if card else None,
                "headline": (
                    {"name": card.headline.name, "value": card.headline.value, "split": card.headline.split}
                    if card
                    else None
                ),
                "weights_sha256": card.weights_sha256 if card else None,
                "available": status.available,
                "problem": status.problem,
            }
        )
    if args.json:
        emit_json(docs)
        return 0
    if not docs:
        print("no models installed")
        return 0
    for doc in docs:
        head = doc["headline"]
        metric = f"{head['name']} {head['value']:.3f} ({head['split']})" if head else doc["problem"]
        sha = (doc["weights_sha256"] or "")[:12]
        print(f"{doc['id']:<22} v{doc['version'] or '?':<8} {doc['task'] or '':<40} {metric}  sha256 {sha}")
    return 0


def _bench_all(args: argparse.Namespace, handlers: dict[str, Handler]) -> int:
    code = 0
    for name, handler in handlers.items():
        print(f"== {name}")
        code = max(code, handler(args))
    return code


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Handler]]:
    """The full parser, and the bench handler of each domain (for ``bench`` with no domain)."""
    parser = _Parser(prog="python -m medai_core", description=f"{APP_NAME} {APP_VERSION} (research use only)")
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {APP_VERSION}")
    root = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser)
    models = root.add_parser("models", help="list the installed models and their held-out headline metric")
    models.add_argument("--json", action="store_true", help="print one JSON document")
    models.set_defaults(handler=_models)
    verbs: dict[str, Any] = {"root": root}
    for verb, text in (
        ("predict", "run a model on inputs"),
        ("evaluate", "score a model on a labelled data folder or file"),
        ("train", "retrain a model with the fixed seed and write weights and card"),
        ("bench", "print the warm-latency benchmark table"),
    ):
        sub = root.add_parser(verb, help=text)
        verbs[verb] = sub.add_subparsers(dest="domain", required=verb != "bench", parser_class=_Parser)
    for domain in DOMAINS:
        importlib.import_module(domain.commands).register(verbs)
    register_admin(root)
    register_scale(verbs)  # serve, batch (Ray imported only when they run)
    from medai_core.cli.fuzz import register as register_fuzz

    register_fuzz(root)  # fuzz: mutation fuzzing of the readers (no TensorFlow)
    bench_handlers: dict[str, Handler] = {
        name: sub.get_default("handler") for name, sub in verbs["bench"].choices.items()
    }
    return parser, bench_handlers


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser, bench_handlers = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.verb == "bench" and args.domain is None:
            return _bench_all(args, bench_handlers)
        handler: Handler = args.handler
        return int(handler(args))
    except (InputError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except MedaiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
