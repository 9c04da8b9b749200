"""Build the CIViC predictive-evidence snapshot shipped in ``medai_core/genomics/data/`` (and the small test excerpt).

CIViC (Griffith et al., Nat Genet 2017; civicdb.org) is released under CC0 1.0, so a compact derivative may ship
with the project. The snapshot keeps only accepted *predictive* evidence items and the columns the matcher uses,
with the drugs of one item joined as the matcher reads them (``A + B`` for a combination, ``A; B`` for
alternatives).

Usage::

    python scripts/build_civic_snapshot.py ../shared/data/genes/civic/01-Aug-2021-ClinicalEvidenceSummaries.tsv
    python scripts/build_civic_snapshot.py EXPORT.tsv --excerpt tests/data/genes/civic_excerpt.tsv \
        --genes BRAF,EGFR,IDH1,ERBB2,KRAS,MET,ALK

The output name carries the release date parsed from the export's name (``civic_predictive_01-Aug-2021.tsv.gz``).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
from pathlib import Path

from medai_core.genomics.evidence import CIVIC_COLUMNS, SNAPSHOT_COLUMNS, civic_release_date, read_civic_rows

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "medai_core" / "genomics" / "data"


def _rows_text(rows: list[dict[str, str]], release: str) -> str:
    out = io.StringIO()
    out.write(
        f"# CIViC predictive evidence, release {release} (accepted items only). Source: civicdb.org, CC0 1.0. "
        "Built by scripts/build_civic_snapshot.py.\n"
    )
    writer = csv.DictWriter(out, fieldnames=list(SNAPSHOT_COLUMNS), delimiter="\t", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row[k] for k in SNAPSHOT_COLUMNS})
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export", type=Path, help="a CIViC <DD-Mon-YYYY>-ClinicalEvidenceSummaries.tsv")
    parser.add_argument("--excerpt", type=Path, default=None, help="write a plain-text excerpt here instead")
    parser.add_argument("--genes", default="", help="comma-separated genes kept in the excerpt")
    args = parser.parse_args()
    release_date = civic_release_date(args.export.name)
    if release_date is None:
        parser.error(f"{args.export.name}: the name must start with the release date (DD-Mon-YYYY)")
    release = release_date.strftime("%d-%b-%Y")
    rows = read_civic_rows(args.export)
    if args.excerpt is not None:
        # An excerpt in the export's own layout (so `evidence import` accepts it), predictive items of a few genes.
        genes = {g.strip().upper() for g in args.genes.split(",") if g.strip()}
        columns = [*CIVIC_COLUMNS, "drug_interaction_type", "evidence_status", "evidence_id", "citation_id"]
        with open(args.export, encoding="utf-8", newline="") as handle:
            raw = [
                r
                for r in csv.DictReader(handle, delimiter="\t")
                if r["gene"].upper() in genes and r["evidence_type"] == "Predictive"
            ]
        with open(args.excerpt, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, delimiter="\t", lineterminator="\n")
            writer.writeheader()
            for r in raw:
                writer.writerow({k: r.get(k, "") for k in columns})
        print(f"wrote {args.excerpt} ({len(raw)} items)")
        return 0
    target = DATA / f"civic_predictive_{release}.tsv.gz"
    for old in DATA.glob("civic_predictive_*.tsv.gz"):
        old.unlink()
    target.write_bytes(gzip.compress(_rows_text(rows, release).encode("utf-8"), compresslevel=9, mtime=0))
    print(f"wrote {target} ({len(rows)} items, {target.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
