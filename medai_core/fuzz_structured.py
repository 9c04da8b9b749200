"""Structure-aware fuzzing: valid-looking files built with a known meaning, beside the byte mutations of
:mod:`medai_core.fuzz` (``python -m medai_core fuzz <domain>`` runs both).

Byte mutations find crashes; they rarely build a file that is well formed and means something else. Each case here
is a small family of files generated from one random, valid study (a synthetic CT phantom written with pydicom, a
simulated CGM record in a vendor CSV layout, a MAF or VCF of random calls) with a known expected outcome per file:

=============  ==================================================================================================
role           what the reader and first analysis step must do with the file
=============  ==================================================================================================
reference      read it (the study stored the plain way)
same           read it and give the reference's answer (CT: the same Hounsfield volume and spacings; CGM: the same
               readings; genes: the same TMB per sample): the same study stored another way
refused        refuse it with an ``InputError``: a file whose header or values mean something no study holds
               (PixelSpacing with 4 values, byte-swapped pixels, slices 0.002 mm apart, ...)
consistent     the same outcome for each of its files (CGM: ``nan``, ``inf`` and an empty value in the same place:
               all refused, or all read with that reading left out and a note)
empty          refuse it, or read it with a note that it holds no calls (a header-only panel)
=============  ==================================================================================================

A file read with exit 0 and a wrong answer is a *defect*, as are crashes, hangs and memory blow-ups; each case runs
in the isolated worker (:mod:`medai_core.isolation`) like the byte mutations, and the outcome table is
:class:`medai_core.fuzz.FuzzReport`'s. Every case is reproducible from the seed.

Each domain's generator and answer are part of its fuzz target (``medai_core/fuzz/<domain>.py``, found through the
domain registry); this module holds what is common: the roles, the check of a case and the driver.
"""

from __future__ import annotations

import random
import re
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from medai_core.errors import InputError
from medai_core.fuzz.report import FuzzReport, StructuredCase, document
from medai_core.fuzz.target import fuzz_target

__all__ = ["ROLES", "StructuredCase", "check_structured", "generate_case", "run_structured"]

ROLES = ("reference", "same", "refused", "consistent", "empty")
_NO_CALLS = re.compile(r"no (?:calls|variants|mutations)|holds no|empty|header only|0 calls", re.IGNORECASE)


def generate_case(domain: str, rng: random.Random, index: int) -> StructuredCase:
    """One generated case of ``domain`` (``ct``, ``glucose`` or ``genes``), drawn from ``rng``."""
    return fuzz_target(domain).generate(rng, index)


# ------------------------------------------------------------------------------------------------ checks (worker)


def check_structured(domain: str, files: Sequence[tuple[str, str, bytes, str]]) -> list[str]:
    """Read every file of one case and compare each outcome with its role; the violations found (worker entry).

    Args:
        domain: ``ct``, ``glucose`` or ``genes``.
        files: (label, file name, bytes, role) per file, as :class:`StructuredCase` holds them.

    Returns:
        one line per file whose outcome is not what its role requires (empty: the case passed).
    """
    target = fuzz_target(domain)
    outcomes = _outcomes(target.answer, files)
    reference = next((o for o in outcomes if o[1] == "reference"), None)
    ref_value = None if reference is None or isinstance(reference[2], InputError) else reference[2]
    if reference is not None and ref_value is None:
        return [f"the reference ({reference[0]}) was refused: {str(reference[2])[:200]}"]
    problems = [p for o in outcomes if (p := _role_problem(*o, ref_value, target.differs)) is not None]
    consistent = [(label, value, notes) for label, role, value, notes in outcomes if role == "consistent"]
    if consistent:
        problems += _consistency(consistent, ref_value, reference[3] if reference is not None else ())
    return problems


_Outcome = tuple[str, str, Any, tuple[str, ...]]
"""One file's outcome: label, role, its answer or the ``InputError`` that refused it, notes."""


def _outcomes(
    answer: Callable[[bytes, str], tuple[Any, tuple[str, ...]]], files: Sequence[tuple[str, str, bytes, str]]
) -> list[_Outcome]:
    """Each file read: its answer and notes, or the refusal."""
    outcomes: list[_Outcome] = []
    for label, name, data, role in files:
        try:
            value, notes = answer(data, name)
            outcomes.append((label, role, value, notes))
        except InputError as exc:
            outcomes.append((label, role, exc, ()))
    return outcomes


def _role_problem(
    label: str, role: str, value: Any, notes: tuple[str, ...], ref_value: Any, differs: Callable[[Any, Any], Any]
) -> str | None:
    """How a file's outcome falls short of its role (``same``, ``refused``, ``empty``), or None."""
    refused = isinstance(value, InputError)
    if role == "same" and refused:
        return f"{label}: refused although it stores the reference study ({str(value)[:160]})"
    if role == "same" and (diff := differs(ref_value, value)) is not None:
        return f"{label}: read with exit 0 but {diff}"
    if role == "refused" and not refused:
        return f"{label}: read with exit 0, where no study holds such a file"
    if role == "empty" and not refused and not any(_NO_CALLS.search(n) for n in notes):
        return f"{label}: read with exit 0 and no note that it holds no calls"
    return None


def _consistency(
    outcomes: list[tuple[str, Any, tuple[str, ...]]], ref_value: Any, ref_notes: Sequence[str]
) -> list[str]:
    """Files that differ in one reading only (nan, inf, empty): one rule for all, and a note where one is dropped."""
    kinds = {label: "refused" if isinstance(value, InputError) else "read" for label, value, _ in outcomes}
    if len(set(kinds.values())) > 1:
        shown = ", ".join(f"{label} {kind}" for label, kind in kinds.items())
        return [f"one bad reading handled two ways: {shown}"]
    problems = []
    for label, value, notes in outcomes:
        if isinstance(value, InputError) or ref_value is None:
            continue
        if value[0] != ref_value[0] - 1:
            problems.append(f"{label}: {value[0]} readings kept of the reference's {ref_value[0]}")
        elif not set(notes) - set(ref_notes):
            problems.append(f"{label}: the reading was left out without a note")
    return problems


# ------------------------------------------------------------------------------------------------ driver


def run_structured(
    domain: str,
    cases: int,
    *,
    seed: int = 0,
    time_limit_s: float = 20.0,
    memory_mb: int = 3072,
    out: Path | None = None,
    progress: Callable[[int, Any], None] | None = None,
) -> FuzzReport:
    """Run ``cases`` generated cases of ``domain`` through the isolated readers; a
    :class:`medai_core.fuzz.FuzzReport` whose domain is ``"<domain>-gen"``.

    A case counts as a result when every file met its role (a refusal a role requires is part of the result), and
    as a defect otherwise (see :func:`check_structured`); clean rejections stay 0.

    Args:
        domain: ``ct``, ``glucose`` or ``genes``.
        cases: number of cases.
        seed: random seed (the same seed gives the same cases).
        time_limit_s: worker time limit per case (all its files).
        memory_mb: worker address-space limit.
        out: folder for ``<domain>-gen-defects.json`` and each defect's files (None: not saved).
        progress: called after each case with (index, report so far).

    Raises:
        ValueError: no domain of that name.
    """
    import json

    from medai_core.isolation import IsolationPool

    generate = fuzz_target(domain).generate
    rng = random.Random(f"structured-{domain}-{seed}")
    report = FuzzReport(domain=f"{domain}-gen", seed=seed, time_limit_s=time_limit_s, memory_mb=memory_mb)
    pool = IsolationPool(workers=1, time_limit_s=time_limit_s, memory_mb=memory_mb, stderr=subprocess.DEVNULL)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    try:
        pool.run(len, b"")  # the worker's imports do not count as the first case's time
        for index in range(cases):
            case = generate(rng, index)
            start = time.monotonic()
            kind, detail, peak = _classify(pool, domain, case)
            report.cases += 1
            report.timed(index, time.monotonic() - start, peak)
            if kind == "result":
                report.results += 1
            else:
                report.defects += 1
                report.defect_list.append(_defect(domain, case, kind, detail, out))
            if progress is not None:
                progress(index, report)
    finally:
        pool.close()
    if out is not None:
        (out / f"{domain}-gen-defects.json").write_text(json.dumps(document(report), indent=2) + "\n")
    return report


def _defect(domain: str, case: StructuredCase, kind: str, detail: str, out: Path | None) -> dict[str, Any]:
    """The report entry of a defective case; its files saved under ``out`` (where given) as reproducers."""
    entry: dict[str, Any] = {
        "case": case.index,
        "kind": kind,
        "detail": detail,
        "seed_name": case.family,
        "mutations": [f"{label} ({role})" for label, _, _, role in case.files],
        "size": sum(len(data) for _, _, data, _ in case.files),
    }
    if out is not None:
        names = []
        for k, (_, name, data, _) in enumerate(case.files):
            path = out / f"{domain}-gen-{case.index:05d}-{k}{Path(name).suffix or '.bin'}"
            if name.endswith(".gz"):
                path = path.with_suffix(".csv.gz")
            path.write_bytes(data)
            names.append(path.name)
        entry["file"] = ", ".join(names)
    return entry


def _classify(pool: Any, domain: str, case: StructuredCase) -> tuple[str, str, float]:
    """(outcome, detail, worker peak MiB) of one case: ``result`` or a defect kind."""
    try:
        run = pool.run(check_structured, domain, case.files, label=f"{domain} case {case.index}")
    except InputError as exc:  # the worker crashed, hung or ran out of memory on one of the files
        text = str(exc)
        kind = "timeout" if "longer than" in text else "memory" if "memory" in text else "crash"
        return kind, f"{case.family}: {text[:240]}", 0.0
    except Exception as exc:
        return "exception", f"{case.family}: {type(exc).__qualname__}: {exc}"[:300], 0.0
    if run.value:
        return "wrong answer", f"{case.family}: " + "; ".join(run.value)[:400], run.worker_peak_rss_mb
    return "result", "", run.worker_peak_rss_mb
