"""Print the sha256 of the CLI JSON of ``predict ct|glucose|genes --json`` on the demo cases and test fixtures.

Run before and after a refactor that must not change behaviour and compare the two outputs (``diff``): every line is
``<sha256>  <exit code>  <command>``. The demo inputs (pydicom's CT slice, a CT phantom series, the synthetic MAF)
are written to a temporary folder first, so every case goes through the same ``python -m medai_core`` path as a
user's file.

Usage: ``python scripts/cli_json_digests.py [--quick]`` (``--quick``: one case per domain).
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = Path("tests") / "data"
"""The fixtures, relative to the checkout (the commands run there): JSON documents name their input path."""
DEMO_DIR = Path(tempfile.gettempdir()) / "medai_cli_json_digests"
"""Fixed folder for the demo inputs: the JSON names its input path, so it must be the same in both runs."""
sys.path.insert(0, str(REPO))


def _demo_files(folder: Path) -> dict[str, Path]:
    from medai_core.ct.demo import demo_bytes
    from medai_core.genomics.demo import DEMO_FILENAME, demo_maf

    files = {}
    for case, name in (("ct_small", "ct_small.dcm"), ("phantom:solid:12", "phantom_solid_12.zip")):
        data, _ = demo_bytes(case)
        files[case] = folder / name
        files[case].write_bytes(data)
    files["genes_demo"] = folder / DEMO_FILENAME
    files["genes_demo"].write_bytes(demo_maf())
    return files


def _cases(demo: dict[str, Path], quick: bool) -> list[list[str]]:
    from medai_core.ct.demo import demo_seed

    small, phantom = demo_seed("ct_small"), demo_seed("phantom:solid:12")
    ct_png = sorted((REPO / DATA / "ct" / "lidc" / "images").rglob("*.png"))[0].relative_to(REPO)
    cases = [
        ["ct", str(demo["ct_small"]), "--center", f"{small.col},{small.row}"],
        ["ct", str(demo["phantom:solid:12"]), "--center", f"{phantom.col},{phantom.row},{phantom.slice_index}"],
        ["ct", str(ct_png)],
        ["glucose", str(DATA / "glucose" / "dexcom_clarity_g6_mmol.csv")],
        ["genes", str(demo["genes_demo"]), "--tumour-type", "Melanoma"],
    ]
    if quick:
        return cases[::2]
    cases += [["glucose", str(p.relative_to(REPO))] for p in sorted((REPO / DATA / "glucose").glob("*.csv"))[1:]]
    cases += [
        ["genes", str(DATA / "genes" / "braf_v600e_melanoma.maf"), "--tumour-type", "Melanoma"],
        ["genes", str(DATA / "genes" / "vep_canonical.vcf"), "--tumour-type", "NSCLC"],
        ["genes", str(DATA / "genes" / "multisample.maf"), "--tumour-type", "Melanoma"],
    ]
    return cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    DEMO_DIR.mkdir(exist_ok=True)
    demo = _demo_files(DEMO_DIR)
    for case in _cases(demo, args.quick):
        command = [sys.executable, "-m", "medai_core", "predict", *case, "--json"]
        done = subprocess.run(command, cwd=REPO, capture_output=True, check=False)
        shown = " ".join(Path(c).name if "/" in c else c for c in command[3:])
        body = done.stdout if done.returncode == 0 else done.stderr
        print(f"{hashlib.sha256(body).hexdigest()}  {done.returncode}  {shown}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
