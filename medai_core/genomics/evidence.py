"""Knowledge-base evidence for panel alterations: CIViC predictive evidence (Griffith et al., Nat Genet 2017; CC0)
and a small shipped table of FDA-approved biomarker-therapy pairs (``data/fda_biomarkers.csv``, label citations),
with AMP/ASCO/CAP 2017 tiers (Li et al., J Mol Diagn 2017) and the therapy options they support.

Matching rules (one table-driven test shows each):

* the exact protein change (``V600E`` entry <- ``V600E`` call), for protein-changing calls only;
* a codon entry (``V600``, ``G12/G13``) only for a *missense* call at that codon with a different amino acid
  (``V600K`` yes; ``V600=``, ``V600*``, ``V600fs`` no);
* gene-level ``MUTATION`` only for nonsynonymous calls; truncating entries (``LOSS-OF-FUNCTION``, ``TRUNCATING
  MUTATION``, ...) only for nonsense, frameshift and splice-site calls;
* ``AMPLIFICATION``, ``DELETION``/``LOSS`` and fusion entries only for calls of that alteration type;
* EGFR exon 19 deletions (in-frame deletions in codons 729-761), EGFR exon 20 insertions (in-frame insertions in
  codons 762-823), MET exon 14 skipping (splice-site calls at codons 960-1012);
* never anything for silent/synonymous, non-coding or ``Unknown`` calls, nor for compound entries
  (``EML4-ALK L1196M``, ``EX19 DEL L858R``) or expression entries.

Where the CIViC export comes from: a folder given explicitly (tests, scripts); otherwise the newest release, by
the ``DD-Mon-YYYY`` date in its name, among the ``MEDAI_EVIDENCE_DIR`` folder (if set) and the exports installed
with ``evidence import`` in the user data folder; without any, the dated snapshot shipped in ``data/`` (built by
``scripts/build_civic_snapshot.py``). No default path lies outside the repository.
"""

from __future__ import annotations

import csv
import gzip
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from medai_core.config import get_settings, user_data_dir
from medai_core.errors import PanelInputError
from medai_core.genomics.io import Variant
from medai_core.genomics.panels import NON_CODING_CLASSES, NONSYNONYMOUS_CLASSES
from medai_core.genomics.tumours import disease_matches

__all__ = [
    "CIVIC_COLUMNS",
    "LIKELY_BENIGN_CLASSES",
    "SNAPSHOT_COLUMNS",
    "TIERS",
    "EvidenceBase",
    "EvidenceItem",
    "TherapyOption",
    "call_tier",
    "call_tiers",
    "civic_release_date",
    "evidence_import",
    "find_civic_export",
    "load_evidence",
    "distinct_calls",
    "match_evidence",
    "read_civic_rows",
    "therapy_options",
]

_LEVEL_ORDER = {"FDA": 0, "A": 1, "B": 2, "C": 3, "D": 4, "E": 5}
#: AMP/ASCO/CAP 2017 tiers, best first.
TIERS: tuple[str, ...] = ("I-A", "I-B", "II-C", "II-D", "III", "IV")
_TRUNCATING = frozenset({"Nonsense_Mutation", "Frame_Shift_Del", "Frame_Shift_Ins", "Splice_Site"})
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
# CIViC variant names that cover a class of calls rather than one protein change: name -> the calls they fit.
_GENE_LEVEL: dict[str, str] = {
    "MUTATION": "nonsynonymous",
    "MUTATIONS": "nonsynonymous",
    "LOSS-OF-FUNCTION": "truncating",
    "TRUNCATING MUTATION": "truncating",
    "TRUNCATING": "truncating",
    "FRAMESHIFT TRUNCATION": "truncating",
    "FRAMESHIFT MUTATION": "truncating",
    "NONSENSE MUTATION": "truncating",
    "DELETERIOUS MUTATION": "truncating",
    "AMPLIFICATION": "Amplification",
    "COPY NUMBER GAIN": "Amplification",
    "DELETION": "Deletion",
    "LOSS": "Deletion",
    "COPY NUMBER LOSS": "Deletion",
    "HOMOZYGOUS DELETION": "Deletion",
    "FUSION": "Fusion",
    "FUSIONS": "Fusion",
    "REARRANGEMENT": "Fusion",
}
_CODON_RE = re.compile(r"^([A-Z])(\d+)$")
_CHANGE_RE = re.compile(r"^([A-Z*])(\d+)")
_MISSENSE_RE = re.compile(r"^([A-Z])(\d+)([A-Z])$")
_PAIR_FUSION_RE = re.compile(r"^([A-Z0-9]+)-([A-Z0-9]+)$")
_DATE_RE = re.compile(r"(\d{1,2}-[A-Za-z]{3}-\d{4})")
_SNAPSHOT_RE = re.compile(r"^civic_predictive_(\d{1,2}-[A-Za-z]{3}-\d{4})\.tsv\.gz$")


def _tier_of(level: str, same_tumour_type: bool) -> str | None:
    """AMP/ASCO/CAP tier of one evidence item (None for level E: inferential only, no tier of its own)."""
    if level in {"FDA", "A"}:
        return "I-A" if same_tumour_type else "II-C"
    if level == "B":
        return "I-B" if same_tumour_type else "II-C"
    if level == "C":
        return "II-C"
    if level == "D":
        return "II-D"
    return None


@dataclass(frozen=True)
class EvidenceItem:
    """One knowledge-base statement matched to a call.

    Attributes:
        gene: gene symbol; variant: the knowledge-base variant name (``V600E``, ``MUTATION``).
        matched: the patient's call it was matched to (``BRAF V600E``) and match_kind how (``variant``, ``codon``,
            ``exon``, ``gene-level``).
        level: CIViC evidence level A-E, or ``FDA`` for the shipped label table.
        drugs: therapies: ``A + B`` a combination, ``A; B`` alternatives.
        direction: ``Supports`` or ``Does Not Support``.
        significance: ``Sensitivity/Response``, ``Resistance``, ``Reduced Sensitivity``, ``Adverse Response``.
        disease: the disease the evidence is for; same_tumour_type: whether that is the patient's type.
        source: ``CIViC EID1409 (PubMed 22608338)`` or the FDA label citation.
    """

    gene: str
    variant: str
    matched: str
    match_kind: str
    level: str
    drugs: str
    direction: str
    significance: str
    disease: str
    same_tumour_type: bool
    source: str

    @property
    def is_resistance(self) -> bool:
        """Evidence supporting resistance (or reduced sensitivity) to the drugs."""
        return self.direction == "Supports" and self.significance in {"Resistance", "Reduced Sensitivity"}

    @property
    def is_sensitivity(self) -> bool:
        """Evidence supporting response to the drugs."""
        return self.direction == "Supports" and self.significance == "Sensitivity/Response"

    @property
    def tier(self) -> str | None:
        """AMP/ASCO/CAP tier this item supports (``I-A`` FDA or level A in this tumour type, ``I-B`` level B in
        this type, ``II-C`` A/B in another type or level C, ``II-D`` level D), or None (level E, or evidence that
        does not support the association)."""
        if self.direction != "Supports":
            return None
        return _tier_of(self.level, self.same_tumour_type)


@dataclass(frozen=True)
class _Entry:
    gene: str
    variant: str
    disease: str
    drugs: str
    direction: str
    significance: str
    level: str
    source: str


@dataclass(frozen=True)
class EvidenceBase:
    """Predictive evidence indexed by gene.

    Attributes:
        entries: gene -> entries.
        civic_release: the CIViC release date (``01-Aug-2021``), or None when only the FDA table is loaded.
        civic_origin: ``shipped snapshot``, ``imported`` (user data folder), or ``folder`` (given explicitly).
    """

    entries: dict[str, tuple[_Entry, ...]]
    civic_release: str | None
    civic_origin: str = ""

    @property
    def description(self) -> str:
        """One line naming the sources, for the page and the report."""
        if self.civic_release:
            origin = f", {self.civic_origin}" if self.civic_origin else ""
            civic = f"CIViC predictive evidence, release {self.civic_release} (CC0{origin})"
        else:
            civic = "CIViC not loaded"
        return f"{civic}; FDA label table shipped with MedAI Dashboard"


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


def _read_fda() -> list[_Entry]:
    text = resources.files("medai_core.genomics").joinpath("data/fda_biomarkers.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return [
        _Entry(
            r["gene"],
            r["variant"].upper(),
            r["disease"],
            r["drugs"],
            "Supports",
            r["significance"],
            "FDA",
            f"FDA label: {r['label_citation']}",
        )
        for r in rows
    ]


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


def _entries_from_rows(rows: Iterable[dict[str, str]]) -> list[_Entry]:
    return [
        _Entry(
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


def _read_snapshot(name: str) -> list[_Entry]:
    blob = resources.files("medai_core.genomics").joinpath(f"data/{name}").read_bytes()
    text = gzip.decompress(blob).decode("utf-8")
    rows = csv.DictReader((line for line in text.splitlines() if not line.startswith("#")), delimiter="\t")
    return _entries_from_rows(rows)


@lru_cache(maxsize=4)
def _load(kind: str, location: str | None, stamp: float) -> EvidenceBase:
    entries = _read_fda()
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
    by_gene: dict[str, list[_Entry]] = {}
    for entry in entries:
        by_gene.setdefault(entry.gene, []).append(entry)
    origin = {"snapshot": "snapshot shipped with MedAI Dashboard", "imported": "imported", "folder": "given folder"}
    return EvidenceBase({g: tuple(v) for g, v in by_gene.items()}, release, origin[kind] if release else "")


def load_evidence(folder: Path | None = None) -> EvidenceBase:
    """The FDA table plus one CIViC release.

    Args:
        folder: read the newest export in this folder only (no fallback; an empty folder gives the FDA table
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


# ---------------------------------------------------------------- matching


def _position(change: str) -> int | None:
    match = _CHANGE_RE.match(change)
    return int(match.group(2)) if match else None


def _is_compound(name: str) -> bool:
    return " AND " in f" {name} " or ";" in name


def _match_kind(entry_variant: str, gene: str, call: Variant) -> str | None:
    """How an entry matches a call (``variant``, ``codon``, ``exon``, ``gene-level``), or None (module rules)."""
    cls = call.classification
    change = call.protein_change.upper()
    name = entry_variant
    if cls in {"Amplification", "Deletion", "Fusion"}:
        kind = _GENE_LEVEL.get(name)
        if kind == cls:
            return "gene-level"
        if cls == "Fusion":
            if name in {f"{gene} FUSION", f"{gene} FUSIONS"}:
                return "gene-level"
            pair = _PAIR_FUSION_RE.match(name)
            partners = set(re.split(r"[^A-Z0-9]+", change)) if change else set()
            if pair and gene in pair.groups() and set(pair.groups()) <= partners:
                return "variant"
        return None
    if cls not in NONSYNONYMOUS_CLASSES:
        return None  # silent, non-coding, Unknown: nothing
    if _is_compound(name):
        return None
    if change and name == change:
        return "variant"
    missense = _MISSENSE_RE.match(change) if cls == "Missense_Mutation" else None
    if missense and missense.group(1) != missense.group(3):
        for part in name.split("/"):
            codon = _CODON_RE.match(part.strip())
            if codon and codon.groups() == missense.groups()[:2]:
                return "codon"
    kind = _GENE_LEVEL.get(name)
    if kind == "nonsynonymous":
        return "gene-level"
    if kind == "truncating":
        return "gene-level" if cls in _TRUNCATING else None
    position = _position(change)
    if gene == "EGFR" and position is not None:
        if name == "EXON 19 DELETION" and cls == "In_Frame_Del" and 729 <= position <= 761:
            return "exon"
        if name == "EXON 20 INSERTION" and cls == "In_Frame_Ins" and 762 <= position <= 823:
            return "exon"
    met_exon14 = gene == "MET" and name.startswith("EXON 14 SKIPPING") and cls == "Splice_Site"
    if met_exon14 and position is not None and 960 <= position <= 1012:
        return "exon"
    return None


def _label(call: Variant) -> str:
    if call.classification in {"Amplification", "Deletion", "Fusion"}:
        what = call.classification.lower() + (f" {call.protein_change}" if call.protein_change else "")
        return f"{call.gene} {what}"
    return f"{call.gene} {call.protein_change or call.classification}"


def _call_key(call: Variant) -> tuple[str, str, str]:
    """What evidence matching and tiering read from a call: gene, protein change and class."""
    return call.gene, call.protein_change, call.classification


def distinct_calls(variants: Iterable[Variant]) -> dict[Variant, int]:
    """The distinct calls for evidence matching, in first-seen order, each with how many rows repeat it.

    Args:
        variants: calls, possibly repeated (the same gene, protein change and class on several rows).

    Returns:
        first call of each (gene, protein change, class) -> the number of rows with that key.
    """
    first: dict[tuple[str, str, str], Variant] = {}
    counts: dict[Variant, int] = {}
    for call in variants:
        key = _call_key(call)
        representative = first.setdefault(key, call)
        counts[representative] = counts.get(representative, 0) + 1
    return counts


def call_tiers(calls: Sequence[Variant], evidence: Sequence[EvidenceItem]) -> tuple[tuple[str, str], ...]:
    """:func:`call_tier` of every call, computed once per distinct (gene, protein change, class).

    Returns:
        one (tier, reason) per call, in the order of ``calls``.
    """
    memo: dict[tuple[str, str, str], tuple[str, str]] = {}
    out = []
    for call in calls:
        key = _call_key(call)
        if key not in memo:
            memo[key] = call_tier(call, evidence)
        out.append(memo[key])
    return tuple(out)


def match_evidence(
    base: EvidenceBase, variants: Iterable[Variant], tumour_type: str, *, tmb_high: bool = False
) -> tuple[EvidenceItem, ...]:
    """Every evidence entry that matches one of the calls, sorted: same tumour type first, then level
    (FDA, A..E), then variant-level before gene-level. ``tmb_high`` adds the TMB-high label entries.

    Identical calls (same gene, protein change and class; VAF and sample do not take part in matching) are matched
    once: a file that repeats one call 20,000 times costs one call's matching, not 20,000 (the caller keeps every
    row, e.g. for TMB; see :func:`distinct_calls` for the counts).
    """
    items: list[EvidenceItem] = []
    seen: set[tuple[str, str, str]] = set()
    calls: list[Variant] = list(distinct_calls(variants))
    if tmb_high:
        calls.append(Variant("TMB", "TMB-HIGH", "Targeted_Region", None, ""))
    for call in calls:
        for entry in base.entries.get(call.gene, ()):
            if call.gene == "TMB":
                kind = "variant" if entry.variant == "TMB-HIGH" and call.protein_change == "TMB-HIGH" else None
            else:
                kind = _match_kind(entry.variant, call.gene, call)
            if kind is None:
                continue
            label = "TMB-high" if call.gene == "TMB" else _label(call)
            key = (label, entry.source, entry.disease)
            if key in seen:
                continue
            seen.add(key)
            same = entry.disease == "Solid Tumor" or disease_matches(tumour_type, entry.disease)
            items.append(
                EvidenceItem(
                    call.gene,
                    entry.variant,
                    label,
                    kind,
                    entry.level,
                    entry.drugs,
                    entry.direction,
                    entry.significance,
                    entry.disease,
                    same,
                    entry.source,
                )
            )
    specificity = {"variant": 0, "exon": 1, "codon": 1, "gene-level": 2}
    items.sort(key=lambda e: (not e.same_tumour_type, _LEVEL_ORDER.get(e.level, 9), specificity[e.match_kind], e.gene))
    return tuple(items)


#: Classes that get tier IV (benign or likely benign for therapy) when no evidence matches: synonymous, intronic,
#: intergenic, non-coding RNA, 3' UTR and downstream calls. Promoter/5' calls (e.g. TERT promoter mutations), splice
#: region, interaction-only and Unknown calls stay tier III: their significance is unknown, not benign.
LIKELY_BENIGN_CLASSES: frozenset[str] = frozenset({"Silent", "Intron", "IGR", "RNA", "3'UTR", "3'Flank"})


def call_tier(call: Variant, evidence: Sequence[EvidenceItem]) -> tuple[str, str]:
    """AMP/ASCO/CAP 2017 tier of one call and the reason.

    The best tier of the supporting evidence matched to this call; without any: ``IV`` for
    :data:`LIKELY_BENIGN_CLASSES` (no protein change, away from promoters and splice sites), else ``III``
    (unknown significance, including ``Unknown`` calls). Population frequencies are not available here, so no
    protein-changing call is ever called benign.
    """
    label = _label(call)
    tiers = [(TIERS.index(t), t, e) for e in evidence if e.matched == label and (t := e.tier) is not None]
    if tiers:
        _, tier, best = min(tiers, key=lambda item: item[0])
        return tier, f"{best.level} evidence in {best.disease} ({best.source})"
    if call.classification in LIKELY_BENIGN_CLASSES:
        return "IV", "no protein change and no evidence: likely benign for therapy (synonymous or non-coding)"
    if call.classification in NON_CODING_CLASSES:
        return "III", "no evidence matched; non-coding call near a promoter or splice site: unknown significance"
    return "III", "no therapeutic evidence matched: unknown clinical significance"


@dataclass(frozen=True)
class TherapyOption:
    """One drug (or combination) supported by the matched evidence.

    Attributes:
        drugs: ``Dabrafenib + Trametinib``.
        tier: best AMP/ASCO/CAP tier among its supporting items.
        same_tumour_type: some support is in the patient's tumour type.
        calls: the calls that support it (``BRAF V600E``).
        sources: citations of the supporting items (FDA label, CIViC EID + PubMed).
        resistance: lines describing evidence of resistance to any of its drugs among the patient's calls.
    """

    drugs: str
    tier: str
    same_tumour_type: bool
    calls: tuple[str, ...]
    sources: tuple[str, ...]
    resistance: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON row (``drugs``, ``tier``, ``calls``, ``sources``, ``resistance``, ``same_tumour_type``)."""
        return {
            "drugs": self.drugs,
            "tier": self.tier,
            "calls": list(self.calls),
            "sources": list(self.sources),
            "resistance": list(self.resistance),
            "same_tumour_type": self.same_tumour_type,
        }


def _drug_key(option: str) -> frozenset[str]:
    return frozenset(d.strip().lower() for d in option.split("+") if d.strip())


def therapy_options(evidence: Sequence[EvidenceItem]) -> tuple[TherapyOption, ...]:
    """Drugs supported by the evidence, best first: by tier, then support in this tumour type, then fewer
    resistance findings in this tumour type, then more sources. Alternatives (``A; B``) become separate options;
    a combination (``A + B``) stays one."""
    groups: dict[frozenset[str], dict[str, Any]] = {}
    for item in evidence:
        tier = item.tier
        if not item.is_sensitivity or tier is None:
            continue
        for option in (o.strip() for o in item.drugs.split(";")):
            if not option:
                continue
            key = _drug_key(option)
            group = groups.setdefault(key, {"drugs": option, "tier": tier, "same": False, "calls": [], "sources": []})
            if TIERS.index(tier) < TIERS.index(group["tier"]):
                group["tier"] = tier
            group["same"] = group["same"] or item.same_tumour_type
            if item.matched not in group["calls"]:
                group["calls"].append(item.matched)
            if item.source not in group["sources"]:
                group["sources"].append(item.source)
    resistance = [e for e in evidence if e.is_resistance]
    same_type_resistance: dict[str, bool] = {}
    options = []
    for key, group in groups.items():
        against = []
        for e in resistance:
            drugs = set().union(*(_drug_key(o) for o in e.drugs.split(";"))) if e.drugs else set()
            if drugs & key:
                line = f"{e.matched}: {e.significance.lower()} to {e.drugs}, level {e.level}, {e.disease} ({e.source})"
                if line not in against:
                    against.append(line)
                    same_type_resistance[line] = e.same_tumour_type
        options.append(
            TherapyOption(
                group["drugs"],
                group["tier"],
                group["same"],
                tuple(group["calls"]),
                tuple(group["sources"]),
                tuple(against),
            )
        )
    options.sort(
        key=lambda o: (
            TIERS.index(o.tier),
            not o.same_tumour_type,
            sum(same_type_resistance.get(line, False) for line in o.resistance),
            -len(o.sources),
            o.drugs,
        )
    )
    return tuple(options)


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


def evidence_rows(items: Sequence[EvidenceItem]) -> list[dict[str, object]]:
    """JSON rows in the CLI contract's keys (plus ``matched``, ``match_kind`` and ``tier``)."""
    return [
        {
            "gene": e.gene,
            "variant": e.variant,
            "matched": e.matched,
            "match_kind": e.match_kind,
            "level": e.level,
            "tier": e.tier,
            "drugs": e.drugs,
            "direction": e.direction,
            "significance": e.significance,
            "disease": e.disease,
            "same_tumour_type": e.same_tumour_type,
            "source": e.source,
        }
        for e in items
    ]
