"""Tumour types the gene-panel page accepts: the cancer types of the Samstein 2019 cohort, with synonyms and the
knowledge-base disease names that count as "the same tumour type" when evidence is matched."""

from __future__ import annotations

from medai_core.errors import PanelInputError

__all__ = ["TUMOUR_TYPES", "disease_matches", "resolve_tumour_type"]

#: Cohort cancer type -> (accepted synonyms, lower-case words that identify the same disease in CIViC/FDA names).
TUMOUR_TYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Non-Small Cell Lung Cancer": (
        ("nsclc", "lung", "lung cancer", "lung adenocarcinoma", "lung squamous cell carcinoma"),
        ("lung", "nsclc"),
    ),
    "Melanoma": (("cutaneous melanoma", "skin melanoma"), ("melanoma",)),
    "Bladder Cancer": (
        ("bladder", "urothelial carcinoma", "urothelial cancer"),
        ("bladder", "urothelial", "transitional cell"),
    ),
    "Renal Cell Carcinoma": (("rcc", "kidney cancer", "clear cell renal cell carcinoma"), ("renal", "kidney")),
    "Glioma": (("glioblastoma", "gbm", "astrocytoma", "oligodendroglioma"), ("glioma", "glioblastoma", "astrocytoma")),
    "Head and Neck Cancer": (
        ("head and neck", "hnscc", "head and neck squamous cell carcinoma"),
        ("head and neck", "oral", "oropharyn", "laryn"),
    ),
    "Colorectal Cancer": (("colorectal", "crc", "colon cancer", "rectal cancer"), ("colorectal", "colon", "rect")),
    "Esophagogastric Cancer": (
        ("gastric cancer", "stomach cancer", "esophageal cancer", "oesophageal cancer", "gej"),
        ("stomach", "gastric", "esophag", "oesophag", "gastroesophageal"),
    ),
    "Breast Cancer": (("breast",), ("breast",)),
    "Cancer of Unknown Primary": (("cup", "unknown primary"), ("unknown primary",)),
}

_LOOKUP: dict[str, str] = {}
for _name, (_synonyms, _) in TUMOUR_TYPES.items():
    _LOOKUP[_name.lower()] = _name
    for _syn in _synonyms:
        _LOOKUP[_syn] = _name


def resolve_tumour_type(text: str) -> str:
    """The cohort cancer type for a name or synonym (case-insensitive), e.g. ``"NSCLC"`` -> ``"Non-Small Cell
    Lung Cancer"``.

    Raises:
        PanelInputError: the tumour type is not one the outcome model was trained on.
    """
    key = " ".join(text.strip().lower().replace("_", " ").split())
    if key in _LOOKUP:
        return _LOOKUP[key]
    raise PanelInputError(
        f"Unknown tumour type {text!r}. The immunotherapy cohort covers: {', '.join(TUMOUR_TYPES)}. "
        "Choose the closest of these (synonyms such as NSCLC, RCC or GBM are accepted)."
    )


def disease_matches(tumour_type: str, disease: str) -> bool:
    """True when a knowledge-base disease name (e.g. CIViC ``Lung Adenocarcinoma``) is the given cohort type."""
    text = disease.lower()
    words = TUMOUR_TYPES[tumour_type][1]
    if tumour_type == "Non-Small Cell Lung Cancer" and "small cell lung" in text and "non" not in text:
        return False
    if tumour_type == "Melanoma" and "uveal" in text:
        return False
    return any(w in text for w in words)
