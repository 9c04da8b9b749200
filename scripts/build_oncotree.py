"""Build ``medai_core/genomics/data/oncotree.tsv``: the OncoTree tumour-type tree (codes, names, main types, tissues,
parents) that ``--tumour-type`` and evidence matching read.

Source: OncoTree (Kundra et al., JCO Clinical Cancer Informatics 2021), cBioPortal/oncotree on GitHub, licence
CC BY 4.0. The shipped tree is ``trees/tsv/oncotree_development.txt`` at commit
da0489a011659001674e5e54e488be34a06e7e0f (2026-03-05)::

    curl -LO https://raw.githubusercontent.com/cBioPortal/oncotree/da0489a011659001674e5e54e488be34a06e7e0f/trees/tsv/oncotree_development.txt
    python scripts/build_oncotree.py oncotree_development.txt

The script checks the tree (one root, every parent exists, no cycle) and keeps Code, Name, MainType, Tissue and
Parent (colour and UMLS/NCI codes are dropped).
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "medai_core" / "genomics" / "data" / "oncotree.tsv"
SOURCE = (
    "OncoTree, cBioPortal/oncotree trees/tsv/oncotree_development.txt at commit da0489a (2026-03-05); CC BY 4.0; "
    "https://github.com/cBioPortal/oncotree"
)
RELEASE = "2026-03-05"


def read_tree(path: Path) -> list[dict[str, str]]:
    """The rows of an OncoTree TSV export, stripped, with the tree checked.

    Raises:
        SystemExit: a parent that does not exist, more than one root, or a cycle.
    """
    with open(path, encoding="utf-8", newline="") as handle:
        rows = [{k: (v or "").strip() for k, v in r.items()} for r in csv.DictReader(handle, delimiter="\t")]
    codes = {r["Code"] for r in rows}
    roots = [r["Code"] for r in rows if not r["Parent"]]
    if len(roots) != 1:
        raise SystemExit(f"expected one root, found {roots}")
    missing = sorted({r["Parent"] for r in rows if r["Parent"] and r["Parent"] not in codes})
    if missing:
        raise SystemExit(f"parents that are not nodes: {missing}")
    parent = {r["Code"]: r["Parent"] for r in rows}
    for code in codes:
        seen = set()
        while code:
            if code in seen:
                raise SystemExit(f"cycle at {code}")
            seen.add(code)
            code = parent[code]
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="an OncoTree tree TSV (Code, Color, Name, MainType, ..., Parent)")
    args = parser.parse_args()
    rows = sorted(read_tree(args.source), key=lambda r: r["Code"])
    with open(OUT, "w", encoding="utf-8", newline="") as handle:
        handle.write(f"# {SOURCE}. Release {RELEASE}. Built by scripts/build_oncotree.py.\n")
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["code", "name", "main_type", "tissue", "parent"])
        for r in rows:
            writer.writerow([r["Code"], " ".join(r["Name"].split()), r["MainType"], r["Tissue"], r["Parent"]])
    print(f"wrote {OUT} ({len(rows)} nodes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
