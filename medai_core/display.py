"""Words and numbers for a clinical reader: display names of model inputs, units, decimals and status levels.

One table per vocabulary (CT stacker inputs, glucose metrics, card section keys), one formatter per quantity, so every
page, chart and report writes the same thing the same way. No Streamlit here: :mod:`medai_core.ui.components` draws
what these functions word.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "CT_FEATURE_LABELS",
    "Status",
    "StatusLevel",
    "display_name",
    "format_mm",
    "format_metric",
    "format_mm3",
    "format_percent",
    "format_probability_interval",
    "humanise",
    "interval_width_words",
    "slice_label",
]

# --- CT stacker inputs ----------------------------------------------------------------------------------------------
# The project's 12 nodule features (medai_core/ct/features.py FEATURE_NAMES) and the CNN's logit: what each one
# measures, in the words of a radiologist. Sizes are in pixels of the model's 0.64 mm training crop; "density" is the
# crop's lung-window intensity.
CT_FEATURE_LABELS: dict[str, str] = {
    "cnn_logit": "Image network (CNN) score",
    "log_area_px": "Size: cross-section area",
    "log_long_axis_px": "Size: long axis",
    "log_short_axis_px": "Size: short axis",
    "elongation": "Shape: elongation",
    "compactness": "Shape: compactness (roundness)",
    "solidity": "Margin: solidity (smooth vs lobulated)",
    "mean_intensity": "Density: mean",
    "std_intensity": "Density: heterogeneity",
    "p10_intensity": "Density: darkest 10 %",
    "p90_intensity": "Density: brightest 10 %",
    "calcified_fraction": "Calcification: share of the nodule",
    "low_density_fraction": "Ground-glass: share of the nodule",
}

# Radiomics families (IBSI names such as ``glcm_contrast``): the family in words, the rest humanised.
_FAMILY_LABELS: dict[str, str] = {
    "shape": "Shape",
    "fo": "Density",
    "glcm": "Texture (co-occurrence)",
    "glrlm": "Texture (run length)",
}

# Keys of model cards and results that reach a page as labels.
_KEY_LABELS: dict[str, str] = {
    "auc": "AUC",
    "auroc": "AUC",
    "brier": "Brier score",
    "ece": "calibration error (ECE)",
    "rmse": "RMSE",
    "mae": "MAE",
    "mard": "MARD",
    "c_index": "C-index",
    "cindex": "C-index",
    "n": "patients or cases",
    "ci95": "95 % CI",
    "tir_70_180": "time in range 70-180 mg/dL",
    "tbr_lt_54": "time below 54 mg/dL",
    "tbr_54_69": "time 54-69 mg/dL",
    "tar_181_250": "time 181-250 mg/dL",
    "tar_gt_250": "time above 250 mg/dL",
    "gmi_percent": "GMI",
    "cv_percent": "CV",
    "mean_mg_dl": "mean glucose (mg/dL)",
    "sd_mg_dl": "SD (mg/dL)",
    "os_12m": "12-month survival",
    "os_24m": "24-month survival",
    "mg_dl": "mg/dL",
    "mmol_l": "mmol/L",
    "px": "pixels",
    "mm": "mm",
    "mm3": "mm³",
    "pct": "%",
    "percent": "%",
}

_WORD_SPLIT = re.compile(r"[_\s]+")


def humanise(key: str) -> str:
    """A programmer's name in words: ``rmse_30_min`` -> ``RMSE 30 min``, ``held_out`` -> ``held out``.

    Known abbreviations and units (:data:`_KEY_LABELS`) are written out; the rest loses its underscores. Never
    returns snake_case: the fallback for any name not in a display table.
    """
    text = str(key).strip()
    if text in _KEY_LABELS:
        return _KEY_LABELS[text]
    words = [w for w in _WORD_SPLIT.split(text.replace(":", " ")) if w]
    out = [_KEY_LABELS.get(w.lower(), w) for w in words]
    return " ".join(out)


def display_name(name: str) -> str:
    """The display name of a model input or result key (``log:shape_volume_mm3`` -> ``Shape: volume mm³ (log)``).

    CT stacker inputs come from :data:`CT_FEATURE_LABELS`; radiomics names from their family and humanised rest;
    anything else from :func:`humanise`. A ``log:`` prefix (the stacker's log transform) is kept as "(log)" only
    where the name is not in the table (the table names the quantity, not its transform).
    """
    logged = name.startswith("log:")
    base = name[4:] if logged else name
    if base in CT_FEATURE_LABELS:
        return CT_FEATURE_LABELS[base]
    family, _, rest = base.partition("_")
    known_family = family in _FAMILY_LABELS and bool(rest)
    label = f"{_FAMILY_LABELS[family]}: {humanise(rest)}" if known_family else humanise(base)
    return label + (" (log)" if logged else "")


# --- numbers ---------------------------------------------------------------------------------------------------------
NOT_AVAILABLE = "not available"


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(float(value))


def format_percent(value: float | None, digits: int = 0) -> str:
    """A fraction in [0, 1] as a percentage with ``digits`` decimals (``0.083`` -> ``8 %``); None -> not available."""
    if not _finite(value):
        return NOT_AVAILABLE
    return f"{100.0 * float(value):.{digits}f} %"  # type: ignore[arg-type]


def format_mm(value: float | None) -> str:
    """A length in mm, one decimal (``12.04`` -> ``12.0 mm``); None -> not available."""
    return f"{float(value):.1f} mm" if _finite(value) else NOT_AVAILABLE  # type: ignore[arg-type]


def format_mm3(value: float | None) -> str:
    """A volume in mm³, no decimals, thousands separated (``1234.5`` -> ``1,234 mm³``); None -> not available."""
    return f"{float(value):,.0f} mm³" if _finite(value) else NOT_AVAILABLE  # type: ignore[arg-type]


def format_metric(value: float | None) -> str:
    """A model metric with the decimals its scale needs: 2 below 10 (AUC 0.85, C-index 0.66), else 1 (RMSE 23.9)."""
    if not _finite(value):
        return NOT_AVAILABLE
    number = float(value)  # type: ignore[arg-type]
    return f"{number:.2f}" if abs(number) < 10 else f"{number:,.1f}"


def interval_width_words(low: float, high: float) -> str:
    """How wide a probability interval is, in words: narrow (< 10 points), moderate (< 25) or wide."""
    width = float(high) - float(low)
    if width < 0.10:
        return "narrow"
    if width < 0.25:
        return "moderate"
    return "wide"


def format_probability_interval(probability: float, low: float, high: float, band: str | None = None) -> str:
    """``8 % (2-22 %), low``: the probability, its interval and (optionally) its risk band, whole percent."""
    text = f"{100 * probability:.0f} % ({100 * low:.0f}-{100 * high:.0f} %)"
    return f"{text}, {band}" if band else text


def slice_label(index: int, count: int) -> str:
    """A 0-based slice index as a reader counts it: ``slice_label(6, 15)`` -> ``slice 7 of 15``."""
    if not 0 <= index < count:
        raise ValueError(f"slice index {index} outside 0..{count - 1}")
    return f"slice {index + 1} of {count}"


# --- status ----------------------------------------------------------------------------------------------------------
class StatusLevel(Enum):
    """How a check came out; each level has one word and one colour everywhere (words and colour agree)."""

    OK = "ok"
    CAUTION = "caution"
    PROBLEM = "problem"
    INFO = "info"


# Word shown beside every status, and a foreground/background pair with >= 4.5:1 contrast (WCAG 2.1 AA).
STATUS_WORDS: dict[StatusLevel, str] = {
    StatusLevel.OK: "Met",
    StatusLevel.CAUTION: "Caution",
    StatusLevel.PROBLEM: "Not met",
    StatusLevel.INFO: "Note",
}
STATUS_COLOURS: dict[StatusLevel, tuple[str, str]] = {
    StatusLevel.OK: ("#0b5d1e", "#e3f4e8"),
    StatusLevel.CAUTION: ("#7a4100", "#fff1dc"),
    StatusLevel.PROBLEM: ("#8e1b12", "#fde7e5"),
    StatusLevel.INFO: ("#123f6b", "#e6eff8"),
}


@dataclass(frozen=True)
class Status:
    """A status in words: its level, the word for it (default :data:`STATUS_WORDS`) and an explanation."""

    level: StatusLevel
    text: str
    word: str = ""

    @property
    def label(self) -> str:
        """The word shown on the badge."""
        return self.word or STATUS_WORDS[self.level]

    @classmethod
    def from_check(cls, passed: bool | None, text: str = "") -> Status:
        """A pass/fail check: True -> Met, False -> Not met, None -> Note ("no target")."""
        if passed is None:
            return cls(StatusLevel.INFO, text, "No target")
        return cls(StatusLevel.OK if passed else StatusLevel.PROBLEM, text)
