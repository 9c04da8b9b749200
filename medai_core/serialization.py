"""JSON conversion shared by the CLI, reports and the audit log."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np

__all__ = ["json_default"]


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
