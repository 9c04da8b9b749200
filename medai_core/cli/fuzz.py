"""``python -m medai_core fuzz ct|glucose|genes|all``: the command over :mod:`medai_core.fuzz` (byte mutations)
and :mod:`medai_core.fuzz_structured` (generated files); kept apart so that neither engine imports the other's
caller (the generated-file engine reuses the mutation engine's report)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from medai_core.domains import DOMAINS
from medai_core.errors import InputError

__all__ = ["register"]


def _fuzz_command(args: argparse.Namespace) -> int:
    from medai_core.fuzz import DOMAINS, document, format_table, run_fuzz
    from medai_core.fuzz_structured import run_structured
    from medai_core.serialization import emit_json

    domains = DOMAINS if args.domain == "all" else (args.domain,)
    if args.cases < 1:
        raise InputError(f"--cases must be at least 1, got {args.cases}")
    out = Path(args.out) if args.out else None
    limits: dict[str, Any] = {
        "seed": args.seed,
        "time_limit_s": args.time_limit,
        "memory_mb": args.memory_mb,
        "out": out,
    }
    reports = [run_fuzz(domain, args.cases, **limits) for domain in domains]
    generated = [run_structured(domain, args.cases, **limits) for domain in domains if args.generated]
    if args.json:
        documents = [document(r) for r in reports]
        for doc, report in zip(documents, generated, strict=False):
            doc["structured"] = document(report)  # the generated cases of the same domain (added field)
        emit_json(documents if len(documents) > 1 else documents[0])
    else:
        print(format_table([*reports, *generated]))
        if out is not None:
            print(f"defects saved under {out}")
    return 1 if any(r.defects for r in (*reports, *generated)) else 0


def register(root: Any) -> None:
    """Add ``fuzz`` to the command line's verbs (``root``: the top-level sub-parsers)."""
    parser = root.add_parser(
        "fuzz", help="mutation-fuzz a reader and its first analysis step, and run generated files (isolated)"
    )
    parser.add_argument("domain", choices=(*(d.name for d in DOMAINS), "all"), help="which reader")
    parser.add_argument("--cases", type=int, default=200, help="number of mutated inputs per reader (200)")
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same cases")
    parser.add_argument("--out", help="folder for <domain>-defects.json and each defect's bytes")
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per case before it is a hang (10)")
    parser.add_argument("--memory-mb", type=int, default=3072, help="worker memory limit in MiB (3072)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument(
        "--no-generated",
        dest="generated",
        action="store_false",
        help="byte mutations only, without the generated valid-looking files (medai_core.fuzz_structured)",
    )
    parser.set_defaults(handler=_fuzz_command)
