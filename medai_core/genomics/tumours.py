"""Tumour types from OncoTree (the cancer-type ontology of cBioPortal, OncoKB and AACR GENIE): names, codes and the
tree, so that evidence for a parent (``NSCLC``) applies to a child (``LUAD``) and never to a sibling (``SCLC``;
gallbladder is not bladder).

The tree ships as ``data/oncotree.tsv`` (built by ``scripts/build_oncotree.py``; CC BY 4.0). Free text resolves in
this order, case-insensitively: an OncoTree code (``GIST``), a node name (``Lung Adenocarcinoma``), a short list of
clinical synonyms and the immunotherapy cohort's cancer-type names (:data:`SYNONYMS`, each naming its node), then the
node names whose words start with every word given (``lung adeno`` -> Lung Adenocarcinoma, the only one with no
other word). Anything else, or a tie, is a :class:`~medai_core.errors.PanelInputError` that lists the closest nodes.
A resolution that was not an exact code or name carries a ``note`` saying which node was read.

Haematological nodes are refused: the knowledge base and the panel analysis cover solid tumours.
"""

from __future__ import annotations

import csv
import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from medai_core.errors import PanelInputError

__all__ = [
    "COHORT_TYPES",
    "SOLID",
    "SYNONYMS",
    "TUMOUR_TYPES",
    "OncoTree",
    "TumourType",
    "oncotree",
    "resolve_tumour",
    "resolve_tumour_type",
    "tumour_choices",
]

#: The cancer types (OncoTree main types) of the Samstein 2019 immunotherapy cohort: the survival model and the
#: TMB percentiles exist for these only.
COHORT_TYPES: tuple[str, ...] = (
    "Non-Small Cell Lung Cancer",
    "Melanoma",
    "Bladder Cancer",
    "Renal Cell Carcinoma",
    "Glioma",
    "Head and Neck Cancer",
    "Colorectal Cancer",
    "Esophagogastric Cancer",
    "Breast Cancer",
    "Cancer of Unknown Primary",
)
#: Kept for callers of the first rounds: the cohort's cancer types.
TUMOUR_TYPES = COHORT_TYPES
#: The pseudo-code of tumour-agnostic knowledge-base rows: every solid tumour.
SOLID = "SOLID"
#: Clinical synonyms and the cohort's type names -> the OncoTree code they are read as (lower-case keys).
SYNONYMS: dict[str, str] = {
    "non-small cell lung cancer": "NSCLC",
    "lung adeno": "LUAD",
    "lung squamous": "LUSC",
    "bladder cancer": "BLCA",
    "urothelial carcinoma": "BLCA",
    "urothelial cancer": "BLCA",
    "rcc": "RCC",
    "kidney cancer": "RCC",
    "glioma": "DIFG",
    "gbm": "GB",
    "glioblastoma": "GB",
    "head and neck cancer": "HNSC",
    "hnscc": "HNSC",
    "colorectal cancer": "COADREAD",
    "colorectal": "COADREAD",
    "crc": "COADREAD",
    "colon cancer": "COAD",
    "rectal cancer": "READ",
    "esophagogastric cancer": "EGC",
    "gastric cancer": "STAD",
    "stomach cancer": "STAD",
    "breast cancer": "BRCA",
    "cancer of unknown primary": "CUP",
    "unknown primary": "CUP",
    "ovarian cancer": "OVT",
    "prostate cancer": "PRAD",
    "pancreatic cancer": "PAAD",
    "endometrial cancer": "UCEC",
    "thyroid cancer": "THYROID",
    "cutaneous melanoma": "SKCM",
    "skin melanoma": "SKCM",
    "gastrointestinal stromal tumour": "GIST",
    "cholangiocarcinoma": "CHOL",
    "mesothelioma": "PLMESO",
}
_HAEM_TISSUE = "Hematopoietic"
_ROOT_TISSUE = "Tissue"
_WORD = re.compile(r"[a-z0-9]+")
_LABEL = re.compile(r"^(.+) \(([A-Z0-9_/-]+)\)$")


@dataclass(frozen=True)
class TumourType:
    """One OncoTree node, as resolved from what the user typed.

    Attributes:
        code: OncoTree code (``LUAD``); name: node name (``Lung Adenocarcinoma``).
        main_type: OncoTree main type (``Non-Small Cell Lung Cancer``); tissue: ``Lung``; parent: parent code.
        note: how free text was read (``'lung adeno' read as OncoTree LUAD ...``), empty for an exact code or name.
    """

    code: str
    name: str
    main_type: str
    tissue: str
    parent: str
    note: str = ""

    @property
    def label(self) -> str:
        """``Lung Adenocarcinoma (LUAD)``."""
        return f"{self.name} ({self.code})"

    @property
    def cohort_type(self) -> str | None:
        """The immunotherapy cohort's cancer type this node belongs to (its OncoTree main type), or None when the
        cohort has no patient of that type (the survival model does not cover it)."""
        return self.main_type if self.main_type in COHORT_TYPES else None


class OncoTree:
    """The shipped OncoTree: nodes by code, and ancestry.

    Attributes:
        nodes: code -> (name, main type, tissue, parent code).
        source: the source line of the shipped table (release, licence).
    """

    def __init__(self, nodes: dict[str, tuple[str, str, str, str]], source: str) -> None:
        self.nodes = nodes
        self.source = source
        self._by_name = {name.lower(): code for code, (name, *_) in nodes.items()}
        self._words = {code: _WORD.findall(name.lower()) for code, (name, *_) in nodes.items()}

    def ancestors(self, code: str) -> tuple[str, ...]:
        """``code`` and every ancestor up to the root, nearest first (empty for an unknown code)."""
        out: list[str] = []
        while code in self.nodes and code not in out:
            out.append(code)
            code = self.nodes[code][3]
        return tuple(out)

    def is_solid(self, code: str) -> bool:
        """True for a node outside the haematopoietic branch and below the root tissue level."""
        if code not in self.nodes:
            return False
        return self.nodes[code][2] not in {_HAEM_TISSUE, ""} and "HEMATOPOIETIC" not in self.ancestors(code)

    def within(self, code: str, targets: Iterable[str]) -> bool:
        """True when node ``code`` is one of ``targets`` or a descendant of one (``SOLID`` covers every solid
        node). A parent of a target is not within it: evidence for NSCLC does not apply to a tumour recorded only
        as "Lung"."""
        wanted = set(targets)
        if SOLID in wanted and self.is_solid(code):
            return True
        return any(a in wanted for a in self.ancestors(code))

    def node(self, code: str, note: str = "") -> TumourType:
        """The :class:`TumourType` of a code."""
        name, main_type, tissue, parent = self.nodes[code]
        return TumourType(code, name, main_type, tissue, parent, note)

    def code_for_name(self, name: str) -> str | None:
        """The code of a node name (case-insensitive), or None."""
        return self._by_name.get(" ".join(name.lower().split()))

    def prefix_matches(self, words: list[str]) -> list[str]:
        """Codes whose name words start with every given word (each word used once), fewest extra words first."""
        found = []
        for code, name_words in self._words.items():
            left = list(name_words)
            for w in words:
                hit = next((x for x in left if x.startswith(w)), None)
                if hit is None:
                    break
                left.remove(hit)
            else:
                found.append((len(left), code))
        found.sort()
        return [code for _, code in found]

    def closest(self, text: str, n: int = 6) -> list[str]:
        """The ``n`` solid nodes whose name or code is closest to ``text`` (difflib), as ``Name (CODE)`` labels."""
        labels = {f"{name} ({code})": code for code, (name, *_) in self.nodes.items() if self.is_solid(code)}
        keys = {label.lower(): label for label in labels}
        hits = difflib.get_close_matches(text.lower(), list(keys), n=n, cutoff=0.3)
        return [keys[h] for h in hits]


@lru_cache(maxsize=1)
def oncotree() -> OncoTree:
    """The shipped OncoTree (read once)."""
    text = resources.files("medai_core.genomics").joinpath("data/oncotree.tsv").read_text(encoding="utf-8")
    lines = text.splitlines()
    source = lines[0].lstrip("# ").strip() if lines and lines[0].startswith("#") else ""
    rows = csv.DictReader((line for line in lines if not line.startswith("#")), delimiter="\t")
    nodes = {r["code"]: (r["name"], r["main_type"], r["tissue"], r["parent"]) for r in rows}
    return OncoTree(nodes, source)


def resolve_tumour(text: str) -> TumourType:
    """The OncoTree node for a code, a name, a synonym or the start of a name's words.

    Raises:
        PanelInputError: nothing or several nodes match (the message lists the closest), or the node is
            haematological or the root.
    """
    tree = oncotree()
    raw = " ".join(str(text).strip().split())
    labelled = _LABEL.match(raw)
    if labelled and labelled.group(2) in tree.nodes:
        raw = labelled.group(2)  # a picker label, "Lung Adenocarcinoma (LUAD)"
    key = raw.lower().replace("_", " ")
    if not key:
        raise PanelInputError("No tumour type given. Give an OncoTree code or name, e.g. 'LUAD' or 'Melanoma'.")
    code = raw.upper() if raw.upper() in tree.nodes else tree.code_for_name(key)
    note = ""
    if code is None and key.replace("tumor", "tumour") in SYNONYMS:
        code = SYNONYMS[key.replace("tumor", "tumour")]
    if code is None:
        words = _WORD.findall(key)
        matches = [c for c in tree.prefix_matches(words) if tree.is_solid(c)] if words else []
        if matches:
            extra = [len(tree._words[c]) - len(words) for c in matches]
            if extra.count(extra[0]) == 1:
                code = matches[0]
            else:
                tied = [f"{tree.nodes[c][0]} ({c})" for c, e in zip(matches, extra, strict=True) if e == extra[0]]
                raise PanelInputError(
                    f"Tumour type {raw!r} fits several OncoTree nodes equally: {', '.join(tied[:8])}. "
                    "Give the code or the full name."
                )
    if code is None:
        near = tree.closest(key)
        raise PanelInputError(
            f"Unknown tumour type {raw!r}. Closest OncoTree nodes: {', '.join(near) or 'none'}. "
            "Give an OncoTree code or name (oncotree.mskcc.org), e.g. 'NSCLC', 'LUAD', 'GIST', 'Melanoma'."
        )
    node = tree.node(code)
    if not tree.is_solid(code):
        raise PanelInputError(
            f"{node.label} is a haematological or tissue-level node. The panel analysis and its knowledge base "
            "cover solid tumours: give the solid tumour type (e.g. 'LUAD', 'COADREAD')."
        )
    if code.lower() != key and node.name.lower() != key:
        note = f"'{raw}' read as OncoTree {node.label}."
    if node.parent == "TISSUE":
        note = (
            f"{note} {node.label} is an organ-level node: approvals for one of its tumour types (e.g. a lung "
            "cancer subtype) count as another tumour type (tier II-C). Give the tumour type for tier I."
        ).strip()
    return tree.node(code, note)


def resolve_tumour_type(text: str) -> str:
    """The OncoTree node name for free text (see :func:`resolve_tumour`), e.g. ``"NSCLC"`` ->
    ``"Non-Small Cell Lung Cancer"``.

    Raises:
        PanelInputError: unknown or ambiguous text (the message lists the closest nodes).
    """
    return resolve_tumour(text).name


def tumour_choices() -> list[str]:
    """``Name (CODE)`` labels of every solid OncoTree node, the cohort's types first then by name (for a picker)."""
    tree = oncotree()
    solid = [c for c in tree.nodes if tree.is_solid(c)]
    first = [SYNONYMS.get(t.lower(), tree.code_for_name(t) or "") for t in COHORT_TYPES]
    first = [c for c in first if c in tree.nodes]
    rest = sorted((c for c in solid if c not in first), key=lambda c: tree.nodes[c][0])
    return [f"{tree.nodes[c][0]} ({c})" for c in first + rest]
