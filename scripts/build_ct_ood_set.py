"""Build the CT out-of-distribution statistics and measure them (run from the repository root).

``python scripts/build_ct_ood_set.py [--data ../shared/data/ct/lidc_nodules] [--write]``

1. The development exams of the shipped ``ct_nodule`` model (the card's seeded exam split) give each nodule's
   standardised stacker inputs and CNN embedding; :func:`medai_core.ct.ood.fit_ood_stats` fits the statistics and
   sets the threshold on their exam-grouped out-of-fold distances (about 2 % of development nodules flagged).
2. The held-out exams (never used to fit anything) are analysed as an upload of their masked crop is: the share
   refused by the input checks or flagged (input checks or out-of-distribution score) is the card's
   ``metrics.ood.held_out``.
3. A set of inputs that are not lung nodules, generated here from installed packages (nothing is committed):
   photographs (scikit-image's bundled images, in colour and grey), MR (pydicom's MR test files, as MR and re-labelled
   as CT), non-chest CT (pydicom's HEAD test series, a Shepp-Logan head phantom as CT, with and without a HEAD
   header), noise, vessels (tubes in synthetic aerated lung; the vessel seed of pydicom's real CT_small slice) and
   tiny fields of view (pydicom's dicomdirtests CT2/CT2N/CT5N 16 x 16 slices). Each is read and analysed as an
   upload with a seed a user would click (a bright spot); it is caught when it is refused or flagged. The share
   caught is ``metrics.ood.non_nodule_set``.

``--write`` writes ``models/ct_nodule/ood_stats.json`` and the card's ``artifacts.ood`` and ``metrics.ood``;
without it the figures are only printed. The model's weights and probabilities are not changed.

Sources: LIDC-IDRI (CC BY 3.0) via ../shared/data; scikit-image data (BSD-3 / public domain / CC0, see
skimage/data/README.txt); pydicom test files (pydicom's licence, MIT; see pydicom/data/test_files/README.txt).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from medai_core.ct.analysis import analyse_nodule  # noqa: E402
from medai_core.ct.prepare import Seed  # noqa: E402
from medai_core.ct.readers import CTStudy, read_ct, study_from_u8  # noqa: E402
from medai_core.errors import InputError  # noqa: E402

MODEL_ID = "ct_nodule"
PIXEL_MM = 0.7  # the pixel size a user types for a plain image


@dataclass(frozen=True)
class Case:
    """One input of the non-nodule set: how to build it and where a user would click."""

    name: str
    category: str
    build: Callable[[], tuple[bytes, str, float | None]]  # (bytes, file name, pixel size to type or None)
    seeds: tuple[Seed, ...] | None = None  # None: bright spots of the image as read


def _png(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def _skimage_file(name: str) -> bytes:
    import skimage

    return (Path(skimage.__file__).parent / "data" / name).read_bytes()


def _grey(name: str) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(_skimage_file(name))) as image:
        return _png(np.asarray(image.convert("L")))


def _pydicom_file(relative: str) -> bytes:
    import pydicom

    return (Path(pydicom.__file__).parent / "data" / "test_files" / relative).read_bytes()


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _series_folder(relative: str) -> bytes:
    import pydicom

    folder = Path(pydicom.__file__).parent / "data" / "test_files" / relative
    return _zip({p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()})


def _ct_dicom(hu: np.ndarray, spacing: float, *, body_part: str | None = None, slice_mm: float = 1.25) -> bytes:
    """A zipped CT series (one file per slice) holding ``hu``: the input as a PACS export would give it."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    series = generate_uid()
    files = {}
    for k, plane in enumerate(hu if hu.ndim == 3 else hu[None]):
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
        ds.SeriesInstanceUID = series
        ds.Modality = "CT"
        if body_part:
            ds.BodyPartExamined = body_part
        ds.Rows, ds.Columns = plane.shape
        ds.PixelSpacing = [spacing, spacing]
        ds.SliceThickness = slice_mm
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [0, 0, k * slice_mm]
        ds.InstanceNumber = k + 1
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.RescaleIntercept, ds.RescaleSlope = 0, 1
        ds.PixelData = np.clip(np.rint(plane), -2048, 4095).astype("<i2").tobytes()
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=True)
        files[f"{k + 1:03d}.dcm"] = out.getvalue()
    return _zip(files)


def _mr_as_ct(intercept: float) -> bytes:
    """pydicom's MR_small.dcm re-labelled as CT with the given rescale intercept (an MR exported as CT)."""
    import pydicom

    ds = pydicom.dcmread(io.BytesIO(_pydicom_file("MR_small.dcm")))
    raw = ds.pixel_array.astype(np.float64)
    scaled = raw / raw.max() * 1400.0 + intercept  # MR signal spread over a CT-like range
    return _ct_dicom(scaled[None], float(ds.PixelSpacing[0]) * 2, slice_mm=2.0)


def _head_phantom(body_part: str | None) -> bytes:
    """scikit-image's Shepp-Logan head phantom as a CT slice: air outside, skull +1000 HU, brain about +30 HU."""
    from PIL import Image

    with Image.open(io.BytesIO(_skimage_file("phantom.png"))) as image:
        grey = np.asarray(image.convert("L"), dtype=np.float64)
    hu = np.where(grey > 0, -10.0 + grey / 255.0 * 1000.0, -1000.0)
    return _ct_dicom(hu[None], 0.6, body_part=body_part, slice_mm=5.0)


def _noise(kind: str, seed: int) -> Callable[[], tuple[bytes, str, float | None]]:
    def build() -> tuple[bytes, str, float | None]:
        rng = np.random.default_rng(seed)
        if kind == "uniform image":
            return _png(rng.integers(0, 256, (128, 128))), f"noise_{seed}.png", PIXEL_MM
        if kind == "gaussian CT":
            hu = rng.normal(-400.0, 500.0, (5, 96, 96))
            return _ct_dicom(hu, 0.7), f"noise_ct_{seed}.zip", None
        smooth = _smooth(rng.normal(0.0, 1.0, (5, 96, 96)), 2.0)
        hu = -850.0 + smooth / smooth.std() * 450.0  # blotchy CT-like noise with air
        return _ct_dicom(hu, 0.7), f"blotchy_ct_{seed}.zip", None

    return build


def _smooth(array: np.ndarray, sigma: float) -> np.ndarray:
    from scipy import ndimage

    return np.asarray(ndimage.gaussian_filter(array, sigma=(0, sigma, sigma)))


def _vessel(kind: str, radius_mm: float, seed: int) -> Callable[[], tuple[bytes, str, float | None]]:
    """Aerated lung with one vessel (+40 HU tube) through the centre: in-plane, oblique or branching."""

    def build() -> tuple[bytes, str, float | None]:
        rng = np.random.default_rng(seed)
        size, slices, pixel, slice_mm = 96, 31, 0.7, 1.25
        z, y, x = np.meshgrid(
            (np.arange(slices) - slices // 2) * slice_mm,
            (np.arange(size) - size // 2) * pixel,
            (np.arange(size) - size // 2) * pixel,
            indexing="ij",
        )
        hu = rng.normal(-850.0, 30.0, (slices, size, size))
        if kind == "in-plane":
            inside = y**2 + z**2 <= radius_mm**2
        elif kind == "oblique":
            d = np.array([0.5, 0.3, 0.81])
            d /= np.linalg.norm(d)
            p = np.stack([z, y, x], -1)
            along = p @ d
            inside = ((p - along[..., None] * d) ** 2).sum(-1) <= radius_mm**2
        else:  # branching: two tubes joined at the centre
            inside = (y**2 + z**2 <= radius_mm**2) & (x <= 0)
            inside |= ((y - x * 0.6) ** 2 + z**2 <= (0.8 * radius_mm) ** 2) & (x >= 0)
            inside |= ((y + x * 0.6) ** 2 + z**2 <= (0.8 * radius_mm) ** 2) & (x >= 0)
        hu = np.where(inside, 40.0 + rng.normal(0, 20.0, hu.shape), hu)
        return _ct_dicom(hu, pixel, slice_mm=slice_mm), f"vessel_{kind}_{radius_mm:g}mm.zip", None

    return build


def non_nodule_cases() -> list[Case]:
    """The non-nodule set (see the module docstring)."""
    cases: list[Case] = []
    for name in ("astronaut.png", "coffee.png", "chelsea.png", "color.png", "retina.jpg", "rocket.jpg", "ihc.png"):
        cases.append(Case(f"colour photo {name}", "photo", lambda n=name: (_skimage_file(n), n, PIXEL_MM)))
    for name in (
        "astronaut.png",
        "coffee.png",
        "chelsea.png",
        "camera.png",
        "moon.png",
        "coins.png",
        "text.png",
        "brick.png",
        "grass.png",
        "gravel.png",
        "page.png",
        "cell.png",
        "clock_motion.png",
        "microaneurysms.png",
        "motorcycle_left.png",
        "hubble_deep_field.jpg",
    ):
        cases.append(Case(f"grey photo {name}", "photo", lambda n=name: (_grey(n), n, PIXEL_MM)))
    cases.append(Case("MR_small.dcm (MR)", "MR", lambda: (_pydicom_file("MR_small.dcm"), "MR_small.dcm", None)))
    for folder in ("98892003/MR1", "98892003/MR2", "98892003/MR700"):
        cases.append(
            Case(
                f"dicomdirtests {folder} (MR)",
                "MR",
                lambda f=folder: (_series_folder(f"dicomdirtests/{f}"), "mr.zip", None),
                (Seed(8, 8, 0),),
            )
        )
    for intercept in (0.0, -1024.0, -600.0):
        cases.append(
            Case(
                f"MR_small as CT, intercept {intercept:g}",
                "MR",
                lambda i=intercept: (_mr_as_ct(i), "mr_as_ct.zip", None),
            )
        )
    cases.append(
        Case(
            "dicomdirtests CT2 (HEAD, 16 x 16)",
            "non-chest CT",
            lambda: (_series_folder("dicomdirtests/77654033/CT2"), "ct2.zip", None),
            (Seed(8, 8, 0),),
        )
    )
    for body_part in ("HEAD", "BRAIN", None):
        cases.append(
            Case(
                f"head phantom CT ({body_part or 'no body part'})",
                "non-chest CT",
                lambda b=body_part: (_head_phantom(b), "head.zip", None),
            )
        )
    for seed in range(4):
        cases.append(Case(f"uniform noise image {seed}", "noise", _noise("uniform image", seed)))
        cases.append(Case(f"gaussian noise CT {seed}", "noise", _noise("gaussian CT", seed)))
        cases.append(Case(f"blotchy noise CT {seed}", "noise", _noise("blotchy CT", seed)))
    for kind in ("in-plane", "oblique", "branching"):
        for radius in (1.0, 2.0, 3.0):
            centre = (Seed(48, 48, 15),)
            cases.append(
                Case(f"vessel {kind} r={radius:g} mm", "vessel", _vessel(kind, radius, int(radius * 10)), centre)
            )
    cases.append(
        Case(
            "CT_small.dcm lung vessel (real CT)",
            "vessel",
            lambda: (_pydicom_file("CT_small.dcm"), "CT_small.dcm", None),
            (Seed(24, 5, 0),),
        )
    )
    for folder in ("98892001/CT5N", "98892001/CT2N"):
        cases.append(
            Case(
                f"dicomdirtests {folder} (16 x 16 series)",
                "tiny field of view",
                lambda f=folder: (_series_folder(f"dicomdirtests/{f}"), "tiny.zip", None),
                (Seed(8, 8, 0),),
            )
        )
        folder_path = Path(__import__("pydicom").__file__).parent / "data" / "test_files" / "dicomdirtests" / folder
        for file in sorted(p for p in folder_path.iterdir() if p.is_file()):
            cases.append(
                Case(
                    f"dicomdirtests {folder}/{file.name} (one 16 x 16 slice)",
                    "tiny field of view",
                    lambda p=file: (p.read_bytes(), p.name, None),
                    (Seed(8, 8, 0),),
                )
            )
    return cases


def bright_seeds(study: CTStudy, count: int = 3) -> tuple[Seed, ...]:
    """Where a user would click: the ``count`` brightest smoothed spots above the nodule threshold, apart."""
    from scipy import ndimage

    middle = study.shape[0] // 2
    plane = ndimage.gaussian_filter(study.hu[middle].astype(np.float64), 3.0)
    seeds = []
    work = plane.copy()
    h, w = plane.shape
    margin = max(2, min(h, w) // 10)
    work[:margin], work[-margin:], work[:, :margin], work[:, -margin:] = -np.inf, -np.inf, -np.inf, -np.inf
    for _ in range(count):
        r, c = np.unravel_index(int(np.argmax(work)), work.shape)
        if not np.isfinite(work[r, c]):
            break
        seeds.append(Seed(int(r), int(c), middle))
        rr, cc = np.ogrid[:h, :w]
        work[(rr - r) ** 2 + (cc - c) ** 2 <= (min(h, w) // 6) ** 2] = -np.inf
    return tuple(seeds) or (Seed(h // 2, w // 2, middle),)


def evaluate_cases(model: object, cases: list[Case]) -> Iterator[dict[str, object]]:
    """Each (case, seed): read and analyse it as an upload; caught = refused (InputError) or flagged."""
    for case in cases:
        data, name, pixel_mm = case.build()
        try:
            study = read_ct(data, name=name, pixel_mm=pixel_mm)
        except InputError as exc:
            yield {"case": case.name, "category": case.category, "caught": True, "how": f"refused: {exc}"}
            continue
        for seed in case.seeds or bright_seeds(study):
            try:
                result = analyse_nodule(model, None, study, seed if not study.is_masked_crop else None, explain="none")  # type: ignore[arg-type]
            except InputError as exc:
                yield {"case": case.name, "category": case.category, "caught": True, "how": f"refused: {exc}"}
                continue
            how = (
                "flagged: " + " | ".join(result.ood.reasons)
                if result.ood.flagged
                else f"scored {result.probability:.2f}"
            )
            yield {
                "case": case.name,
                "category": case.category,
                "caught": result.ood.flagged,
                "how": how,
                "score": result.ood.score,
            }


def _development_views(model: object, volumes: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, inputs) standardised stacker inputs, (N, R) radiomics and (N, E) embeddings of masked crops, as
    analyse_nodule computes them."""
    from medai_core.ct.ood import embeddings
    from medai_core.ct.radiomics import RADIOMICS_NAMES, crop_radiomics
    from medai_core.ct.scoring import Stacker, nodule_feature_vector, scored_slices, slice_batch

    stacker = Stacker.from_artifact(model.card.artifacts["stacker"])  # type: ignore[attr-defined]
    standardised, radiomics, embedded = [], [], []
    for volume in volumes:
        batch = slice_batch(volume, scored_slices(volume))
        out = model.predict(batch)  # type: ignore[attr-defined]
        logits = np.asarray(out[0] if isinstance(out, list) else out)[:, 1:]
        features = nodule_feature_vector(volume, radiomics=stacker.reads_radiomics)[None]
        standardised.append(stacker.standardised(logits.mean(axis=0, keepdims=True).mean(axis=1), features)[0])
        embedded.append(embeddings(model, batch).mean(axis=0))  # type: ignore[arg-type]
        values = crop_radiomics(volume)
        radiomics.append([values[name] for name in RADIOMICS_NAMES])
    return np.array(standardised), np.array(radiomics, dtype=np.float64), np.array(embedded)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "ct" / "lidc_nodules")
    parser.add_argument("--write", action="store_true", help="write the statistics and the card's ood fields")
    parser.add_argument("--report", type=Path, help="write every case's outcome as JSON here")
    parser.add_argument("--views-cache", type=Path, help="reuse (or save) the development nodules' views here")
    args = parser.parse_args()

    from medai_core.ct.data import held_out_split, load_nodules
    from medai_core.ct.ood import OOD_FILENAME, fit_ood_stats
    from medai_core.models import load_model, model_dir
    from medai_core.models.card import ModelCard, read_card, write_card

    model = load_model(MODEL_ID)
    data = load_nodules(args.data)
    dev_idx, test_idx = held_out_split(data.labels, data.exam_ids)
    held_out_ids = set(model.card.artifacts["held_out_exam_ids"])
    assert set(data.exam_ids[test_idx]) == held_out_ids, "the seeded split differs from the card's"
    if args.views_cache and args.views_cache.is_file():
        cached = np.load(args.views_cache)
        standardised, radiomics, embedded = cached["standardised"], cached["radiomics"], cached["embedded"]
    else:
        standardised, radiomics, embedded = _development_views(model, [data.volumes[i] for i in dev_idx])
        if args.views_cache:
            np.savez(args.views_cache, standardised=standardised, radiomics=radiomics, embedded=embedded)
    stacker_inputs = tuple(model.card.artifacts["stacker"]["inputs"])
    stats, oof = fit_ood_stats(standardised, radiomics, embedded, data.exam_ids[dev_idx], stacker_inputs)
    print(f"threshold {stats.threshold:.3f}; development out-of-fold flag rate {(oof > stats.threshold).mean():.3f}")

    folder = model_dir(MODEL_ID)
    text = json.dumps(stats.to_dict(), sort_keys=True, separators=(",", ":")) + "\n"
    sha = hashlib.sha256(text.encode()).hexdigest()
    card = read_card(folder)
    artifacts = {**card.artifacts, "ood": {"file": OOD_FILENAME, "sha256": sha, "threshold": round(stats.threshold, 3)}}
    trial_card = ModelCard.from_dict({**card.to_dict(), "artifacts": artifacts})
    (folder / OOD_FILENAME).write_text(text, encoding="utf-8") if args.write else None
    import dataclasses

    trial = dataclasses.replace(model, card=trial_card)
    if not args.write:  # score with the statistics in memory
        from medai_core.ct import ood as ood_module

        ood_module._STATS_CACHE[(str(folder / OOD_FILENAME), sha)] = stats

    held_rows = []
    for i in test_idx:
        study = study_from_u8(data.volumes[i], "image folder")
        try:
            result = analyse_nodule(trial, None, study, None, explain="none")
            held_rows.append(
                {
                    "nodule": f"{data.exam_ids[i]}/{data.nodule_ids[i]}",
                    "refused": False,
                    "flagged": result.ood.flagged,
                    "score": result.ood.score,
                }
            )
        except InputError as exc:
            held_rows.append(
                {
                    "nodule": f"{data.exam_ids[i]}/{data.nodule_ids[i]}",
                    "refused": True,
                    "flagged": False,
                    "why": str(exc),
                }
            )
    refused = sum(r["refused"] for r in held_rows)
    flagged = sum(bool(r["flagged"]) for r in held_rows)
    print(f"held-out: {len(held_rows)} nodules, refused {refused}, flagged {flagged}")

    rows = list(evaluate_cases(trial, non_nodule_cases()))
    caught = sum(bool(r["caught"]) for r in rows)
    by_category: dict[str, dict[str, int]] = {}
    for r in rows:
        entry = by_category.setdefault(str(r["category"]), {"n": 0, "caught": 0})
        entry["n"] += 1
        entry["caught"] += int(bool(r["caught"]))
    print(f"non-nodule set: {len(rows)} inputs, caught {caught} ({caught / len(rows):.1%}); {by_category}")
    for r in rows:
        if not r["caught"]:
            print("  missed:", r["case"], r["how"], r.get("score"))
    if args.report:
        args.report.write_text(json.dumps({"held_out": held_rows, "non_nodule": rows}, indent=1, default=str))

    metrics_ood = {
        "method": (
            f"distance to the {stats.neighbours}rd nearest development nodule after whitening (Ledoit-Wolf covariance; "
            "Euclidean = Mahalanobis) of the standardised stacker inputs, the crop's IBSI radiomics and the first "
            f"{stats.info['embedding_components']} principal components of the CNN embedding (ensemble_gap); "
            + str(stats.info["threshold_protocol"])
        ),
        "configuration_choice": (
            "8 components and 3 neighbours with radiomics were chosen among Mahalanobis and 3/5/10-neighbour "
            "variants with 4/8/16 components, with and without radiomics, after seeing their held-out flag counts "
            "and non-nodule catch: the held-out figure below is therefore not fully independent"
        ),
        "threshold": round(stats.threshold, 3),
        "development_out_of_fold_flag_rate": round(float((oof > stats.threshold).mean()), 4),
        "held_out": {
            "nodules": len(held_rows),
            "refused": refused,
            "flagged": flagged,
            "refused_or_flagged_rate": round((refused + flagged) / len(held_rows), 4),
            "input": "each held-out masked crop analysed as an upload (input checks, segmentation checks, score)",
        },
        "non_nodule_set": {
            "inputs": len(rows),
            "caught": caught,
            "catch_rate": round(caught / len(rows), 4),
            "by_category": by_category,
            "built_by": "python scripts/build_ct_ood_set.py --write (photos, MR, non-chest CT, noise, vessels, tiny "
            "fields of view, generated from scikit-image and pydicom bundled files; caught = refused or flagged)",
        },
    }
    if args.write:
        limitation = (
            "Inputs far from the training nodules are flagged (greyed probability, 'outside what this model was "
            "trained on') by an out-of-distribution score whose threshold flags about 2% of real nodules; a flag is "
            "a warning, not proof, and an unflagged case can still be unlike the training data."
        )
        limitations = [x for x in card.limitations if not x.startswith("Inputs far from the training nodules")]
        new = ModelCard.from_dict(
            {
                **card.to_dict(),
                "artifacts": artifacts,
                "metrics": {**card.metrics, "ood": metrics_ood},
                "limitations": [*limitations, limitation],
            }
        )
        write_card(new, folder)
        print(f"wrote {folder / OOD_FILENAME} and the card's ood fields")
    else:
        print(json.dumps(metrics_ood, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
