"""The fuzz command's driver: mutated cases of one domain through the isolated reader and the domain's first
analysis step (its :class:`~medai_core.fuzz.target.FuzzTarget`), each classified as a result, a clean rejection or
a defect."""

from __future__ import annotations

import json
import random
import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from medai_core.errors import InputError
from medai_core.fuzz.mutations import mutate
from medai_core.fuzz.report import FuzzCase, FuzzReport, document, signature
from medai_core.fuzz.target import Seed, fuzz_target

__all__ = ["classify", "run_fuzz", "seed_corpus"]


def seed_corpus(domain: str) -> list[Seed]:
    """The seed files of ``domain``: (name, bytes, nodule point or None).

    Raises:
        ValueError: no domain of that name.
    """
    return list(fuzz_target(domain).seeds())


def _run_case(domain: str, data: bytes, name: str, point: tuple[int, int, int] | None) -> list[str]:
    """Worker entry: the domain check of one case (module-level so the worker imports it by reference)."""
    return fuzz_target(domain).check(data, name, point)


def run_fuzz(
    domain: str,
    cases: int,
    *,
    seed: int = 0,
    time_limit_s: float = 10.0,
    memory_mb: int = 3072,
    out: Path | None = None,
    progress: Callable[[int, FuzzReport], None] | None = None,
) -> FuzzReport:
    """Run ``cases`` mutated inputs of ``domain`` through the isolated reader and first step.

    Args:
        domain: ``ct``, ``glucose`` or ``genes``.
        cases: number of cases.
        seed: random seed (the same seed gives the same cases).
        time_limit_s: worker time limit per case.
        memory_mb: worker address-space limit.
        out: folder for ``defects.json`` and the defects' bytes (None: not saved).
        progress: called after each case with (index, report so far).
    """
    from medai_core.isolation import IsolationPool

    target = fuzz_target(domain)
    corpus = list(target.seeds())
    rng = random.Random(seed)
    report = FuzzReport(domain=domain, seed=seed, time_limit_s=time_limit_s, memory_mb=memory_mb)
    pool = IsolationPool(workers=1, time_limit_s=time_limit_s, memory_mb=memory_mb, stderr=subprocess.DEVNULL)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    try:
        pool.run(len, b"")  # wait for the worker's imports, so that they do not count as the first case's time
        # Seeds the reader and step accept unmutated are drawn 4 times as often: their mutants reach deeper code.
        weights = [
            4.0 if classify(pool, domain, data, target.case_name(name), point)[0] == "result" else 1.0
            for name, data, point in corpus
        ]
        report.seeds, report.seeds_accepted = len(corpus), sum(w > 1 for w in weights)
        for index in range(cases):
            seed_name, data, point = rng.choices(corpus, weights)[0]
            other = rng.choice(corpus)[1]
            mutated, ops = mutate(rng, data, domain, other)
            case = FuzzCase(index, seed_name, ops, mutated, point)
            _run_one(pool, report, case, domain, out)
            if progress is not None:
                progress(index, report)
    finally:
        pool.close()
    if out is not None:
        (out / f"{domain}-defects.json").write_text(json.dumps(document(report), indent=2) + "\n")
    return report


def classify(
    pool: Any, domain: str, data: bytes, name: str, point: tuple[int, int, int] | None = None
) -> tuple[str, str, float]:
    """Run one input through the isolated reader and first step of ``domain``; how it ended.

    Args:
        pool: an :class:`~medai_core.isolation.IsolationPool`.
        domain: ``ct``, ``glucose`` or ``genes``.
        data: the input's bytes; name: its file name; point: a nodule point (CT).

    Returns:
        (outcome, detail, worker peak MiB): ``("result", "", mb)``, ``("rejected", message, 0)``, or a defect:
        ``("crash" | "timeout" | "memory" | "exception" | "out of range", what happened, mb or 0)``.
    """
    try:
        run = pool.run(_run_case, domain, data, name, point, label=name)
    except InputError as exc:
        text = str(exc)
        if "could not be read safely" not in text:
            return "rejected", f"{type(exc).__name__}: {text}", 0.0
        kind = "timeout" if "longer than" in text else "memory" if "memory" in text else "crash"
        return kind, text.split("could not be read safely: ", 1)[1].split(". Check that")[0], 0.0
    except Exception as exc:  # any other exception is a defect: say where it came from
        kind_name = type(exc).__qualname__
        module = type(exc).__module__
        kind_name = kind_name if module in ("builtins", "") else f"{module}.{kind_name}"
        cause = exc.__cause__
        where = _innermost_frame(str(cause)) if cause is not None else ""
        return "exception", f"{kind_name}: {exc}"[:300] + (f" at {where}" if where else ""), 0.0
    if run.value:
        return "out of range", "; ".join(run.value), run.worker_peak_rss_mb
    return "result", "", run.worker_peak_rss_mb


def _run_one(pool: Any, report: FuzzReport, case: FuzzCase, domain: str, out: Path | None) -> None:
    """Run one case and count its outcome into ``report``; a defect's bytes are saved under ``out``."""
    report.cases += 1
    name = fuzz_target(domain).case_name(case.seed_name)
    start = time.monotonic()
    kind, detail, peak_mb = classify(pool, domain, case.data, name, case.point)
    report.timed(case.index, time.monotonic() - start, peak_mb)
    if kind == "result":
        report.results += 1
    elif kind == "rejected":
        report.clean_rejections += 1
        report.rejection_reasons[signature({"kind": "", "detail": detail})[2:102]] += 1
    if kind not in ("result", "rejected"):
        report.defects += 1
        entry: dict[str, Any] = {
            "case": case.index,
            "kind": kind,
            "detail": detail,
            "seed_name": case.seed_name,
            "mutations": list(case.mutations),
            "size": len(case.data),
        }
        if out is not None:
            path = out / f"{domain}-{case.index:05d}.bin"
            path.write_bytes(case.data)
            entry["file"] = path.name
        report.defect_list.append(entry)


def _innermost_frame(traceback_text: str) -> str:
    frames = re.findall(r'File "([^"]+)", line (\d+), in (\S+)', traceback_text)
    if not frames:
        return ""
    path, line, func = frames[-1]
    return f"{Path(path).name}:{line} {func}"
