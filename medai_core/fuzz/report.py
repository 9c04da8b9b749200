"""The fuzz command's records: one case, one generated case, the outcome counts of a run, its JSON document and
its table."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["FuzzCase", "FuzzReport", "StructuredCase", "document", "format_table", "signature"]


@dataclass(frozen=True)
class FuzzCase:
    """One case: where it came from and how it was made.

    Attributes:
        index: 0-based case number.
        seed_name: the seed file's name.
        mutations: the mutation operators applied, in order.
        data: the mutated bytes.
        point: a (row, col, slice) point inside the CT seed's nodule, where known (CT only).
    """

    index: int
    seed_name: str
    mutations: tuple[str, ...]
    data: bytes
    point: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class StructuredCase:
    """One generated case: files with a role each (see :mod:`medai_core.fuzz_structured`).

    Attributes:
        index: 0-based case number.
        family: what was varied, e.g. ``"ct storage"``.
        files: (label, file name, bytes, role) per file; the first is the reference where there is one.
    """

    index: int
    family: str
    files: tuple[tuple[str, str, bytes, str], ...]


@dataclass
class FuzzReport:
    """Outcome counts of one run (the table) and the defects.

    Attributes:
        domain: ``ct``, ``glucose`` or ``genes`` (``<domain>-gen`` for generated cases).
        cases: cases run; results, clean_rejections, defects: how each ended (they add up to ``cases``).
        slowest_case: index of the slowest case; slowest_s: its wall time in seconds (worker round trip).
        peak_memory_mb: the highest peak resident memory of a worker (MiB, the interpreter included).
        seed: the random seed; time_limit_s, memory_mb: the worker limits.
        seeds: seed files; seeds_accepted: those read and analysed without mutation (drawn 4 times as often).
        defect_list: one dict per defect: case, kind, detail, seed_name, mutations, file (when saved).
        rejection_reasons: clean rejections counted by message shape (to see which code paths the cases reach).
    """

    domain: str
    cases: int = 0
    results: int = 0
    clean_rejections: int = 0
    defects: int = 0
    slowest_case: int | None = None
    slowest_s: float = 0.0
    peak_memory_mb: float = 0.0
    seed: int = 0
    time_limit_s: float = 0.0
    memory_mb: int = 0
    seeds: int = 0
    seeds_accepted: int = 0
    defect_list: list[dict[str, Any]] = field(default_factory=list)
    rejection_reasons: Counter[str] = field(default_factory=Counter)

    def signatures(self) -> Counter[str]:
        """Defects grouped by kind and message shape (digits and quoted text blanked)."""
        return Counter(signature(d) for d in self.defect_list)

    def timed(self, index: int, wall_s: float, peak_mb: float) -> None:
        """Count one case's wall time (seconds) and its worker's peak memory (MiB) into the slowest and peak."""
        self.peak_memory_mb = max(self.peak_memory_mb, peak_mb)
        if wall_s > self.slowest_s:
            self.slowest_s, self.slowest_case = wall_s, index


def signature(defect: dict[str, Any]) -> str:
    """``kind: message`` of a defect, with digits and quoted text blanked (defects of one cause group together)."""
    detail = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", str(defect["detail"]).split("\n")[0])
    return f"{defect['kind']}: {re.sub(r'[0-9]+', 'N', detail)[:140]}"


def document(report: FuzzReport) -> dict[str, Any]:
    """The JSON document of one run (``fuzz --json``; ``<domain>-defects.json`` under ``--out``)."""
    doc = {k: v for k, v in asdict(report).items() if k != "rejection_reasons"}
    doc["signatures"] = dict(report.signatures().most_common())
    doc["rejection_reasons"] = dict(report.rejection_reasons.most_common())
    return doc


def format_table(reports: Sequence[FuzzReport]) -> str:
    """The fuzz table: one row per domain, then each domain's defects grouped by signature."""
    head = (
        f"{'reader':<8} {'cases':>6} {'results':>8} {'rejected':>9} {'defects':>8} {'slowest case':>18} {'peak MiB':>9}"
    )
    lines = [head, "-" * len(head)]
    for r in reports:
        slowest = f"#{r.slowest_case} {r.slowest_s:.2f} s" if r.slowest_case is not None else "-"
        lines.append(
            f"{r.domain:<8} {r.cases:>6} {r.results:>8} {r.clean_rejections:>9} {r.defects:>8} {slowest:>18} "
            f"{r.peak_memory_mb:>9.0f}"
        )
    for r in reports:
        for shape, count in r.signatures().most_common():
            first = next(d for d in r.defect_list if signature(d) == shape)
            lines.append(f"  {r.domain} defect x{count} (first: case {first['case']}): {shape}")
    return "\n".join(lines)
