"""Build ``medai_core/genomics/data/cancer_hotspots.tsv``: the mutation hotspots of Chang et al. 2018 (Cancer
Discovery 8:174-183, "Accelerating discovery of functional mutant alleles in cancer"; cancerhotspots.org v2, 24,592
tumours), which decide whether a missense or in-frame call is a known *oncogenic* change.

Source: cBioPortal/cancerhotspots on GitHub, ``webapp/src/main/resources/data/v2_multi_type_residue.txt`` at commit
9b4f140d1a3e39a4c3994d22c10943bbaa271b7f (2025-10-20; the v2 set made public 2017-12-19). The repository's code is
AGPL-3.0; the hotspot list itself (gene, residue, observed amino acids) is the published result of Chang et al.
2018 (their Table S2, also at cancerhotspots.org), reproduced here as facts with attribution::

    curl -LO https://raw.githubusercontent.com/cBioPortal/cancerhotspots/9b4f140d1a3e39a4c3994d22c10943bbaa271b7f/webapp/src/main/resources/data/v2_multi_type_residue.txt
    python scripts/build_hotspots.py v2_multi_type_residue.txt

Rows: ``gene, kind, start, end, variants``: ``single`` residue hotspots (start = end = the residue; ``variants`` the
alternate amino acids observed there, ``*`` for stop, the reference letter dropped) and ``indel`` hotspots (a range
of residues where in-frame insertions/deletions recur; ``variants`` empty).
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "medai_core" / "genomics" / "data" / "cancer_hotspots.tsv"
SOURCE = (
    "Cancer Hotspots v2 (Chang et al., Cancer Discov 2018;8:174-183), cBioPortal/cancerhotspots "
    "v2_multi_type_residue.txt at commit 9b4f140 (2025-10-20); published facts with attribution (repository code "
    "AGPL-3.0)"
)
RELEASE = "2017-12-19"
_SINGLE = re.compile(r"^([A-Z*])(\d+)$")
_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="v2_multi_type_residue.txt")
    args = parser.parse_args()
    out: list[tuple[str, str, int, int, str]] = []
    with open(args.source, encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            gene, residue = row["Hugo_Symbol"].strip(), row["Residue"].strip()
            single = _SINGLE.match(residue)
            if single:
                ref, pos = single.group(1), int(single.group(2))
                alts = sorted(
                    {
                        part.split(":")[0]
                        for part in row["Variant_Amino_Acid"].split("|")
                        if part and part.split(":")[0] != ref
                    }
                )
                if alts:
                    out.append((gene, "single", pos, pos, "".join(alts)))
                continue
            span = _RANGE.match(residue)
            if not span:
                raise SystemExit(f"unreadable residue {residue!r} for {gene}")
            start = int(span.group(1))
            end = int(span.group(2) or start)
            out.append((gene, "indel", start, end, ""))
    out.sort()
    with open(OUT, "w", encoding="utf-8", newline="") as handle:
        handle.write(f"# {SOURCE}. Release {RELEASE}. Built by scripts/build_hotspots.py.\n")
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["gene", "kind", "start", "end", "variants"])
        writer.writerows(out)
    print(f"wrote {OUT} ({len(out)} hotspots in {len({o[0] for o in out})} genes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
