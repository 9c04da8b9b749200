"""Administration verbs of ``python -m medai_core``: ``deidentify`` and ``audit verify|export``.

``deidentify IN... --out DIR [--json]``: de-identified copies of DICOM files (:mod:`medai_core.deid`); a folder is
walked recursively. Every input is checked first, so an unreadable one (exit 2) leaves nothing half written. The
copies are named by their new SOP Instance UID, because original file names often carry a patient's name.

``audit verify [--json]``: exit 0 when the chain and its signed anchor are intact, 1 when tampering is found.
``audit export [--json|--csv]``: every row on stdout (JSON by default).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import warnings
from pathlib import Path
from typing import Any

from medai_core.errors import ImageInputError, InputError
from medai_core.serialization import emit_json

__all__ = ["register"]


def _expand(inputs: list[Path]) -> list[Path]:
    """Files named, and every file under folders named (sorted); missing paths are bad input."""
    files: list[Path] = []
    for path in inputs:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{path} does not exist. Give DICOM files or folders of DICOM files.")
    if not files:
        raise InputError("the inputs hold no files. Give DICOM files or folders of DICOM files.")
    return files


def _read(path: Path, *, headers_only: bool) -> Any:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, force=False, stop_before_pixels=headers_only)
            sum(1 for _ in ds.iterall())  # parse every nested sequence now, not lazily later
    except InvalidDicomError:
        raise ImageInputError(f"{path} is not a DICOM file (no DICM preamble); nothing was written.") from None
    except Exception as exc:  # pydicom raises many types on truncated or corrupt files
        raise ImageInputError(
            f"{path} is a truncated or corrupt DICOM file ({type(exc).__name__}); nothing was written."
        ) from None
    if "SOPClassUID" not in ds or "SOPInstanceUID" not in ds:
        raise ImageInputError(
            f"{path} is a truncated or incomplete DICOM file (its header has no SOP class or instance UID); "
            "nothing was written."
        )
    if not headers_only and not _pixel_data_complete(ds):
        raise ImageInputError(f"{path} is a truncated DICOM file (its pixel data is cut short); nothing was written.")
    return ds


def _pixel_data_complete(ds: Any) -> bool:
    """False where native (uncompressed) pixel data is shorter than Rows x Columns x frames x samples x bits."""
    meta = getattr(ds, "file_meta", None)
    syntax = getattr(meta, "TransferSyntaxUID", None) if meta is not None else None
    if "PixelData" not in ds or syntax is None or syntax.is_compressed:
        return True
    try:
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        expected = int(ds.Rows) * int(ds.Columns) * frames * int(ds.get("SamplesPerPixel", 1))
        expected = expected * int(ds.BitsAllocated) // 8
    except (AttributeError, TypeError, ValueError):
        return False
    return len(ds.PixelData) >= expected


def _deidentify(args: argparse.Namespace) -> int:
    from medai_core.deid import deidentify_dataset

    files = _expand([Path(p) for p in args.inputs])
    for path in files:  # all readable, or nothing written
        _read(path, headers_only=True)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    docs: list[dict[str, Any]] = []
    for index, path in enumerate(files):
        original = _read(path, headers_only=False)
        clean = deidentify_dataset(original)
        uid = str(clean.get("SOPInstanceUID", "")) or f"object-{index:05d}"
        target = out_dir / f"{uid}.dcm"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clean.save_as(target, enforce_file_format=bool(getattr(clean, "file_meta", None)))
        docs.append(
            {
                "input": str(path),
                "output": str(target),
                "elements_before": sum(1 for _ in original.iterall()),
                "elements_after": sum(1 for _ in clean.iterall()),
            }
        )
    if args.json:
        emit_json(docs)
    else:
        for doc in docs:
            print(f"{doc['input']} -> {doc['output']} ({doc['elements_before']} -> {doc['elements_after']} elements)")
        print(f"{len(docs)} file(s) de-identified into {out_dir}")
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    from medai_core.audit import get_audit_log

    log = get_audit_log()
    try:
        result = log.verify()
    except sqlite3.Error as exc:  # locked past the busy timeout, or not a database at all
        print(f"error: the audit log {log.path} cannot be read ({exc}); try again, or check the file", file=sys.stderr)
        return 1
    if args.json:
        emit_json({"database": str(log.path), "anchor": str(log.anchor_path), **result.as_dict()})
    elif result.ok:
        print(f"audit log intact: {result.rows} row(s), head {result.head_hash[:16]}, anchored ({log.path})")
    else:
        where = f" at row {result.first_bad_id}" if result.first_bad_id is not None else ""
        print(f"TAMPERING FOUND{where}: {result.reason} ({result.rows} row(s) in {log.path})")
    return 0 if result.ok else 1


def _audit_export(args: argparse.Namespace) -> int:
    from medai_core.audit import get_audit_log

    log = get_audit_log()
    try:
        text = log.export("csv" if args.csv else "json")
    except sqlite3.Error as exc:
        print(f"error: the audit log {log.path} cannot be read ({exc}); try again, or check the file", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    if not args.csv:
        sys.stdout.write("\n")
    return 0


def register(root: Any) -> None:
    """Add ``deidentify`` and ``audit`` to the top-level sub-parsers ``root``."""
    deid = root.add_parser("deidentify", help="write de-identified copies of DICOM files (PS3.15 basic profile)")
    deid.add_argument("inputs", nargs="+", metavar="IN", help="DICOM files, or folders searched recursively")
    deid.add_argument("--out", required=True, metavar="DIR", help="folder for the de-identified copies")
    deid.add_argument("--json", action="store_true", help="print one JSON document")
    deid.set_defaults(handler=_deidentify)

    audit = root.add_parser("audit", help="verify or export the audit log")
    actions = audit.add_subparsers(dest="action", required=True)
    verify = actions.add_parser("verify", help="check the hash chain and its signed anchor (exit 1 on tampering)")
    verify.add_argument("--json", action="store_true", help="print one JSON document")
    verify.set_defaults(handler=_audit_verify)
    export = actions.add_parser("export", help="print every row (JSON by default)")
    form = export.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="a JSON list (the default)")
    form.add_argument("--csv", action="store_true", help="CSV with a header row")
    export.set_defaults(handler=_audit_export)
