"""JSON conversion shared by the CLI, pages, reports and the audit log: one hook for numpy and dates, and the one
function that prints a JSON document."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from typing import Any

import numpy as np

__all__ = ["emit_json", "json_default", "to_json_text"]


def json_default(value: Any) -> Any:
    """``default=`` hook for ``json.dumps``: numpy scalars and arrays, dates; anything else is refused.

    Non-finite floats inside numpy values become None, so documents stay valid JSON.

    Raises:
        TypeError: the value has no JSON form (the message names its type).
    """
    if isinstance(value, np.generic):
        item = value.item()
        return None if isinstance(item, float) and not np.isfinite(item) else item
    if isinstance(value, np.ndarray):
        return [json_default(v) if isinstance(v, np.generic) else v for v in value.tolist()]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def to_json_text(document: Any, indent: int | None = 2) -> str:
    """``document`` as JSON text (numpy values and dates converted by :func:`json_default`)."""
    return json.dumps(document, indent=indent, sort_keys=False, default=json_default)


def emit_json(document: Any) -> None:
    """Print exactly one JSON document on stdout (the CLI's ``--json``)."""
    sys.stdout.write(to_json_text(document) + "\n")
