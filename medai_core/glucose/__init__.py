"""CGM domain: read exports (Dexcom Clarity, LibreView, generic CSV; mg/dL and mmol/L), the AGP report,
the 60-minute quantile forecast with calibrated hypoglycaemia risk, attributions, backtest and training.

Names are imported lazily on first use (PEP 562), so that ``medai_core.cli.glucose`` stays import-light for
``python -m medai_core``; TensorFlow is imported only where a model runs.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "AGPReport",
    "Backtest",
    "CGMRecord",
    "Forecast",
    "GlucoseAnalysis",
    "Grid",
    "MG_DL_PER_MMOL_L",
    "SIMULATED_LABEL",
    "TargetCheck",
    "agp_report",
    "analyse",
    "from_mg_dl",
    "glucose_metrics",
    "make_grid",
    "read_cgm",
    "read_research_table",
    "simulated_patient",
    "to_mg_dl",
]

_HOME = {
    "AGPReport": "agp",
    "TargetCheck": "agp",
    "agp_report": "agp",
    "glucose_metrics": "agp",
    "Backtest": "analysis",
    "Forecast": "analysis",
    "GlucoseAnalysis": "analysis",
    "analyse": "analysis",
    "CGMRecord": "readers",
    "read_cgm": "readers",
    "read_research_table": "readers",
    "MG_DL_PER_MMOL_L": "medai_core.units",
    "Grid": "prepare",
    "from_mg_dl": "medai_core.units",
    "make_grid": "prepare",
    "to_mg_dl": "medai_core.units",
    "SIMULATED_LABEL": "simulate",
    "simulated_patient": "simulate",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'medai_core.glucose' has no attribute {name!r}")
    path = module if "." in module else f"medai_core.glucose.{module}"
    value = getattr(importlib.import_module(path), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
