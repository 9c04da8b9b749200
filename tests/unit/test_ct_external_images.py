"""CT readers on plain images as other software writes them: a JPEG with an EXIF orientation (phones, some
exporters), a PNG with transparency, a colour screenshot with coloured annotation, and a grey JPEG saved as RGB.

Grey values map to Hounsfield units through the lung window (HU = grey / 255 x 1500 - 1350).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from medai_core.ct.readers import read_ct, read_ct_path

SIDE = 64


def _encode(image: Image.Image, fmt: str, **kw: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kw)
    return buffer.getvalue()


def _slice_u8() -> np.ndarray:
    """Lung grey (HU -850) everywhere, a bright marker block in the top-left corner."""
    grey = np.full((SIDE, SIDE + 16), 85, np.uint8)  # wider than tall, so a rotation shows in the shape
    grey[2:10, 2:10] = 230
    return grey


def test_exif_orientation_is_applied_as_viewers_show_it() -> None:
    """EXIF orientation 6 (rotate 90 degrees clockwise to view) was ignored: the image was read lying on its side,
    so a nodule centre read off the screen pointed elsewhere."""
    image = Image.fromarray(_slice_u8())
    exif = Image.Exif()
    exif[0x0112] = 6
    study = read_ct(_encode(image, "JPEG", quality=95, exif=exif), name="photo.jpg")
    assert study.shape[1:] == (SIDE + 16, SIDE)  # as displayed: rows and columns swapped
    hu = study.hu[0]
    assert hu[5, -6] > -300 > hu[5, 5]  # the marker is now top-right, as a viewer shows it
    assert any("EXIF orientation" in n for n in study.notes)


def test_jpeg_without_orientation_is_not_rotated() -> None:
    study = read_ct(_encode(Image.fromarray(_slice_u8()), "JPEG", quality=95), name="slice.jpg")
    assert study.shape[1:] == (SIDE, SIDE + 16) and study.hu[0, 5, 5] > -300
    assert not any("EXIF" in n or "colour" in n for n in study.notes)


def test_transparent_pixels_are_black_not_the_colour_under_them() -> None:
    """A crop exported with a transparent surround over white: the surround was read as +150 HU (white)."""
    rgba = np.zeros((SIDE, SIDE, 4), np.uint8)
    rgba[..., :3] = 255
    yy, xx = np.mgrid[:SIDE, :SIDE]
    nodule = (yy - 32) ** 2 + (xx - 32) ** 2 < 10**2
    rgba[nodule, :3] = 150
    rgba[nodule, 3] = 255
    study = read_ct(_encode(Image.fromarray(rgba, "RGBA"), "PNG"), name="crop.png")
    assert study.hu[0, 0, 0] == -1350 and study.hu[0, 32, 32] > -600
    assert study.is_masked_crop and study.is_training_format_crop
    assert any(f"{int((~nodule).sum())} transparent pixel(s)" in n for n in study.notes)


def test_coloured_annotation_is_noted() -> None:
    rgb = np.repeat(_slice_u8()[..., None], 3, axis=2)
    rgb[30:32, 20:60] = (255, 0, 0)  # a red measurement line
    study = read_ct(_encode(Image.fromarray(rgb), "PNG"), name="screenshot.png")
    assert any("80 coloured pixel(s)" in n for n in study.notes)


def test_grey_image_saved_as_colour_jpeg_is_not_called_coloured() -> None:
    rng = np.random.default_rng(0)
    grey = np.clip(_slice_u8().astype(int) + rng.integers(-20, 20, _slice_u8().shape), 0, 255).astype(np.uint8)
    rgb = np.repeat(grey[..., None], 3, axis=2)
    study = read_ct(_encode(Image.fromarray(rgb), "JPEG", quality=75), name="grey.jpg")
    assert not any("colour" in n for n in study.notes)


def test_slice_folder_notes_what_decoding_changed(tmp_path: Path) -> None:
    rgba = np.zeros((SIDE, SIDE, 4), np.uint8)
    rgba[20:40, 20:40] = (150, 150, 150, 255)
    for k in (1, 2):
        (tmp_path / f"{k}.png").write_bytes(_encode(Image.fromarray(rgba, "RGBA"), "PNG"))
    study = read_ct_path(tmp_path)
    assert study.shape == (2, SIDE, SIDE)
    assert any(f"{2 * (SIDE * SIDE - 400)} transparent pixel(s)" in n for n in study.notes)
