"""Validate the hand-curated knowledge tables and build the shipped copies in ``medai_core/genomics/data/``.

Inputs (curated by the project, each row citing its source):

* ``scripts/curated/therapy_assertions.csv``: one FDA label indication (US prescribing information, section 1
  "Indications and Usage" unless stated) or NCCN guideline statement per row, current through 2025 approvals.
  Labels are public US government documents; NCCN statements are cited, not copied.
* ``scripts/curated/gene_roles.csv``: oncogene / tumour suppressor, from Vogelstein et al., Science 2013, Table
  S2A (20/20 rule) or the FDA label that defines the gene's biomarker (facts with citation).
* ``scripts/curated/civic_diseases.csv``: CIViC disease names -> OncoTree codes (CIViC is CC0).

Checks: every OncoTree code exists in ``data/oncotree.tsv`` (or is ``SOLID``), every biomarker parses
(:func:`medai_core.genomics.knowledge.biomarkers.parse_biomarker`), ids are unique, levels are FDA or NCCN, dates are
``YYYY`` or ``YYYY-MM-DD``, every row cites its source. Usage::

    python scripts/build_oncotree.py oncotree_development.txt   # first, if the tree changed
    python scripts/build_knowledge.py
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from medai_core.errors import PanelInputError  # noqa: E402
from medai_core.genomics.knowledge.assertions import ASSERTION_COLUMNS  # noqa: E402
from medai_core.genomics.knowledge.biomarkers import parse_biomarker  # noqa: E402
from medai_core.genomics.tumours import SOLID, oncotree  # noqa: E402

CURATED = ROOT / "scripts" / "curated"
DATA = ROOT / "medai_core" / "genomics" / "data"
RELEASE = "2025-12-31"
_DATE = re.compile(r"^\d{4}(-\d{2}-\d{2})?$")


def _read(name: str) -> list[dict[str, str]]:
    with open(CURATED / name, encoding="utf-8", newline="") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


def _write(name: str, header: str, columns: list[str], rows: list[dict[str, str]]) -> None:
    with open(DATA / name, "w", encoding="utf-8", newline="") as handle:
        handle.write(f"# {header}\n")
        writer = csv.DictWriter(handle, fieldnames=columns, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: r[k] for k in columns} for r in rows)
    print(f"wrote {DATA / name} ({len(rows)} rows)")


def _url(row: dict[str, str]) -> str:
    if row["level"] == "NCCN":
        return "https://www.nccn.org/guidelines/category_1"
    brand = row["citation"].split(" (")[0].split(" and ")[0].strip()
    return f"https://dailymed.nlm.nih.gov/dailymed/search.cfm?labeltype=all&query={quote(brand)}"


def validate_assertions(rows: list[dict[str, str]]) -> list[str]:
    """The problems of the curated assertion rows (empty when the table is valid)."""
    tree = oncotree()
    problems = []
    seen: set[str] = set()
    for row in rows:
        where = row.get("id") or "?"
        if where in seen:
            problems.append(f"{where}: duplicate id")
        seen.add(where)
        for col in ("oncotree", "exclude"):
            for code in filter(None, row[col].split("|")):
                if code != SOLID and code not in tree.nodes:
                    problems.append(f"{where}: {col} code {code} is not an OncoTree node")
        if not row["oncotree"]:
            problems.append(f"{where}: no tumour type")
        if row["significance"] not in {"Sensitivity", "Resistance"}:
            problems.append(f"{where}: significance {row['significance']!r}")
        if row["level"] not in {"FDA", "NCCN"}:
            problems.append(f"{where}: level {row['level']!r}")
        if not _DATE.match(row["date"]):
            problems.append(f"{where}: date {row['date']!r}")
        if not row["citation"] or not row["drugs"] or ";" in row["drugs"]:
            problems.append(f"{where}: a citation and one therapy (no ';') are required")
        if row["gene"] != "TMB":
            try:
                parse_biomarker(row["gene"], row["biomarker"])
            except PanelInputError as exc:
                problems.append(f"{where}: {exc}")
    return problems


def main() -> int:
    assertions = _read("therapy_assertions.csv")
    for row in assertions:
        row["url"] = _url(row)
    roles = _read("gene_roles.csv")
    diseases = _read("civic_diseases.csv")
    tree = oncotree()
    problems = validate_assertions(assertions)
    problems += [
        f"role of {r['gene']}: {r['role']!r}" for r in roles if r["role"] not in {"oncogene", "tumour suppressor"}
    ]
    problems += [f"CIViC {d['civic_disease']}: {d['oncotree']}" for d in diseases if d["oncotree"] not in tree.nodes]
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    _write(
        "therapy_assertions.tsv",
        f"Therapy-level assertions from FDA labels (US PI, public) and NCCN guidelines (cited), curated by the "
        f"MedAI Dashboard team, current to {RELEASE}. Built by scripts/build_knowledge.py.",
        list(ASSERTION_COLUMNS),
        sorted(assertions, key=lambda r: r["id"]),
    )
    _write(
        "gene_roles.tsv",
        "Gene roles: Vogelstein et al., Science 2013;339:1546-58 Table S2A (20/20 rule) and FDA labels (facts with "
        f"citation), release {RELEASE}. Built by scripts/build_knowledge.py.",
        ["gene", "role", "citation"],
        sorted(roles, key=lambda r: r["gene"]),
    )
    _write(
        "civic_diseases.tsv",
        f"CIViC disease names (CC0) -> OncoTree codes, curated by the MedAI Dashboard team, release {RELEASE}. "
        "Built by scripts/build_knowledge.py.",
        ["civic_disease", "oncotree"],
        sorted(diseases, key=lambda r: r["civic_disease"]),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
