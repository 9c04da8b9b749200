"""Write the synthetic CGM test fixtures in ``tests/data/glucose/`` (run from the repository root).

``python scripts/make_cgm_fixtures.py``

Every file is synthetic (simulated glucose, made-up names and serial numbers: no real patient) and laid out
exactly as the vendor exports a clinician downloads:

- ``dexcom_clarity_g7_mgdl.csv``: Dexcom Clarity CSV, G7 mobile app, mg/dL, every field quoted, 10 header rows
  (first/last name, device, alert settings) before the EGV rows, ISO timestamps, ``Low``/``High`` readings.
- ``dexcom_clarity_g6_mmol.csv``: Dexcom Clarity CSV, G6 (receiver/Android app), mmol/L, unquoted, with a UTF-8
  byte-order mark as Clarity writes it.
- ``libreview_us_mgdl.csv``: LibreView "Glucose Data" CSV, US: mg/dL, ``MM-DD-YYYY hh:mm AM`` timestamps,
  historic readings (record type 0) every 5 minutes (FreeStyle Libre 3), scans (type 1), notes (type 6).
- ``libreview_eu_mmol.csv``: LibreView CSV, Europe: mmol/L, ``DD-MM-YYYY HH:MM`` timestamps, historic readings
  every 15 minutes (FreeStyle Libre 2), scans and a note.
- ``research_id_time_gl.csv``: a small ``id,time,gl`` table (three patients, mg/dL) as in GlucoBench.

The output is deterministic (fixed seeds); the tests read only these files.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "glucose"
MG_DL_PER_MMOL_L = 18.016  # kept literal: fixtures must not change when the package does

DEXCOM_COLUMNS = (
    "Index",
    "Timestamp (YYYY-MM-DDThh:mm:ss)",
    "Event Type",
    "Event Subtype",
    "Patient Info",
    "Device Info",
    "Source Device ID",
    "Glucose Value ({u})",
    "Insulin Value (u)",
    "Carb Value (grams)",
    "Duration (hh:mm:ss)",
    "Glucose Rate of Change ({u}/min)",
    "Transmitter Time (Long Integer)",
    "Transmitter ID",
)
LIBRE_COLUMNS = (
    "Device",
    "Serial Number",
    "Device Timestamp",
    "Record Type",
    "Historic Glucose {u}",
    "Scan Glucose {u}",
    "Non-numeric Rapid-Acting Insulin",
    "Rapid-Acting Insulin (units)",
    "Non-numeric Food",
    "Carbohydrates (grams)",
    "Carbohydrates (servings)",
    "Non-numeric Long-Acting Insulin",
    "Long-Acting Insulin (units)",
    "Notes",
    "Strip Glucose {u}",
    "Ketone mmol/L",
    "Meal Insulin (units)",
    "Correction Insulin (units)",
    "User Change Insulin (units)",
)


def trace(minutes: np.ndarray, seed: int, *, base: float = 135.0) -> np.ndarray:
    """A plausible glucose trace (mg/dL) at ``minutes`` after midnight of day 0: daily meals, a slow wave, noise."""
    rng = np.random.default_rng(seed)
    tod = minutes % (24 * 60)
    g = base + 25 * np.sin(2 * np.pi * minutes / (24 * 60) - 1.0)
    for meal, size in ((7.5 * 60, 70.0), (12.5 * 60, 60.0), (19 * 60, 80.0)):
        s = np.clip((tod - meal) / 45.0, 0, None)
        g += size * s**2 * np.exp(2.0 - s) / 4.0
    g += np.cumsum(rng.normal(0, 1.2, minutes.size))
    g += rng.normal(0, 2.0, minutes.size)
    return np.clip(g, 45, 380)


def _dexcom(
    path: Path,
    *,
    unit: str,
    quoted: bool,
    device: str,
    source: str,
    transmitter: str,
    start: datetime,
    days: int,
    seed: int,
    bom: bool,
) -> None:
    n = days * 288
    minutes = np.arange(n) * 5.0
    mg = trace(minutes, seed)
    mg[100:103] = [39.0, 38.0, 41.0]  # below the reporting range: exported as "Low"
    mg[400] = 405.0  # above it: "High"
    rng = np.random.default_rng(seed + 1)
    jitter = rng.integers(-3, 4, n)

    def value(v: float) -> str:
        if v < 40:
            return "Low"
        if v > 400:
            return "High"
        return f"{v:.0f}" if unit == "mg/dL" else f"{v / MG_DL_PER_MMOL_L:.1f}"

    header = [c.format(u=unit) for c in DEXCOM_COLUMNS]
    width = len(header)
    alerts = [
        ("Alert", "Fall", "", "", "3"),
        ("Alert", "High", value(200.0), "", ""),
        ("Alert", "Low", value(70.0), "", ""),
        ("Alert", "Signal Loss", "", "00:20:00", ""),
        ("Alert", "Rise", "", "", "3"),
        ("Alert", "Urgent Low", value(55.0), "", ""),
        ("Alert", "Urgent Low Soon", value(55.0), "", ""),
    ]
    rows: list[list[str]] = [
        ["1", "", "FirstName", "", "Synthetic"] + [""] * (width - 5),
        ["2", "", "LastName", "", "Fixture"] + [""] * (width - 5),
        ["3", "", "Device", "", "", device, source] + [""] * (width - 7),
    ]
    for i, (kind, sub, glucose, duration, rate) in enumerate(alerts):
        rows.append([str(4 + i), "", kind, sub, "", "", source, glucose, "", "", duration, rate, "", ""])
    for k in range(n):
        if 1000 <= k < 1012:  # one hour of signal loss
            continue
        stamp = start + timedelta(minutes=5 * k, seconds=int(jitter[k]))
        rows.append(
            [
                str(len(rows) + 1),
                stamp.strftime("%Y-%m-%dT%H:%M:%S"),
                "EGV",
                "",
                "",
                "",
                source,
                value(mg[k]),
                "",
                "",
                "",
                "",
                str(300 * k + 1713),
                transmitter,
            ]
        )
    fmt: Callable[[list[str]], str] = (lambda r: ",".join(f'"{c}"' for c in r)) if quoted else ",".join
    text = "\n".join([fmt(header)] + [fmt(r) for r in rows]) + "\n"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))


def _libre(path: Path, *, unit: str, us: bool, step: int, device: str, start: datetime, days: int, seed: int) -> None:
    n = days * 24 * 60 // step
    minutes = np.arange(n) * float(step)
    mg = trace(minutes, seed, base=125.0)
    rng = np.random.default_rng(seed + 1)
    serial = "00000000-0000-4000-8000-00000000000" + str(seed % 10)
    header = ",".join(c.format(u=unit) for c in LIBRE_COLUMNS)

    def stamp(t: datetime) -> str:
        return t.strftime("%m-%d-%Y %I:%M %p") if us else t.strftime("%d-%m-%Y %H:%M")

    def value(v: float) -> str:
        return f"{v:.0f}" if unit == "mg/dL" else f"{v / MG_DL_PER_MMOL_L:.1f}"

    generated = start + timedelta(days=days, hours=2)
    lines = [f"Glucose Data,Generated on,{stamp(generated)} UTC,Generated by,Synthetic Fixture", header]
    empty = [""] * (len(LIBRE_COLUMNS) - 6)
    for k in range(n):
        if n // 2 <= k < n // 2 + 90 // step:  # a 90-minute gap in the history (sensor not scanned in time)
            continue
        t = start + timedelta(minutes=step * k + int(rng.integers(0, 2)))
        lines.append(",".join([device, serial, stamp(t), "0", value(mg[k]), "", *empty]))
    for k in rng.choice(n, size=days * 8, replace=False):  # scans, some of them inside the gap
        t = start + timedelta(minutes=step * int(k) + 2)
        lines.append(",".join([device, serial, stamp(t), "1", "", value(mg[int(k)] + 3), *empty]))
    for j in range(40 // step + 1):
        k = n // 2 + j * (step if step > 5 else 10) // step
        t = start + timedelta(minutes=step * k + 3)
        lines.append(",".join([device, serial, stamp(t), "1", "", value(mg[k]), *empty]))
    note = [device, serial, stamp(start + timedelta(hours=12)), "6", "", ""] + [""] * 7 + ["walk"] + [""] * 5
    lines.append(",".join(note))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _research(path: Path) -> None:
    rows = ["id,time,gl"]
    for pid, seed, hours in (("1", 11, 10), ("5", 12, 8), ("subject-3", 13, 9)):
        minutes = np.arange(hours * 12) * 5.0
        start = datetime(2012, 3, 1, 6, 0, 0)
        for m, g in zip(minutes, trace(minutes + 360, seed), strict=True):
            rows.append(f"{pid},{(start + timedelta(minutes=float(m))):%Y-%m-%d %H:%M:%S},{g:.0f}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def main() -> None:
    """Write every fixture."""
    OUT.mkdir(parents=True, exist_ok=True)
    _dexcom(
        OUT / "dexcom_clarity_g7_mgdl.csv",
        unit="mg/dL",
        quoted=True,
        device="Dexcom G7 Mobile App",
        source="iOS G7",
        transmitter="000000000000",
        start=datetime(2025, 11, 21, 0, 17, 19),
        days=4,
        seed=1,
        bom=False,
    )
    _dexcom(
        OUT / "dexcom_clarity_g6_mmol.csv",
        unit="mmol/L",
        quoted=False,
        device="Mobile App",
        source="android G6",
        transmitter="8XXXXX",
        start=datetime(2025, 5, 1, 0, 1, 47),
        days=3,
        seed=2,
        bom=True,
    )
    _libre(
        OUT / "libreview_us_mgdl.csv",
        unit="mg/dL",
        us=True,
        step=5,
        device="FreeStyle Libre 3",
        start=datetime(2026, 1, 2, 23, 40),
        days=3,
        seed=3,
    )
    _libre(
        OUT / "libreview_eu_mmol.csv",
        unit="mmol/L",
        us=False,
        step=15,
        device="FreeStyle LibreLink",
        start=datetime(2026, 1, 13, 22, 0),
        days=5,
        seed=4,
    )
    _research(OUT / "research_id_time_gl.csv")
    for path in sorted(OUT.glob("*.csv")):
        print(f"{path.relative_to(OUT.parents[2])}: {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
