"""Score a whole archive: ``python -m medai_core batch ct|glucose|genes --input PATH... --out FILE.parquet``.

Each input goes through the same steps as ``predict`` for its domain, through the one entry point both share
(``analyse`` of the domain's command module, named in :mod:`medai_core.domains`): the domain reader run in an
isolated worker (:func:`medai_core.isolation.read_isolated`), the domain analysis with the shipped model, and the
domain's JSON payload builder (:mod:`medai_core.results`). The output holds one row per input:

- ``input`` (the path as found), ``input_sha256`` (see :func:`input_sha256`), ``error`` (None, or the message
  ``predict`` would have printed for that input), ``model_id``, ``model_version``, ``weights_sha256``;
- the ``predict`` JSON fields: nested objects flattened with dots (``metrics.tir_70_180``,
  ``hypo_risk.lt70_30min``), lists (intervals, forecasts, variants) as JSON text.

Engines: ``local`` scores in this process through :func:`medai_core.inference.get_predictor` (so a set
``MEDAI_SERVE_ADDRESS`` sends the model calls to Ray Serve); ``ray`` runs Ray Data ``map_batches`` with a pool of
actors, each holding one verified copy of the model. Both call :class:`InputScorer`, so the rows are the same.

Resumable: an input whose path, input sha256 and model weights sha256 are already in ``--out`` is skipped; a
changed file or new weights are scored again and replace the old row. The file is rewritten atomically every
:data:`CHECKPOINT_ROWS` rows, so an interrupted run loses at most that many.
"""

from __future__ import annotations

import glob
import hashlib
import importlib
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from medai_core.domains import DOMAINS, get_domain
from medai_core.errors import InputError, MedaiError

if TYPE_CHECKING:
    from medai_core.models import LoadedModel

__all__ = [
    "CHECKPOINT_ROWS",
    "PROVENANCE_COLUMNS",
    "BatchOptions",
    "BatchSummary",
    "InputScorer",
    "check_options",
    "collect_inputs",
    "flatten_payload",
    "input_sha256",
    "run_batch",
]

PROVENANCE_COLUMNS = ("input", "input_sha256", "error", "model_id", "model_version", "weights_sha256")
"""Columns every row has, first, in this order."""
CHECKPOINT_ROWS = 50
"""Rows scored between two atomic rewrites of the output file."""
RAY_BATCH_ROWS = 4
"""Inputs per ``map_batches`` call (small: one input is already a whole analysis)."""


@dataclass(frozen=True)
class BatchOptions:
    """The domain options of ``predict``, applied to every input of the archive.

    Attributes:
        center: CT nodule centre ``"X,Y[,SLICE]"`` for whole slices/series (the same for every input).
        threshold_hu: CT region-growing threshold (None: the default).
        pixel_mm: CT in-plane pixel size for images that carry none.
        timezone: glucose: IANA time zone for timestamps with offsets.
        tumour_type: genes: the cancer type (required for ``genes``).
        panel: genes: sequencing panel or covered size in Mb.
        sample: genes: the tumour sample id where a file holds several.
        drug_class: genes: class the attributions refer to.
        age_group: genes: optional age group.
        sex: genes: optional sex.
    """

    center: str | None = None
    threshold_hu: float | None = None
    pixel_mm: float | None = None
    timezone: str | None = None
    tumour_type: str | None = None
    panel: str = "IMPACT468"
    sample: str | None = None
    drug_class: str = "PD-1/PD-L1"
    age_group: str | None = None
    sex: str | None = None


@dataclass(frozen=True)
class BatchSummary:
    """What one ``batch`` run did.

    Attributes:
        total: inputs found.
        skipped: inputs already in the output (same file, same weights).
        scored: inputs scored in this run.
        errors: scored inputs whose row has an ``error``.
        internal_errors: of those, errors that are not input errors (bugs; the command exits 1).
        seconds: wall time of the scoring.
        out: the output file.
    """

    total: int
    skipped: int
    scored: int
    errors: int
    internal_errors: int
    seconds: float
    out: Path


def collect_inputs(patterns: Sequence[str], domain: str) -> list[Path]:
    """The inputs named by ``--input``: each a file, a folder (its entries are the inputs) or a glob pattern.

    A folder given directly is an archive: every entry (file, or for CT a folder of slices) is one input; hidden
    entries are skipped. Glob matches are inputs as they are (``'lidc/images/*/*/*'`` gives nodule folders).
    Duplicates are dropped; the order is sorted.

    Raises:
        InputError: (the domain subclass) a path that does not exist, a pattern that matches nothing, or no input.
    """
    error = get_domain(domain).error
    found: set[Path] = set()
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            found.update(p for p in path.iterdir() if not p.name.startswith("."))
        elif path.exists():
            found.add(path)
        elif glob.has_magic(pattern):
            matches = [Path(p) for p in glob.glob(pattern)]
            if not matches:
                raise error(f"--input {pattern!r} matches no file or folder")
            found.update(matches)
        else:
            raise error(f"--input {pattern!r} does not exist; give files, folders or a quoted glob pattern")
    if not found:
        raise error("--input names no file: the folders given are empty")
    return sorted(found)


def input_sha256(path: Path) -> str:
    """Hex sha256 of an input: of the file's bytes, or for a folder of the sorted ``relative name NUL sha256`` lines.

    Raises:
        OSError: the input cannot be read.
    """
    from medai_core.models import file_sha256

    if not path.is_dir():
        return file_sha256(path)
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(f"{item.relative_to(path).as_posix()}\0{file_sha256(item)}\n".encode())
    return digest.hexdigest()


def flatten_payload(payload: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """One row from a ``predict`` JSON document: nested objects as dotted columns, lists as JSON text."""
    row: dict[str, Any] = {}
    for key, value in payload.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            row.update(flatten_payload(value, f"{name}."))
        elif isinstance(value, (list, tuple)):
            row[name] = json.dumps(value, allow_nan=False, default=float)
        else:
            row[name] = value
    return row


def check_options(domain: str, options: BatchOptions) -> None:
    """Options that would be wrong for every input fail once, before any scoring (exit 2).

    Raises:
        InputError: (the domain subclass) a malformed ``--center``, a missing or unknown tumour type, or an
            unknown panel.
    """
    importlib.import_module(get_domain(domain).commands).check_options(options)


class InputScorer:
    """Scores one input path into one output row, as ``predict`` would; holds the model (and evidence base).

    Args:
        domain: ``ct``, ``glucose`` or ``genes``.
        options: the domain options.
        model: the model to use (None: :func:`medai_core.inference.get_predictor` for the domain's model).
    """

    def __init__(self, domain: str, options: BatchOptions, model: LoadedModel | None = None) -> None:
        if domain not in {d.name for d in DOMAINS}:
            raise ValueError(f"unknown domain {domain!r}; use one of {', '.join(d.name for d in DOMAINS)}")
        self.domain = domain
        self.options = options
        self._commands = importlib.import_module(get_domain(domain).commands)
        if model is None:
            from medai_core.inference import get_predictor

            model = get_predictor().model(get_domain(domain).model_id)
        self.model = model
        check_options(domain, options)
        self._context: dict[str, Any] = self._commands.load_context()

    def provenance(self) -> dict[str, Any]:
        """The model columns of every row."""
        card = self.model.card
        return {"model_id": card.id, "model_version": card.version, "weights_sha256": card.weights_sha256}

    def __call__(self, path_text: str, sha256: str | None = None) -> dict[str, Any]:
        """The row of one input: provenance columns, then the flattened ``predict`` document or an ``error``."""
        path = Path(path_text)
        row: dict[str, Any] = {"input": path_text, "input_sha256": sha256, "error": None, **self.provenance()}
        try:
            if row["input_sha256"] is None:
                row["input_sha256"] = input_sha256(path)
            payload = self._score(path)
        except InputError as exc:
            row["error"] = str(exc)
            return row
        except MedaiError:  # the model or its server failed, not this input: stop the run (rows so far are kept)
            raise
        except OSError as exc:
            row["error"] = f"{path.name} could not be read: {exc.strerror or exc}"
            return row
        except Exception as exc:  # a bug: recorded so the archive continues, counted so the command exits 1
            row["error"] = f"internal error: {type(exc).__name__}: {exc}"
            return row
        payload.pop("input", None)
        flat = flatten_payload(payload)
        row.update({k: v for k, v in flat.items() if k not in row})
        return row

    def _score(self, path: Path) -> dict[str, Any]:
        """The ``predict`` document of one input (the domain's shared ``analyse`` entry point)."""
        return self._commands.analyse(str(path), self.options, self.model, **self._context)  # type: ignore[no-any-return]


class _RayScorer:
    """The Ray Data actor: one verified model per actor, one JSON row per input (schema-free across rows)."""

    def __init__(self, domain: str, options: dict[str, Any], models_dir: str | None) -> None:
        from medai_core.models import load_model

        model = load_model(get_domain(domain).model_id, Path(models_dir) if models_dir else None)
        self._scorer = InputScorer(domain, BatchOptions(**options), model=model)

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        rows = [
            json.dumps(self._scorer(str(p), str(s)), allow_nan=False, default=float)
            for p, s in zip(batch["input"], batch["input_sha256"], strict=True)
        ]
        return {"row": rows}


def _read_existing(out: Path) -> list[dict[str, Any]]:
    if not out.exists():
        return []
    import pandas as pd

    frame = pd.read_parquet(out)
    missing = [c for c in PROVENANCE_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"--out {out.name} exists but is not a batch output (no {', '.join(missing)} column)")
    return [{str(k): v for k, v in row.items() if not _is_missing(v)} for row in frame.to_dict(orient="records")]


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _write(out: Path, rows: Iterable[dict[str, Any]]) -> None:
    import pandas as pd

    frame = pd.DataFrame(list(rows))
    columns = list(PROVENANCE_COLUMNS) + sorted(c for c in frame.columns if c not in PROVENANCE_COLUMNS)
    frame = frame.reindex(columns=columns).sort_values("input", kind="stable").reset_index(drop=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, out)


class _Progress:
    """A progress line on stderr: redrawn in a terminal, every 10 % otherwise."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.done, self.errors = total, label, 0, 0
        self._start = time.monotonic()
        self._tty = sys.stderr.isatty()
        self._next_mark = 0.1

    def step(self, error: bool) -> None:
        self.done += 1
        self.errors += int(error)
        fraction = self.done / max(self.total, 1)
        if self._tty or fraction >= self._next_mark or self.done == self.total:
            rate = self.done / max(time.monotonic() - self._start, 1e-9)
            end = "\n" if self.done == self.total or not self._tty else ""
            print(
                f"\r{self.label}: {self.done}/{self.total} scored, {self.errors} error(s), {rate:.2f} inputs/s",
                end=end,
                file=sys.stderr,
                flush=True,
            )
            while self._next_mark <= fraction:
                self._next_mark += 0.1


def _score_local(todo: list[tuple[str, str]], domain: str, options: BatchOptions) -> Iterator[dict[str, Any]]:
    scorer = InputScorer(domain, options)
    for path, sha in todo:
        yield scorer(path, sha)


def _score_ray(
    todo: list[tuple[str, str]],
    domain: str,
    options: BatchOptions,
    *,
    workers: int,
    cpus_per_worker: float,
    models_dir: Path | None,
) -> Iterator[dict[str, Any]]:
    import ray.data

    from medai_core.config import get_settings

    items = [{"input": p, "input_sha256": s} for p, s in todo]
    dataset = ray.data.from_items(items, override_num_blocks=max(1, min(len(items), workers * 4)))
    scored = dataset.map_batches(
        _RayScorer,
        fn_constructor_kwargs={
            "domain": domain,
            "options": asdict(options),
            "models_dir": str(models_dir or get_settings().models_dir),
        },
        batch_size=RAY_BATCH_ROWS,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=cpus_per_worker,
    )
    for batch in scored.iter_batches(batch_size=RAY_BATCH_ROWS, batch_format="numpy"):
        for text in batch["row"]:
            yield json.loads(str(text))


def run_batch(
    domain: str,
    inputs: Sequence[str],
    out: Path,
    options: BatchOptions,
    *,
    engine: Literal["local", "ray"] = "local",
    workers: int = 2,
    cpus_per_worker: float = 1.0,
    models_dir: Path | None = None,
    progress: bool = True,
) -> BatchSummary:
    """Score every input not yet in ``out`` and write ``out`` (see the module docstring).

    With ``engine="ray"`` Ray must be initialised by the caller (:func:`medai_core.scale_commands.init_ray`).

    Raises:
        InputError: bad ``--input`` or options, or ``out`` is not a batch output.
    """
    from medai_core.models import read_card
    from medai_core.models.registry import model_dir

    out = Path(out)
    if out.suffix.lower() != ".parquet":
        raise get_domain(domain).error(f"--out must be a .parquet file, got {out.name!r}")
    check_options(domain, options)
    own = {out.resolve(), out.with_name(f".{out.name}.tmp").resolve()}
    paths = [p for p in collect_inputs(inputs, domain) if p.resolve() not in own]  # --out may sit in the archive
    card = read_card(model_dir(get_domain(domain).model_id, models_dir))
    existing = _read_existing(out)
    todo = _to_score(paths, existing, card.weights_sha256)
    rescored = {p for p, _ in todo}
    kept = [r for r in existing if r["input"] not in rescored]
    start = time.monotonic()
    new_rows: list[dict[str, Any]] = []
    meter = _Progress(len(todo), f"batch {domain} ({engine})") if progress and todo else None
    if todo:
        rows: Iterator[dict[str, Any]] = (
            _score_local(todo, domain, options)
            if engine == "local"
            else _score_ray(
                todo, domain, options, workers=workers, cpus_per_worker=cpus_per_worker, models_dir=models_dir
            )
        )
        _collect(rows, out, kept, new_rows, meter)
    elif not out.exists():
        _write(out, kept)
    errors = [r for r in new_rows if r.get("error")]
    return BatchSummary(
        total=len(paths),
        skipped=len(paths) - len(todo),
        scored=len(new_rows),
        errors=len(errors),
        internal_errors=sum(1 for r in errors if str(r["error"]).startswith("internal error")),
        seconds=time.monotonic() - start,
        out=out,
    )


def _to_score(paths: Sequence[Path], existing: list[dict[str, Any]], weights_sha256: str) -> list[tuple[str, str]]:
    """(path, sha256) of each input not yet in the output with the same bytes and the same model weights."""
    done = {(r["input"], r.get("input_sha256"), r.get("weights_sha256")) for r in existing}
    todo: list[tuple[str, str]] = []
    for path in paths:
        try:
            sha = input_sha256(path)
        except OSError:
            sha = ""  # the scorer records why it cannot be read
        if (str(path), sha, weights_sha256) not in done:
            todo.append((str(path), sha))
    return todo


def _collect(
    rows: Iterator[dict[str, Any]],
    out: Path,
    kept: list[dict[str, Any]],
    new_rows: list[dict[str, Any]],
    meter: _Progress | None,
) -> None:
    """Append each scored row to ``new_rows`` and write ``out`` (``kept`` and the new rows) every
    :data:`CHECKPOINT_ROWS` rows and at the end."""
    try:
        for row in rows:
            new_rows.append(row)
            if meter:
                meter.step(row.get("error") is not None)
            if len(new_rows) % CHECKPOINT_ROWS == 0:
                _write(out, kept + new_rows)
    finally:  # also when the model fails mid-run: what was scored is kept, the next run resumes after it
        if new_rows:
            _write(out, kept + new_rows)
