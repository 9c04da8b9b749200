"""How the project's IBSI radiomics (medai_core.ct.radiomics) agree with the crop release's radiomics.csv.

Usage: ``python benchmarks/ct_radiomics_agreement.py [--data ../shared/data/ct/lidc_nodules] [--json OUT]``

For every pair of features meant to measure the same thing, prints Spearman and Pearson correlations over all
nodules and, where the units can be made commensurable (intensities: the CSV is on the 0..255 crop scale, converted
to HU through the lung window; unitless statistics as they are), the median relative difference. The CSV comes with
the crops and its definitions are undocumented; the note column gives the definition difference found.

What the six fixture nodules show: the CSV was computed from other pixels than the released crops (the CSV mean of
the same nodule is 103-148 on its 0..255 scale where the crop's masked voxels average 128-208, and the CSV's
``sumvalues`` is not the crop's sum), with ``area`` close to the voxel count of the largest slice; so intensities
agree in rank only and no unit conversion makes them equal. Relative differences are given only where both sides
are in the same unit (mm, or unitless moments).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from medai_core.ct.data import load_nodules
from medai_core.ct.radiomics import RADIOMICS_NAMES, radiomics_matrix

# (csv column(s), project feature, conversion of the CSV value to the project's unit or None, note)
PAIRS: list[tuple[str, str, str | None, str]] = [
    ("mean_N", "fo_mean", None, "CSV intensity scale is not the crops' lung window (see docstring)"),
    ("median_N", "fo_median", None, ""),
    ("minimum_N", "fo_minimum", None, ""),
    ("maximum_N", "fo_maximum", None, "crops clip at +150 HU (255)"),
    ("standardDeviation_N", "fo_sd", None, ""),
    ("meanAbsoluteDeviation_N", "fo_mad", None, ""),
    ("skewness_N", "fo_skewness", "same", ""),
    ("kurtosis_N", "fo_kurtosis", "same", "both excess kurtosis"),
    ("rootMeanSquare_N", "fo_rms", None, "RMS depends on the zero point: 0..255 vs HU"),
    ("energy_N", "fo_energy", None, "energy depends on the zero point: 0..255 vs HU"),
    ("entropy_N", "fo_entropy", None, "CSV: bin width 1 on 0..255 (5.9 HU); IBSI here: 25 HU bins"),
    ("uniformity_N", "fo_uniformity", None, "bin width as for entropy"),
    ("volume", "shape_volume_mm3", None, "CSV in voxels (slice spacing unknown); here mm^3 at assumed spacing"),
    ("surfaceArea", "shape_surface_area_mm2", None, "CSV unit unknown; here marching-cubes mesh, mm^2"),
    ("surfaceVolumeRatio", "shape_surface_volume_ratio", None, ""),
    ("sphericity", "shape_sphericity", None, "CSV sphericity 0.001-0.09: not IBSI's (1 for a sphere)"),
    ("compactness2", "shape_compactness2", None, ""),
    ("sphericalDisproportion", "shape_spherical_disproportion", None, ""),
    ("diameter", "shape_max_2d_diameter_mm", None, "CSV in pixels"),
    ("diameter_mm", "shape_max_2d_diameter_mm", "same", "largest axial diameter, mm"),
    ("diameter_mm", "shape_max_3d_diameter_mm", "same", "3D diameter includes depth"),
    ("energy{a}_N", "glcm_joint_energy", None, "CSV GLCM: 2D per angle, unnormalised counts (negative values)"),
    ("entropy{a}_N", "glcm_joint_entropy", None, ""),
    ("inertia{a}_N", "glcm_contrast", None, "inertia = contrast, unnormalised"),
    ("homogeneity{a}_N", "glcm_homogeneity", None, ""),
    ("idm{a}_N", "glcm_idm", None, ""),
    ("correlation{a}_N", "glcm_correlation", None, ""),
    ("shade{a}_N", "glcm_cluster_shade", None, ""),
    ("promenance{a}_N", "glcm_cluster_prominence", None, ""),
]
ANGLES = ("0", "45", "90", "135")


def _csv_values(table: object, column: str) -> np.ndarray:
    import pandas as pd

    assert isinstance(table, pd.DataFrame)
    if "{a}" in column:
        return np.mean([table[column.format(a=a)].to_numpy(dtype=np.float64) for a in ANGLES], axis=0)
    return table[column].to_numpy(dtype=np.float64)


def _convert(values: np.ndarray, how: str) -> np.ndarray:
    if how == "same":
        return values
    raise ValueError(how)


def main() -> None:
    import pandas as pd
    from scipy.stats import pearsonr, spearmanr

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/ct/lidc_nodules"))
    parser.add_argument("--json", type=Path, default=None, help="write the table as JSON here")
    args = parser.parse_args()
    data = load_nodules(args.data)
    start = time.perf_counter()
    ours = radiomics_matrix(data.volumes)
    seconds = time.perf_counter() - start
    table = pd.read_csv(args.data / "radiomics.csv").set_index(["exam_id", "nodule_id"])
    table = table.loc[list(zip(data.exam_ids, data.nodule_ids, strict=True))]
    rows = []
    for csv_col, name, how, note in PAIRS:
        theirs = _csv_values(table, csv_col)
        mine = ours[:, RADIOMICS_NAMES.index(name)]
        ok = np.isfinite(theirs) & np.isfinite(mine)
        rho = float(spearmanr(theirs[ok], mine[ok]).statistic)
        r = float(pearsonr(theirs[ok], mine[ok]).statistic)
        rel = None
        if how is not None:
            conv = _convert(theirs[ok], how)
            denom = np.maximum(np.abs(conv), 1e-9)
            rel = float(np.median(np.abs(mine[ok] - conv) / denom))
        rows.append({"csv": csv_col, "ours": name, "spearman": rho, "pearson": r, "median_rel_diff": rel, "note": note})
    print(f"{len(data.labels)} nodules, {seconds / len(data.labels) * 1000:.0f} ms per nodule")
    print(f"{'CSV':24s} {'project':30s} {'rho':>6s} {'r':>6s} {'rel.diff':>8s}  note")
    for row in rows:
        rel = "" if row["median_rel_diff"] is None else f"{row['median_rel_diff']:.3f}"
        print(
            f"{row['csv']:24s} {row['ours']:30s} {row['spearman']:6.3f} {row['pearson']:6.3f} {rel:>8s}  {row['note']}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
