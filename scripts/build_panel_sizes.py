"""Derive the MSK-IMPACT panel sizes (the TMB denominators) from the Samstein 2019 cohort's own columns.

cBioPortal's ``tmb_mskcc_2018`` clinical table gives, per sample, the ``Mutation Count`` and the ``TMB Score``
(mutations per Mb) computed from it, so ``Mutation Count / TMB Score`` is the size in Mb that MSK used for that
sample's panel. This script takes the median of that ratio over the samples of each panel (both columns > 0) and
writes ``medai_core/genomics/data/impact_panel_sizes.csv`` with the number of samples and the spread behind each
size. Input: ``../shared/data/genes/samstein2019/clinical.tsv`` (Samstein et al., Nat Genet 2019;51:202-206).

Usage::

    python scripts/build_panel_sizes.py [--clinical PATH]
"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "genes" / "samstein2019" / "clinical.tsv"
OUT = ROOT / "medai_core" / "genomics" / "data" / "impact_panel_sizes.csv"
PANELS = ("IMPACT341", "IMPACT410", "IMPACT468")


def panel_sizes(clinical: Path) -> dict[str, tuple[float, int, float, float]]:
    """Panel -> (median Mutation Count / TMB Score in Mb, samples, 25th and 75th percentile of the ratio)."""
    ratios: dict[str, list[float]] = {p: [] for p in PANELS}
    with clinical.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            panel = row["Gene Panel"].strip()
            try:
                count, tmb = float(row["Mutation Count"]), float(row["TMB Score"])
            except ValueError:
                continue
            if panel in ratios and count > 0 and tmb > 0:
                ratios[panel].append(count / tmb)
    out = {}
    for panel, values in ratios.items():
        if len(values) < 20:
            raise SystemExit(f"{panel}: only {len(values)} samples with a mutation count and a TMB score")
        q1, _, q3 = statistics.quantiles(values, n=4)
        out[panel] = (statistics.median(values), len(values), q1, q3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clinical", type=Path, default=DEFAULT)
    args = parser.parse_args()
    sizes = panel_sizes(args.clinical)
    lines = [
        "# MSK-IMPACT panel sizes in Mb (TMB denominators): median of Mutation Count / TMB Score over the samples of",
        "# each panel in the Samstein 2019 cohort (cBioPortal study tmb_mskcc_2018; Samstein et al., Nat Genet",
        "# 2019;51:202-206), built by scripts/build_panel_sizes.py from shared/data/genes/samstein2019/clinical.tsv.",
        "panel,size_mb,samples,ratio_q1,ratio_q3",
        *(f"{p},{m:.3f},{n},{q1:.3f},{q3:.3f}" for p, (m, n, q1, q3) in sizes.items()),
    ]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines[3:]))


if __name__ == "__main__":
    main()
