"""Property-based tests (Hypothesis) of the CT reader, segmentation and model: any input gives a result or an
``ImageInputError``; every result is finite and in range.

Readers run through the isolation pool (a crash would otherwise end the test run) with the fuzz command's checks
(:func:`medai_core.fuzz.check_ct`). CI runs the "ci" profile from ``tests/conftest.py`` (40 examples, derandomised).
"""

from __future__ import annotations

import io
import random
import subprocess
import warnings
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from medai_core.errors import ImageInputError
from medai_core.fuzz import classify, mutate, seed_corpus
from medai_core.isolation import IsolationPool

CORPUS = seed_corpus("ct")
PREFIXES = (b"", b"\x89PNG\r\n\x1a\n", b"PK\x03\x04", b"\x00" * 128 + b"DICM", b"\xff\xd8\xff", b"II*\x00")
HOSTILE_FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, -1.0, 1e-320, 1e308, -1e308, 1.0, 0.5]),
)


@pytest.fixture(scope="module")
def pool() -> Iterator[IsolationPool]:
    """A one-worker pool for this module (10 s per case, 3 GiB)."""
    p = IsolationPool(workers=1, time_limit_s=10.0, memory_mb=3072, stderr=subprocess.DEVNULL)
    yield p
    p.close()


def _assert_result_or_rejection(pool: IsolationPool, data: bytes, name: str, point: object = None) -> None:
    outcome, detail, _ = classify(pool, "ct", data, name, point)  # type: ignore[arg-type]
    assert outcome in ("result", "rejected"), f"{outcome}: {detail}"


@given(prefix=st.sampled_from(PREFIXES), body=st.binary(max_size=2048))
def test_any_bytes_give_a_result_or_an_input_error(pool: IsolationPool, prefix: bytes, body: bytes) -> None:
    _assert_result_or_rejection(pool, prefix + body, "upload.dcm")


@given(index=st.integers(0, len(CORPUS) - 1), seed=st.integers(0, 2**32 - 1))
def test_mutated_seed_files_give_a_result_or_an_input_error(pool: IsolationPool, index: int, seed: int) -> None:
    _, data, point = CORPUS[index]
    mutated, _ = mutate(random.Random(seed), data, "ct", CORPUS[(index + 1) % len(CORPUS)][1])
    _assert_result_or_rejection(pool, mutated, "upload" + (".zip" if mutated[:2] == b"PK" else ".dcm"), point)


@given(slope=HOSTILE_FLOATS, intercept=HOSTILE_FLOATS, row_mm=HOSTILE_FLOATS, col_mm=HOSTILE_FLOATS)
def test_dicom_rescale_and_spacing_values_are_validated(
    pool: IsolationPool, slope: float, intercept: float, row_mm: float, col_mm: float
) -> None:
    import pydicom

    from medai_core.ct.demo import CT_SMALL_SEED, demo_bytes

    ds = pydicom.dcmread(io.BytesIO(demo_bytes("ct_small")[0]))
    out = io.BytesIO()
    with pydicom.config.disable_value_validation(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the values are invalid on purpose: a hostile file holds them as text
        ds.RescaleSlope = f"{slope:.6g}"  # at most 16 characters, as DS requires
        ds.RescaleIntercept = f"{intercept:.6g}"
        ds.PixelSpacing = [f"{row_mm:.6g}", f"{col_mm:.6g}"]
        ds.save_as(out)
    point = (CT_SMALL_SEED.row, CT_SMALL_SEED.col, CT_SMALL_SEED.slice_index)
    _assert_result_or_rejection(pool, out.getvalue(), "slice.dcm", point)


@given(
    hu=arrays(np.float32, st.tuples(st.integers(1, 3), st.integers(12, 40), st.integers(12, 40)),
              elements=st.floats(-1100, 400, width=32)),
    where=st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)),
    spacing=st.one_of(st.none(), st.tuples(st.floats(0.2, 2.0), st.floats(0.2, 2.0))),
    threshold=st.floats(-900, 0),
)  # fmt: skip
def test_segmentation_is_a_result_or_an_input_error_and_measures_in_range(
    hu: np.ndarray, where: tuple[float, float, float], spacing: tuple[float, float] | None, threshold: float
) -> None:
    from medai_core.ct.prepare import Seed, segment_nodule

    d, h, w = hu.shape
    seed = Seed(int(where[0] * (h - 1)), int(where[1] * (w - 1)), int(where[2] * (d - 1)))
    try:
        seg = segment_nodule(hu, seed, spacing_mm=spacing, slice_spacing_mm=1.0, threshold_hu=threshold)
    except ImageInputError:
        return
    assert seg.mask.shape == hu.shape and seg.mask.dtype == np.bool_
    assert seg.mask[seed.slice_index, seed.row, seed.col]
    assert np.isfinite(seg.long_axis_mm) and np.isfinite(seg.short_axis_mm)
    assert 0 <= seg.short_axis_mm <= seg.long_axis_mm + 1e-6
    assert seg.volume_mm3 is None or (np.isfinite(seg.volume_mm3) and seg.volume_mm3 > 0)
    assert 0 <= seg.largest_slice < d


@pytest.fixture(scope="module")
def ct_model() -> object:
    from medai_core.models import load_model

    return load_model("ct_nodule")


@settings(max_examples=12)
@given(
    crop=arrays(np.uint8, (64, 64), elements=st.integers(0, 255)),
    radius=st.integers(3, 30),
)
def test_model_probability_is_in_0_1_for_any_masked_crop(ct_model: object, crop: np.ndarray, radius: int) -> None:
    from medai_core.ct.analysis import analyse_nodule
    from medai_core.ct.readers import study_from_u8

    yy, xx = np.mgrid[:64, :64]
    masked = np.where((yy - 32) ** 2 + (xx - 32) ** 2 <= radius**2, np.maximum(crop, 1), 0).astype(np.uint8)
    try:
        study = study_from_u8(masked[None], "PNG")
        result = analyse_nodule(ct_model, None, study, None, explain="none")  # type: ignore[arg-type]
    except ImageInputError:
        return
    summary = result.summary()
    p, (low, high) = summary["probability"], summary["interval"]
    assert all(np.isfinite(v) and 0.0 <= v <= 1.0 for v in (p, low, high))
    assert low <= p + 1e-6 and p <= high + 1e-6
