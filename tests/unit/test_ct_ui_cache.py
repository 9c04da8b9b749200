"""The CT page's shared stores: slice views keyed by everything they show, volumes shown without a copy."""

from __future__ import annotations

import numpy as np

from medai_core.ct.readers import CTStudy
from medai_core.ui.cache import CTVolumeStore, ct_slice_view, get_ct_views


def test_slice_views_are_shared_only_between_identical_views() -> None:
    get_ct_views().clear()
    builds: list[str] = []

    def view(label: str) -> str:
        builds.append(label)
        return label

    mask = np.zeros((8, 8), bool)
    mask[2:4, 2:4] = True
    other = mask.copy()
    other[5, 5] = True
    assert ct_slice_view("a" * 64, (0, "lung"), mask, lambda: view("first")) == "first"
    assert ct_slice_view("a" * 64, (0, "lung"), mask.copy(), lambda: view("again")) == "first"  # same content
    assert ct_slice_view("a" * 64, (0, "lung"), other, lambda: view("outline")) == "outline"
    assert ct_slice_view("a" * 64, (0, "lung"), None, lambda: view("none")) == "none"
    assert ct_slice_view("a" * 64, (1, "lung"), mask, lambda: view("slice")) == "slice"
    assert ct_slice_view("b" * 64, (0, "lung"), mask, lambda: view("input")) == "input"
    assert builds == ["first", "outline", "none", "slice", "input"]


def test_volume_store_shows_the_held_volume_without_a_copy() -> None:
    store = CTVolumeStore(max_bytes=10_000_000, ttl_s=60)
    hu = np.arange(-1024, 1024, dtype=np.float32).reshape(2, 32, 32)
    store.put("a", CTStudy(hu=hu, spacing_mm=(0.7, 0.7), slice_spacing_mm=1.25, source_format="DICOM"))
    shown = store.get("a", copy=False)
    assert shown is not None and shown is store.get("a", copy=False)  # one object, no per-rerun copy
    assert shown.hu.dtype == np.int16 and not shown.hu.flags.writeable
    np.testing.assert_array_equal(shown.hu, hu)
    copied = store.get("a")
    assert copied is not None and copied.hu.dtype == np.float32 and copied.hu.flags.writeable
