"""Property-based tests (Hypothesis) of the CGM reader, the AGP report and the forecaster: any input gives a result
or a ``CGMInputError``; every result is finite and in range.

Readers run through the isolation pool with the fuzz command's checks (:func:`medai_core.fuzz.check_glucose`:
glucose within the reader's plausible range, times sorted, AGP bands in 0-100 % adding up to 100 %). CI runs the
"ci" profile from ``tests/conftest.py``.
"""

from __future__ import annotations

import gzip
import random
import subprocess
from collections.abc import Iterator
from datetime import datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from medai_core.errors import CGMInputError
from medai_core.fuzz import classify, mutate, seed_corpus
from medai_core.isolation import IsolationPool

CORPUS = seed_corpus("glucose")
READING = st.one_of(
    st.integers(-50, 1000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "Low", "High", "LO", "abc", "1,5", "5.5", "  120 ", "1e308", "-0"]),
)
STAMP = st.one_of(
    st.datetimes().map(lambda t: t.isoformat(sep=" ", timespec="minutes")),
    st.sampled_from(["2025-03-03T00:00:00Z", "2025-03-30T02:30:00+01:00", "03/04/2025 12:00 AM", "", "NaT", "0"]),
)


@pytest.fixture(scope="module")
def pool() -> Iterator[IsolationPool]:
    """A one-worker pool for this module (10 s per case, 3 GiB)."""
    p = IsolationPool(workers=1, time_limit_s=10.0, memory_mb=3072, stderr=subprocess.DEVNULL)
    yield p
    p.close()


def _assert_result_or_rejection(pool: IsolationPool, data: bytes, name: str = "export.csv") -> None:
    outcome, detail, _ = classify(pool, "glucose", data, name)
    assert outcome in ("result", "rejected"), f"{outcome}: {detail}"


@given(body=st.binary(max_size=4096), gz=st.booleans())
def test_any_bytes_give_a_result_or_an_input_error(pool: IsolationPool, body: bytes, gz: bool) -> None:
    _assert_result_or_rejection(pool, gzip.compress(body, mtime=0) if gz else body)


@given(index=st.integers(0, len(CORPUS) - 1), seed=st.integers(0, 2**32 - 1))
def test_mutated_seed_files_give_a_result_or_an_input_error(pool: IsolationPool, index: int, seed: int) -> None:
    name, data, _ = CORPUS[index]
    mutated, _ = mutate(random.Random(seed), data, "glucose", CORPUS[(index + 1) % len(CORPUS)][1])
    _assert_result_or_rejection(pool, mutated, name)


@given(
    header=st.sampled_from(["timestamp,glucose_mg_dl", "time,glucose", "timestamp,glucose_mmol_l", "id,time,gl"]),
    rows=st.lists(st.tuples(STAMP, READING), min_size=0, max_size=60),
)
def test_generated_tables_give_a_result_or_an_input_error(
    pool: IsolationPool, header: str, rows: list[tuple[str, str]]
) -> None:
    prefix = "p1," if header.startswith("id") else ""
    text = header + "\n" + "".join(f"{prefix}{t},{v}\n" for t, v in rows)
    _assert_result_or_rejection(pool, text.encode())


@given(
    values=st.lists(st.integers(40, 400), min_size=1, max_size=600),
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)),
)
def test_plain_mg_dl_readings_are_read_back_exactly_and_agp_bands_add_up(values: list[int], start: object) -> None:
    from medai_core.glucose.agp import agp_report
    from medai_core.glucose.readers import read_cgm

    t0 = np.datetime64(start, "m")  # type: ignore[call-overload]
    times = t0 + np.arange(len(values)) * np.timedelta64(5, "m")
    text = "timestamp,glucose_mg_dl\n" + "".join(
        f"{np.datetime_as_string(t)},{v}\n" for t, v in zip(times, values, strict=True)
    )
    record = read_cgm(text.encode(), name="export.csv")
    np.testing.assert_array_equal(record.glucose_mg_dl, np.asarray(values, dtype=np.float64))
    np.testing.assert_array_equal(record.times, times.astype("datetime64[ns]"))
    report = agp_report(record.times, record.glucose_recorded, record.grid(), record.unit_detected)
    bands = [v for k, v in report.metrics.items() if k.startswith(("tbr_", "tir_", "tar_"))]
    assert len(bands) == 5 and all(0 <= b <= 100 for b in bands)
    assert sum(bands) == pytest.approx(100.0)
    assert report.metrics["mean_mg_dl"] == pytest.approx(float(np.mean(values)))
    assert 0 <= report.metrics["active_percent"] <= 100


@pytest.fixture(scope="module")
def glucose_model() -> object:
    from medai_core.models import load_model

    return load_model("glucose_forecast")


@settings(max_examples=6)
@given(seed=st.integers(0, 10_000), days=st.integers(1, 3), offset=st.floats(-60, 150))
def test_forecast_quantiles_and_hypo_risk_are_finite_and_in_range(
    glucose_model: object, seed: int, days: int, offset: float
) -> None:
    import dataclasses

    from medai_core.glucose.analysis import analyse
    from medai_core.glucose.simulate import simulated_patient
    from medai_core.results.glucose import analysis_payload

    record = simulated_patient(days=days, seed=seed)
    shifted = np.clip(record.glucose_mg_dl + offset, 40, 400)
    record = dataclasses.replace(record, glucose_mg_dl=shifted, glucose_recorded=shifted)
    try:
        payload = analysis_payload(analyse(record, glucose_model))  # type: ignore[arg-type]
    except CGMInputError:
        return
    if payload["forecast"] is None:
        assert payload["forecast_unavailable"]
        return
    f = payload["forecast"]
    for key in ("p10", "p50", "p90"):
        assert all(np.isfinite(v) and 0 < v < 1000 for v in f[key])
    assert all(lo <= mid <= hi for lo, mid, hi in zip(f["p10"], f["p50"], f["p90"], strict=True))
    assert all(0.0 <= p <= 1.0 for p in payload["hypo_risk"].values())
