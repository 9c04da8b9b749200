"""Names of the research data sets a glucose table belongs to (they qualify patient ids in provenance manifests)."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["dataset_name"]


def dataset_name(path: Path) -> str:
    """The data set an ``id, time, gl`` file belongs to, from its name: ``weinstock2016.csv.gz`` -> ``weinstock2016``.

    Patient ids are qualified with it, so patient "1" of one data set is never patient "1" of another.
    """
    stem = re.sub(r"(\.(csv|tsv|txt))?(\.(gz|bz2|xz|zip))?$", "", path.name, flags=re.IGNORECASE)
    return stem.strip().lower() or "unnamed"
