"""Generic CSV layouts met in real exports, each of which used to be read wrongly without an error: a separate date
and time-of-day column (Medtronic CareLink, xDrip), day-first dates (most of the world), Nightscout's ``dateString``
and a unit given in its own column. Each either reads to the right clock and unit, or is refused with the reason."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medai_core.errors import CGMInputError
from medai_core.glucose.readers import read_cgm
from medai_core.units import MG_DL_PER_MMOL_L

START = "2024-03-10 00:00"


def _times(days: int = 3, start: str = START) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=288 * days, freq="5min")


def _glucose(n: int) -> np.ndarray:
    return np.round(140 + 40 * np.sin(np.arange(n) / 30))


def _csv(frame: pd.DataFrame, sep: str = ",") -> bytes:
    return frame.to_csv(index=False, sep=sep).encode()


def test_carelink_date_and_time_columns_are_combined() -> None:
    t = _times()
    meter = ["" if i % 60 else "120" for i in range(len(t))]
    frame = pd.DataFrame(
        {
            "Index": range(len(t)),
            "Date": t.strftime("%Y/%m/%d"),
            "Time": t.strftime("%H:%M:%S"),
            "BG Reading (mg/dL)": meter,
            "Sensor Glucose (mg/dL)": _glucose(len(t)),
        }
    )
    record = read_cgm(_csv(frame), name="carelink.csv")
    # before: 'Time' alone was the clock, so three days fell onto one and were averaged as duplicates
    assert record.n_readings == len(t)
    assert str(record.times[0])[:16] == "2024-03-10T00:00" and str(record.times[-1])[:16] == "2024-03-12T23:55"
    assert not any("duplicate" in n for n in record.notes)


def test_xdrip_day_and_time_columns_day_first() -> None:
    t = _times()
    frame = pd.DataFrame({"DAY": t.strftime("%d.%m.%Y"), "TIME": t.strftime("%H:%M"), "glucose": _glucose(len(t))})
    record = read_cgm(_csv(frame, ";"), name="xdrip.csv")
    assert str(record.times[0])[:10] == "2024-03-10" and str(record.times[-1])[:10] == "2024-03-12"
    assert any("DD-MM-YYYY" in n for n in record.notes)


def test_time_of_day_without_a_date_is_refused() -> None:
    t = _times(1)
    frame = pd.DataFrame({"time": t.strftime("%H:%M"), "glucose": _glucose(len(t))})
    with pytest.raises(CGMInputError, match="times of day without a date"):
        read_cgm(_csv(frame), name="clock.csv")


def test_dates_without_a_time_are_refused() -> None:
    frame = pd.DataFrame({"timestamp": ["2024-03-10"] * 5 + ["2024-03-11"] * 5, "glucose": [120] * 10})
    with pytest.raises(CGMInputError, match="dates without a time of day"):
        read_cgm(_csv(frame), name="dates.csv")


@pytest.mark.parametrize(
    ("layout", "order"), [("%d/%m/%Y %H:%M", "DD-MM-YYYY"), ("%m/%d/%Y %H:%M", "MM-DD-YYYY"), ("%d.%m.%Y %H:%M", "DD")]
)
def test_day_month_order_is_read_from_the_data(layout: str, order: str) -> None:
    t = _times(5)  # 10-14 March: the 13th and 14th say which field is the day
    frame = pd.DataFrame({"timestamp": t.strftime(layout), "glucose": _glucose(len(t))})
    record = read_cgm(_csv(frame), name="dmy.csv")
    # before: each row was guessed on its own (month-first where it could be), scrambling 10-14 March over the year
    assert str(record.times[0])[:10] == "2024-03-10" and str(record.times[-1])[:10] == "2024-03-14"
    assert record.n_readings == len(t)
    assert any(order in n for n in record.notes)


def test_day_month_order_that_cannot_be_told_is_refused() -> None:
    frame = pd.DataFrame({"timestamp": ["01/02/2024 08:00", "02/01/2024 08:00"], "glucose": [110, 120]})
    with pytest.raises(CGMInputError, match="cannot tell whether dates"):
        read_cgm(_csv(frame), name="ambiguous.csv")


def test_two_digit_years_are_refused() -> None:
    t = _times(1)
    frame = pd.DataFrame({"timestamp": t.strftime("%d/%m/%y %H:%M"), "glucose": _glucose(len(t))})
    with pytest.raises(CGMInputError, match="two-digit year"):
        read_cgm(_csv(frame), name="short.csv")


def test_mixed_date_layouts_are_refused() -> None:
    frame = pd.DataFrame({"timestamp": ["2024-03-10 08:00", "10/03/2024 08:05"], "glucose": [110, 120]})
    with pytest.raises(CGMInputError, match="mixes date layouts"):
        read_cgm(_csv(frame), name="mixed.csv")


def test_nightscout_entries_export() -> None:
    t = _times()
    frame = pd.DataFrame(
        {
            "_id": [f"x{i}" for i in range(len(t))],
            "sgv": _glucose(len(t)),
            "date": t.astype("int64") // 10**6,
            "dateString": t.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "direction": "Flat",
            "type": "sgv",
        }
    )
    record = read_cgm(_csv(frame), name="entries.csv", timezone="Europe/Paris")
    assert record.n_readings == len(t) and record.unit_detected == "mg/dL"
    assert str(record.times[0])[:16] == "2024-03-10T01:00"  # UTC shown at Paris time (UTC+1 in March)
    assert any("UTC offset" in n for n in record.notes)


def test_unit_column_is_read() -> None:
    t = _times()
    frame = pd.DataFrame({"timestamp": t.strftime("%Y-%m-%d %H:%M"), "value": _glucose(len(t)) / 18, "unit": "mmol/L"})
    record = read_cgm(_csv(frame), name="units.csv")
    assert record.unit_detected == "mmol/L"
    assert any("unit column" in n for n in record.notes)
    np.testing.assert_allclose(record.glucose_mg_dl[:3], np.round(_glucose(3) / 18, 6) * MG_DL_PER_MMOL_L, rtol=1e-6)


@pytest.mark.parametrize(
    ("units", "values", "match"),
    [
        (["mg/dL", "mmol/L"], [120.0, 6.5], "expected one unit"),
        (["stone", "stone"], [120.0, 130.0], "expected one unit"),
        (["mmol/L", "mmol/L"], [120.0, 130.0], "look like mg/dL"),
    ],
)
def test_unit_column_errors(units: list[str], values: list[float], match: str) -> None:
    frame = pd.DataFrame({"timestamp": ["2024-03-10 08:00", "2024-03-10 08:05"], "glucose": values, "units": units})
    with pytest.raises(CGMInputError, match=match):
        read_cgm(_csv(frame), name="units.csv")


def _libre_rows(t: pd.DatetimeIndex, values: np.ndarray, stamp: str = "%d-%m-%Y %H:%M") -> list[str]:
    return [f"FreeStyle LibreLink,XXXX,{tt.strftime(stamp)},0,{int(v)},,," for tt, v in zip(t, values, strict=True)]


@pytest.mark.parametrize(
    "header",
    [
        # German, Spanish and French LibreView exports: same six leading columns, translated names
        "Gerät,Seriennummer,Gerätezeitstempel,Aufzeichnungstyp,Glukosewert-Verlauf mg/dL,Glukose-Scan mg/dL,x,y",
        "Dispositivo,Número de serie,Sello de tiempo del dispositivo,Tipo de registro,Historial de glucosa mg/dL,"
        "Escaneo de glucosa mg/dL,x,y",
        "Appareil,Numéro de série,Horodatage de l'appareil,Type d'enregistrement,Historique de la glycémie mg/dL,"
        "Numérisation de la glycémie mg/dL,x,y",
    ],
)
def test_translated_libreview_is_read_by_position(header: str) -> None:
    t = pd.date_range(START, periods=96 * 4, freq="15min")
    values = _glucose(len(t))
    lines = ["Glukosedaten,Erstellt am,20-03-2024 08:43 UTC,Erstellt von,Test", header, *_libre_rows(t, values)]
    lines.append("FreeStyle LibreLink,XXXX,13-03-2024 23:50,6,,,,")  # a note record
    record = read_cgm(("\n".join(lines) + "\n").encode(), name="libre.csv")
    assert record.source_format == "libreview" and record.unit_detected == "mg/dL"
    assert record.n_readings == len(t)
    assert str(record.times[0])[:16] == "2024-03-10T00:00" and str(record.times[-1])[:16] == "2024-03-13T23:45"
    assert any("translated column names" in n for n in record.notes)


def test_translated_header_without_libre_rows_is_not_taken_for_libreview() -> None:
    t = _times(1)
    lines = ["a,b,c,d,e mg/dL,f mg/dL", *[f"Other,1,{tt:%Y-%m-%d %H:%M},0,120,," for tt in t]]
    with pytest.raises(CGMInputError, match="no glucose column"):
        read_cgm(("\n".join(lines) + "\n").encode(), name="other.csv")


def test_libre_desktop_export_with_time_column_and_record_ids() -> None:
    t = pd.date_range(START, periods=96 * 2, freq="15min")
    lines = ["Patient Name", "ID\tTime\tRecord Type\tHistoric Glucose (mg/dL)\tScan Glucose (mg/dL)\tNotes"]
    lines += [
        f"{1000 + i}\t{tt:%Y/%m/%d %H:%M}\t0\t{int(v)}\t\t"
        for i, (tt, v) in enumerate(zip(t, _glucose(len(t)), strict=True))
    ]
    record = read_cgm(("\n".join(lines) + "\n").encode(), name="libre.txt")
    # before: refused as a file without a glucose column; the per-record ID column is not a patient id
    assert record.source_format == "libreview" and record.n_readings == len(t)
    assert record.patients == ()


def test_libre_header_without_a_unit_reads_it_from_the_values() -> None:
    t = pd.date_range("2024-03-13", periods=96, freq="15min")  # the 13th says which field is the day
    lines = [
        "Glucose Data,Generated on,20-03-2024 08:43 UTC",
        "Device,Serial Number,Device Timestamp,Record Type,Historic Glucose,Scan Glucose",
        *[
            f'FreeStyle LibreLink,XXXX,{tt:%d-%m-%Y %H:%M},0,"{v / 18:.1f}",'
            for tt, v in zip(t, _glucose(len(t)), strict=True)
        ],
    ]
    record = read_cgm(("\n".join(lines) + "\n").encode(), name="libre.csv")
    assert record.unit_detected == "mmol/L"
    assert any("names no unit" in n for n in record.notes)


def test_dexcom_header_without_a_unit_reads_it_from_the_values() -> None:
    header = '"Index","Timestamp (YYYY-MM-DDThh:mm:ss)","Event Type","Event Subtype","Device Info","Glucose Value"'
    rows = [
        f'"{i}","2024-03-13T{i // 12:02d}:{(i % 12) * 5:02d}:00","EGV","","","{6.5 + (i % 7) / 10:.1f}"'
        for i in range(60)
    ]
    record = read_cgm(("\n".join([header, *rows]) + "\n").encode(), name="clarity.csv")
    assert record.unit_detected == "mmol/L" and record.source_format == "dexcom_clarity"
    assert any("names no unit" in n for n in record.notes)


def test_libreview_history_from_two_devices_is_not_interleaved() -> None:
    t = pd.date_range("2024-03-13", periods=96 * 3, freq="15min")
    values = _glucose(len(t))
    lines = [
        "Glucose Data,Generated on,20-03-2024 08:43 UTC",
        "Device,Serial Number,Device Timestamp,Record Type,Historic Glucose mg/dL,Scan Glucose mg/dL",
    ]
    # the phone holds the whole record; a reader holds an overlapping day (+30 mg/dL, 4 min off) and one extra day
    lines += [f"FreeStyle LibreLink,AAA,{tt:%d-%m-%Y %H:%M},0,{int(v)}," for tt, v in zip(t, values, strict=True)]
    other = pd.date_range("2024-03-15", periods=96 * 2, freq="15min") + pd.Timedelta("4min")
    lines += [f"FreeStyle Libre 2,BBB,{tt:%d-%m-%Y %H:%M},0,{170 + i % 5}," for i, tt in enumerate(other)]
    record = read_cgm(("\n".join(lines) + "\n").encode(), name="two.csv")
    # before: 480 readings alternating between the two devices (140, 170, 144, 174, ...) every few minutes
    assert record.n_readings == len(t) + 96  # the reader's day after the phone's record ends fills that gap
    first_day = record.glucose_mg_dl[: 96 * 2]
    np.testing.assert_allclose(first_day, values[: 96 * 2])
    assert any("2 devices" in n and "96 of 192" in n for n in record.notes)


def test_dexcom_rows_from_receiver_and_phone_are_not_doubled() -> None:
    header = (
        '"Index","Timestamp (YYYY-MM-DDThh:mm:ss)","Event Type","Event Subtype","Device Info","Source Device ID",'
        '"Glucose Value (mg/dL)"'
    )
    t = pd.date_range("2024-03-13", periods=288 * 2, freq="5min")
    values = _glucose(len(t))
    rows = [
        f'"{i}","{tt:%Y-%m-%dT%H:%M:%S}","EGV","","","iOS G6","{int(v)}"'
        for i, (tt, v) in enumerate(zip(t, values, strict=True))
    ]
    # the receiver uploaded the first day too, 20 s later, and a "Low" the phone lacks
    rows += [
        f'"r{i}","{tt + pd.Timedelta("20s"):%Y-%m-%dT%H:%M:%S}","EGV","","","Receiver","{int(v)}"'
        for i, (tt, v) in enumerate(zip(t[:288], values[:288], strict=True))
    ]
    rows.append(f'"x","{t[-1] + pd.Timedelta("5min"):%Y-%m-%dT%H:%M:%S}","EGV","","","Receiver","Low"')
    record = read_cgm(("\n".join([header, *rows]) + "\n").encode(), name="clarity.csv")
    assert record.n_readings == len(t) + 1  # before: 865, the first day twice
    assert any("2 display devices" in n and "1 of 289" in n for n in record.notes)
    assert any("'Low'" in n for n in record.notes)


def test_a_column_named_twice_is_refused() -> None:
    """Fuzz seed 26 case 2525: 'Event Type' and 'Event Type ' (a trailing space) became two columns of one name and
    the Dexcom reader failed with an AttributeError."""
    header = '"Index","Timestamp (YYYY-MM-DDThh:mm:ss)","Event Type","Event Type ","Glucose Value (mg/dL)"'
    rows = [f'"{i}","2024-03-13T00:{i * 5:02d}:00","EGV","","{120 + i}"' for i in range(10)]
    with pytest.raises(CGMInputError, match="more than once"):
        read_cgm(("\n".join([header, *rows]) + "\n").encode(), name="clarity.csv")
    generic = "time,glucose,glucose \n2024-03-13 00:00,120,121\n"
    with pytest.raises(CGMInputError, match="more than once"):
        read_cgm(generic.encode(), name="two.csv")
