"""Clocks: timestamps with UTC offsets or Z, a daylight-saving change, a chosen time zone, and mixed clocks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medai_core.errors import CGMInputError
from medai_core.glucose.prepare import GRID_MINUTES
from medai_core.glucose.readers import read_cgm, read_research_table


def _generic(stamps: list[str], column: str = "timestamp") -> bytes:
    values = [100 + (i % 20) for i in range(len(stamps))]
    return (f"{column},glucose_mg_dl\n" + "".join(f"{t},{v}\n" for t, v in zip(stamps, values, strict=True))).encode()


def _instants(start_utc: str, n: int) -> pd.DatetimeIndex:
    return pd.date_range(start_utc, periods=n, freq="5min", tz="UTC")


def test_z_timestamps_stay_utc_by_default_with_a_note() -> None:
    stamps = [f"{t:%Y-%m-%dT%H:%M:%S}Z" for t in _instants("2026-01-05 22:00", 48)]
    record = read_cgm(_generic(stamps))
    assert str(record.times[0]) == "2026-01-05T22:00:00.000000000"
    assert any("UTC+00:00" in n for n in record.notes)
    assert any("choose the patient's time zone" in n for n in record.notes)


def test_z_timestamps_converted_to_the_chosen_time_zone() -> None:
    stamps = [f"{t:%Y-%m-%dT%H:%M:%S}Z" for t in _instants("2026-01-05 22:00", 48)]
    record = read_cgm(_generic(stamps), timezone="America/New_York")
    assert str(record.times[0]) == "2026-01-05T17:00:00.000000000"  # EST = UTC-5
    assert any("America/New_York" in n for n in record.notes)


def test_the_files_own_offset_is_the_default() -> None:
    stamps = [f"{t.tz_convert('Asia/Kolkata'):%Y-%m-%dT%H:%M:%S%z}" for t in _instants("2026-01-05 00:00", 24)]
    assert stamps[0].endswith("+0530")
    record = read_cgm(_generic(stamps))
    assert str(record.times[0]) == "2026-01-05T05:30:00.000000000"
    assert any("UTC+05:30" in n for n in record.notes)


@pytest.mark.parametrize("start", ["2026-03-29 00:00", "2026-10-25 00:00"])  # Europe/Berlin spring / autumn change
def test_daylight_saving_change_keeps_a_continuous_grid(start: str) -> None:
    instants = _instants(start, 72)  # 6 hours across the change at 01:00 UTC
    stamps = [t.tz_convert("Europe/Berlin").isoformat() for t in instants]
    assert len({s[-6:] for s in stamps}) == 2
    record = read_cgm(_generic(stamps))
    steps = np.diff(record.times).astype("timedelta64[m]").astype(int)
    assert (steps == GRID_MINUTES).all()  # no duplicated and no missing hour
    grid = record.grid()
    assert grid.times.size == 72 and grid.observed.all()
    assert any("daylight-saving" in n for n in record.notes)


def test_mixed_offset_and_naive_timestamps_are_refused() -> None:
    stamps = ["2026-01-05T08:00:00+01:00", "2026-01-05T08:05:00", "2026-01-05T08:10:00+01:00"]
    with pytest.raises(CGMInputError, match="mixes timestamps with a UTC offset"):
        read_cgm(_generic(stamps))


def test_unknown_time_zone_is_refused() -> None:
    stamps = [f"{t:%Y-%m-%dT%H:%M:%S}Z" for t in _instants("2026-01-05 22:00", 4)]
    with pytest.raises(CGMInputError, match="Unknown time zone"):
        read_cgm(_generic(stamps), timezone="Mars/Olympus")


def test_naive_timestamps_ignore_the_time_zone_with_a_note() -> None:
    stamps = [f"{t:%Y-%m-%d %H:%M:%S}" for t in pd.date_range("2026-01-05", periods=6, freq="5min")]
    record = read_cgm(_generic(stamps), timezone="Europe/Paris")
    assert str(record.times[0]) == "2026-01-05T00:00:00.000000000"
    assert any("no UTC offset" in n for n in record.notes)


def test_research_table_and_upload_read_times_the_same_way() -> None:
    """One reader: an id,time,gl table gives the same clock through read_cgm and read_research_table."""
    instants = _instants("2026-10-25 00:00", 36)
    rows = ["id,time,gl"] + [f"7,{t.tz_convert('Europe/Berlin').isoformat()},{120 + i}" for i, t in enumerate(instants)]
    data = ("\n".join(rows) + "\n").encode()
    record = read_cgm(data)
    table = read_research_table(data)
    np.testing.assert_array_equal(record.times, table["time"].to_numpy())
    np.testing.assert_allclose(record.glucose_mg_dl, table["gl"].to_numpy())
    assert any("daylight-saving" in n for n in table.attrs["notes"])
    with pytest.raises(CGMInputError, match="mixes timestamps"):
        read_research_table(b"id,time,gl\n1,2026-01-05T08:00:00Z,100\n1,2026-01-05 08:05:00,101\n")
