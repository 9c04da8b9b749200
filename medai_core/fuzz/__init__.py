"""``python -m medai_core fuzz ct|glucose|genes --cases N``: mutation fuzzing of the readers and their first step.

Seed files (the project's fixtures under ``tests/data/<domain>/``, the demo generators, and for CT pydicom's bundled
test files) are mutated (byte flips, splices, truncation, interesting numbers in text fields, structured DICOM tag
edits, PNG headers that claim huge sizes, re-encoded images with changed pixels, size or mode, very wide headers
and long lines, gzip wrapping) and each case runs through the isolated reader (:mod:`medai_core.isolation`)
followed by the domain's first analysis step (CT: segmentation and the training crop; CGM: the AGP report; genes:
TMB and evidence matching), all inside the worker.

Each case is one of:

=================  ===========================================================================================
result             the reader and the step returned, and every value checked is finite and in range
clean rejection    an ``InputError`` with its message (what the project promises for bad input)
defect             anything else: another exception, a worker crash, time or memory limit, or a returned value
                   that is non-finite or out of range (see each domain's ``check``)
=================  ===========================================================================================

The table gives cases, results, clean rejections, defects, the slowest case and the worker's peak memory. With
``--out DIR`` every defect's bytes are saved as ``DIR/<domain>-<case>.bin`` next to ``DIR/defects.json`` (kind,
message, seed, mutations), so each is a reproducer: ``python -m medai_core predict <domain> DIR/<file>``. Exit code
0 when there is no defect, 1 otherwise.

Beside the byte mutations, each domain also runs as many generated cases (:mod:`medai_core.fuzz_structured`:
valid-looking files built with a known meaning, e.g. the same CT stored two ways, or a header no CT holds); their
rows are ``<domain>-gen`` in the table and ``structured`` in the JSON. ``--no-generated`` leaves them out.

The package: :mod:`~medai_core.fuzz.target` (what a domain declares: :class:`FuzzTarget`, found through the domain
registry's ``fuzz`` entry), :mod:`~medai_core.fuzz.mutations` (the operators), :mod:`~medai_core.fuzz.runner` (the
driver), :mod:`~medai_core.fuzz.report` (records, JSON, table), and one module per domain
(``medai_core/fuzz/<domain>.py``: its seeds, mutation step, check and generated cases, as ``TARGET``).
"""

from __future__ import annotations

from medai_core.fuzz.mutations import MAX_CASE_BYTES, mutate
from medai_core.fuzz.report import FuzzCase, FuzzReport, StructuredCase, document, format_table
from medai_core.fuzz.runner import classify, run_fuzz, seed_corpus
from medai_core.fuzz.target import DOMAINS, FuzzTarget, fuzz_target

__all__ = [
    "DOMAINS",
    "FuzzCase",
    "FuzzReport",
    "FuzzTarget",
    "MAX_CASE_BYTES",
    "StructuredCase",
    "classify",
    "document",
    "format_table",
    "fuzz_target",
    "mutate",
    "run_fuzz",
    "seed_corpus",
]
