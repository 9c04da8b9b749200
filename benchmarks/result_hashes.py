"""sha256 of the demo cases' results, to show that a change of where or how the work runs changes no result.

Run::

    python benchmarks/result_hashes.py            # one line per case: its hashes

For each demo case (CT: pydicom's CT_small at its demo seed and the 12 mm solid phantom; glucose: the simulated
14-day patient; genes: the synthetic demo panel in Melanoma) it prints

- ``cli``: the sha256 of ``python -m medai_core predict ... --json`` output (stdout bytes), and
- ``page``: the sha256 of the analysis result the page lays out, as returned by the page's entry point in
  :mod:`medai_core.ui.cache` (wherever that runs it), in a canonical form: every field of the frozen result,
  arrays by dtype, shape and bytes, floats by ``repr``.

The figures before and after a change are in ``benchmarks/README.md``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def canonical(value: Any, out: Any) -> None:
    """Feed a canonical encoding of ``value`` (dataclasses, mappings, sequences, arrays, scalars) into ``out``."""
    import numpy as np

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out.update(f"<{type(value).__name__}>".encode())
        for field in dataclasses.fields(value):
            out.update(field.name.encode())
            canonical(getattr(value, field.name), out)
    elif isinstance(value, np.ndarray):
        out.update(f"<array {value.dtype.str} {value.shape}>".encode())
        out.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, dict):
        out.update(b"<dict>")
        for key in value:
            canonical(key, out)
            canonical(value[key], out)
    elif isinstance(value, (list, tuple)):
        out.update(f"<{type(value).__name__} {len(value)}>".encode())
        for item in value:
            canonical(item, out)
    elif isinstance(value, (float, np.floating)):
        out.update(f"<f {float(value)!r}>".encode())
    else:
        out.update(f"<{type(value).__name__} {value!r}>".encode())


def digest(value: Any) -> str:
    """The sha256 of :func:`canonical` of ``value``."""
    out = hashlib.sha256()
    canonical(value, out)
    return out.hexdigest()


def _cli(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "medai_core", "predict", *args, "--json"], cwd=REPO, capture_output=True, check=True
    )
    return hashlib.sha256(result.stdout).hexdigest()


def main() -> None:
    """Print ``case  cli=<sha256>  page=<sha256>`` for each demo case."""
    from medai_core.ct.demo import demo_bytes, demo_seed
    from medai_core.ct.prepare import DEFAULT_THRESHOLD_HU
    from medai_core.genomics.demo import DEMO_FILENAME, demo_maf
    from medai_core.glucose.simulate import simulated_csv, simulated_patient
    from medai_core.models import read_card
    from medai_core.models.registry import model_dir
    from medai_core.ui import cache

    version = {m: read_card(model_dir(m)).version for m in ("ct_nodule", "glucose_forecast", "gene_ici_survival")}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in ("ct_small", "phantom:solid:12"):
            data, name = demo_bytes(case)
            seed = demo_seed(case)
            path = Path(tmp) / ("ct_small.dcm" if case == "ct_small" else "phantom.zip")
            path.write_bytes(data)
            cli = _cli("ct", str(path), "--center", f"{seed.col},{seed.row},{seed.slice_index}")
            page = cache.analyse_ct(
                "ct_nodule",
                version["ct_nodule"],
                data,
                name,
                (seed.row, seed.col, seed.slice_index),
                float(DEFAULT_THRESHOLD_HU),
                None,
            )
            rows.append((f"ct {case}", cli, digest(page)))
        record = simulated_patient(days=14, seed=7)
        path = Path(tmp) / "cgm.csv"
        path.write_bytes(simulated_csv(record))
        result, _ = cache.analyse_glucose_demo("glucose_forecast", version["glucose_forecast"], 14, 7)
        rows.append(("glucose demo", _cli("glucose", str(path)), digest(result)))
        path = Path(tmp) / DEMO_FILENAME
        path.write_bytes(demo_maf())
        gene = cache.analyse_gene_panel(
            "gene_ici_survival",
            version["gene_ici_survival"],
            demo_maf(),
            DEMO_FILENAME,
            "Melanoma",
            "IMPACT468",
            None,
            "PD-1/PD-L1",
            None,
            None,
        )
        rows.append(("genes demo", _cli("genes", str(path), "--tumour-type", "Melanoma"), digest(gene)))
    for case, cli, page in rows:
        print(f"{case:<22} cli={cli[:16]}  page={page[:16]}")


if __name__ == "__main__":
    main()
