"""The knowledge base: :class:`EvidenceBase`, where the CIViC export comes from (see the package docstring), reading
and validating an export, and installing one (:func:`evidence_import`)."""

from __future__ import annotations

import csv
import gzip
import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from medai_core.config import get_settings, user_data_dir
from medai_core.errors import PanelInputError
from medai_core.genomics.evidence.rules import Entry, GeneIndex
from medai_core.genomics.knowledge.assertions import Assertion, load_assertions

CIVIC_COLUMNS: tuple[str, ...] = (
    "gene",
    "variant",
    "disease",
    "drugs",
    "evidence_type",
    "evidence_direction",
    "evidence_level",
    "clinical_significance",
)
#: Columns of the shipped snapshot (one accepted predictive item per row).
SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "gene",
    "variant",
    "disease",
    "drugs",
    "direction",
    "significance",
    "level",
    "evidence_id",
    "citation_id",
)

_DATE_RE = re.compile(r"(\d{1,2}-[A-Za-z]{3}-\d{4})")
_SNAPSHOT_RE = re.compile(r"^civic_predictive_(\d{1,2}-[A-Za-z]{3}-\d{4})\.tsv\.gz$")


@dataclass(frozen=True)
class EvidenceBase:
    """Predictive evidence indexed by gene.

    Attributes:
        entries: gene -> CIViC entries.
        assertions: gene -> therapy-level assertions (FDA labels, guidelines).
        civic_release: the CIViC release date (``01-Aug-2021``), or None when only the FDA table is loaded.
        civic_origin: ``shipped snapshot``, ``imported`` (user data folder), or ``folder`` (given explicitly).
    """

    entries: dict[str, tuple[Entry, ...]]
    civic_release: str | None
    civic_origin: str = ""
    assertions: Mapping[str, tuple[Assertion, ...]] = field(default_factory=dict)
    source: tuple[str, str | None, float] | None = field(default=None, compare=False, repr=False)
    """How :func:`load_evidence` loaded it (kind, location, modification time), or None for a base built directly."""

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as how it was loaded, where :func:`load_evidence` loaded it (so an isolated worker that analyses
        a panel loads the base once and keeps it), else whole."""
        if self.source is not None:
            return _load, self.source
        return EvidenceBase, (self.entries, self.civic_release, self.civic_origin, dict(self.assertions))

    @cached_property
    def index(self) -> dict[str, GeneIndex]:
        """gene -> its CIViC entries indexed by exact change and by codon (built once per base)."""
        return {gene: GeneIndex.build(entries) for gene, entries in self.entries.items()}

    @property
    def description(self) -> str:
        """One line naming the sources, for the page and the report."""
        if self.civic_release:
            origin = f", {self.civic_origin}" if self.civic_origin else ""
            civic = f"CIViC predictive evidence, release {self.civic_release} (CC0{origin}; tier II-D at best)"
        else:
            civic = "CIViC not loaded"
        if not self.assertions:
            return civic
        return f"{civic}; therapy-level assertions from FDA labels and NCCN guidelines (MedAI table, to 2025-12-31)"


def civic_release_date(name: str) -> date | None:
    """The release date in a CIViC export or snapshot name (``01-Aug-2021-ClinicalEvidenceSummaries.tsv``), or
    None when the name carries no ``DD-Mon-YYYY`` date."""
    match = _DATE_RE.search(name)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1).title(), "%d-%b-%Y").date()
    except ValueError:
        return None


def _export_date(path: Path) -> date:
    return civic_release_date(path.name) or date.fromtimestamp(path.stat().st_mtime)


def find_civic_export(folder: Path) -> Path | None:
    """The most recent ``*ClinicalEvidenceSummaries.tsv`` in ``folder`` by the release date parsed from its name
    (``DD-Mon-YYYY``; the file's modification date where the name has none), or None."""
    if not Path(folder).is_dir():
        return None
    found = list(Path(folder).glob("*ClinicalEvidenceSummaries.tsv"))
    return max(found, key=lambda p: (_export_date(p), p.name)) if found else None


def _shipped_snapshot() -> tuple[str, str] | None:
    """(resource name, release) of the newest CIViC snapshot shipped in ``data/``, or None."""
    folder = resources.files("medai_core.genomics").joinpath("data")
    found = [(m.group(1), item.name) for item in folder.iterdir() if (m := _SNAPSHOT_RE.match(item.name))]
    if not found:
        return None
    release, name = max(found, key=lambda f: civic_release_date(f[0]) or date.min)
    return name, release


def _join_drugs(drugs: str, interaction: str) -> str:
    names = [d.strip() for d in drugs.split(",") if d.strip()]
    return (" + " if interaction.strip().lower() == "combination" else "; ").join(names)


def read_civic_rows(path: Path) -> list[dict[str, str]]:
    """Accepted predictive items of a CIViC ``ClinicalEvidenceSummaries.tsv`` as :data:`SNAPSHOT_COLUMNS` rows.

    Raises:
        PanelInputError: the file is not a CIViC clinical evidence export.
    """
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t")
            missing = [c for c in CIVIC_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise PanelInputError(
                    f"{Path(path).name} is not a CIViC ClinicalEvidenceSummaries export: columns {missing} are "
                    "missing. Download 'ClinicalEvidenceSummaries.tsv' from civicdb.org (Releases)."
                )
            out = []
            for row in reader:
                if row["evidence_type"] != "Predictive" or (row.get("evidence_status") or "accepted") != "accepted":
                    continue
                out.append(
                    {
                        "gene": row["gene"].strip().upper(),
                        "variant": " ".join(row["variant"].upper().split()),
                        "disease": row["disease"].strip(),
                        "drugs": _join_drugs(row["drugs"], row.get("drug_interaction_type") or ""),
                        "direction": row["evidence_direction"].strip(),
                        "significance": row["clinical_significance"].strip(),
                        "level": row["evidence_level"].strip(),
                        "evidence_id": (row.get("evidence_id") or "").strip(),
                        "citation_id": (row.get("citation_id") or "").strip(),
                    }
                )
    except (UnicodeDecodeError, csv.Error) as exc:
        raise PanelInputError(f"{Path(path).name} cannot be read as a CIViC export ({exc}).") from None
    return out


def _entries_from_rows(rows: Iterable[dict[str, str]]) -> list[Entry]:
    return [
        Entry(
            r["gene"],
            r["variant"],
            r["disease"],
            r["drugs"],
            r["direction"],
            r["significance"],
            r["level"],
            f"CIViC EID{r['evidence_id']}" + (f" (PubMed {r['citation_id']})" if r["citation_id"] else ""),
        )
        for r in rows
    ]


def _read_snapshot(name: str) -> list[Entry]:
    blob = resources.files("medai_core.genomics").joinpath(f"data/{name}").read_bytes()
    text = gzip.decompress(blob).decode("utf-8")
    rows = csv.DictReader((line for line in text.splitlines() if not line.startswith("#")), delimiter="\t")
    return _entries_from_rows(rows)


@lru_cache(maxsize=4)
def _load(kind: str, location: str | None, stamp: float) -> EvidenceBase:
    entries: list[Entry] = []
    release = None
    if kind == "snapshot" and location:
        snapshot = _shipped_snapshot()
        if snapshot is not None:
            entries.extend(_read_snapshot(snapshot[0]))
            release = snapshot[1]
    elif location:
        entries.extend(_entries_from_rows(read_civic_rows(Path(location))))
        found = civic_release_date(Path(location).name)
        release = found.strftime("%d-%b-%Y") if found else Path(location).name.split("-ClinicalEvidence")[0]
    by_gene: dict[str, list[Entry]] = {}
    for entry in entries:
        by_gene.setdefault(entry.gene, []).append(entry)
    origin = {"snapshot": "snapshot shipped with MedAI Dashboard", "imported": "imported", "folder": "given folder"}
    return EvidenceBase(
        {g: tuple(v) for g, v in by_gene.items()},
        release,
        origin[kind] if release else "",
        load_assertions(),
        source=(kind, location, stamp),
    )


def load_evidence(folder: Path | None = None) -> EvidenceBase:
    """The therapy-level assertions plus one CIViC release.

    Args:
        folder: read the newest export in this folder only (no fallback; an empty folder gives the assertions
            alone). Default: the newest export by the date in its name among ``MEDAI_EVIDENCE_DIR`` (if set) and
            the exports installed by ``evidence import`` in the user data folder; without any, the snapshot shipped
            in the package.
    """
    if folder is not None:
        path = find_civic_export(Path(folder))
        return _load("folder", str(path) if path else None, path.stat().st_mtime if path else 0.0)
    extra = get_settings().evidence_dir
    folders = ([extra] if extra is not None else []) + [user_data_dir() / "civic"]
    found = [path for folder in folders if (path := find_civic_export(folder)) is not None]
    if found:
        path = max(found, key=_export_date)  # the newest release by its parsed date, wherever it is installed
        return _load("imported", str(path), path.stat().st_mtime)
    snapshot = _shipped_snapshot()
    return _load("snapshot", snapshot[0] if snapshot else None, 0.0)


def evidence_import(source: Path, dest_dir: Path | None = None) -> tuple[Path, int]:
    """Validate a downloaded CIViC ``ClinicalEvidenceSummaries.tsv`` and copy it into the user data folder, where
    it takes precedence over the shipped snapshot (the newest installed release by the date in its name wins).

    Returns:
        (the installed path, the number of accepted predictive evidence items).

    Raises:
        PanelInputError: the file is missing or not a CIViC clinical evidence export.
    """
    source = Path(source)
    if not source.is_file():
        raise PanelInputError(
            f"{source.name} does not exist. Give the path of the downloaded ClinicalEvidenceSummaries.tsv."
        )
    rows = read_civic_rows(source)
    if not rows:
        raise PanelInputError(f"{source.name} holds no accepted predictive evidence items; is it the right export?")
    target_dir = Path(dest_dir) if dest_dir is not None else user_data_dir() / "civic"
    target_dir.mkdir(parents=True, exist_ok=True)
    released = civic_release_date(source.name)
    stamp = (released or date.today()).strftime("%d-%b-%Y")
    target = target_dir / f"{stamp}-ClinicalEvidenceSummaries.tsv"
    shutil.copyfile(source, target)
    return target, len(rows)
